"""Injected faults reach the unmodified ccxt client as the exceptions real Binance faults raise, and
leave the venue in the state the fault describes (an order taken or not); the fault plan itself:
spec parsing, triggers, seeded draws and counts."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import ccxt.async_support as ccxt
import ccxt.pro as ccxtpro
import pytest

from sim.servers.binance import Emulator, FaultError, Faults
from sim.servers.binance.auth import sign
from sim.servers.binance.faults import parse_faults

SYMBOL = "BTC/USDT"


async def below_book(client: ccxtpro.binance) -> float:
    book = await client.fetch_order_book(SYMBOL)
    return round(float(book["bids"][0][0]) - 20, 2)


async def test_http_429_is_ddos_protection_with_retry_after(
    emulator: Emulator, client: ccxtpro.binance
) -> None:
    """A 429 is DDoSProtection and says Retry-After; the next request goes through."""
    emulator.faults.trigger("http_429")
    with pytest.raises(ccxt.DDoSProtection):
        await client.fetch_balance()
    assert client.last_response_headers["Retry-After"] == "1"
    await client.fetch_balance()


async def test_http_418_bans_until_retry_after_expires(emulator: Emulator, client: ccxtpro.binance) -> None:
    """A 418 is DDoSProtection; every request gets 418 until the ban ends, then they work again."""
    emulator.faults.trigger("http_418")
    with pytest.raises(ccxt.DDoSProtection):
        await client.fetch_balance()
    assert client.last_response_headers["Retry-After"] == "1"
    with pytest.raises(ccxt.DDoSProtection):
        await client.fetch_order_book(SYMBOL)
    await asyncio.sleep(1.05)
    await client.fetch_balance()
    assert emulator.state()["faults_injected"]["http_418"] == 1


async def test_http_503_executes_nothing(emulator: Emulator, client: ccxtpro.binance) -> None:
    """A 503 is ExchangeNotAvailable and the order it answered was never placed."""
    price = await below_book(client)
    emulator.faults.trigger("http_503")
    with pytest.raises(ccxt.ExchangeNotAvailable):
        await client.create_order(SYMBOL, "limit", "buy", 0.001, price, {"clientOrderId": "lost"})
    assert await client.fetch_open_orders(SYMBOL) == []
    with pytest.raises(ccxt.OrderNotFound):
        await client.fetch_order(None, SYMBOL, {"clientOrderId": "lost"})


async def test_timeout_after_commit_takes_the_order(emulator: Emulator, client: ccxtpro.binance) -> None:
    """A held answer is RequestTimeout for the client, yet the order and the cancel took effect:
    looking them up by client id shows it; the server keeps answering meanwhile."""
    price = await below_book(client)
    emulator.faults.trigger("timeout_after_commit")
    client.timeout = 300
    started = time.monotonic()
    with pytest.raises(ccxt.RequestTimeout):
        await client.create_order(SYMBOL, "limit", "buy", 0.001, price, {"clientOrderId": "held"})
    assert time.monotonic() - started < 1.0
    client.timeout = 10_000
    found = await client.fetch_order(None, SYMBOL, {"clientOrderId": "held"})
    assert found["status"] == "open"

    emulator.faults.trigger("timeout_after_commit")
    client.timeout = 300
    with pytest.raises(ccxt.RequestTimeout):
        await client.cancel_order(None, SYMBOL, {"clientOrderId": "held"})
    client.timeout = 10_000
    assert (await client.fetch_order(None, SYMBOL, {"clientOrderId": "held"}))["status"] == "canceled"
    assert emulator.state()["faults_injected"]["timeout_after_commit"] == 2


async def test_clock_skew_is_invalid_nonce(emulator: Emulator, client: ccxtpro.binance) -> None:
    """clock_skew answers a well-signed request -1021, which ccxt raises as InvalidNonce."""
    emulator.faults.trigger("clock_skew")
    with pytest.raises(ccxt.InvalidNonce):
        await client.fetch_open_orders(SYMBOL)
    assert await client.fetch_open_orders(SYMBOL) == []


async def test_reject_is_insufficient_funds_on_rest_and_ws_api(
    emulator: Emulator, client: ccxtpro.binance
) -> None:
    """reject refuses a good order with -2010 insufficient balance, over REST and the WebSocket API;
    no order is placed."""
    price = await below_book(client)
    emulator.faults.trigger("reject", count=2)
    with pytest.raises(ccxt.InsufficientFunds):
        await client.create_order(SYMBOL, "limit", "buy", 0.001, price, {"clientOrderId": "r1"})
    with pytest.raises(ccxt.InsufficientFunds):
        await client.create_order_ws(SYMBOL, "limit", "buy", 0.001, price, {"clientOrderId": "r2"})
    assert await client.fetch_open_orders(SYMBOL) == []
    assert emulator.state()["faults_injected"]["reject"] == 2


async def test_a_rate_of_one_hits_every_request_until_set_back(
    emulator: Emulator, client: ccxtpro.binance
) -> None:
    """set_rate changes a fault's probability at run time; each hit is counted."""
    emulator.faults.set_rate("http_503", 1.0)
    for _ in range(3):
        with pytest.raises(ccxt.ExchangeNotAvailable):
            await client.fetch_balance()
    emulator.faults.set_rate("http_503", 0.0)
    await client.fetch_balance()
    assert emulator.state()["faults_injected"]["http_503"] == 3


async def test_ws_api_answer_held_after_commit(emulator: Emulator) -> None:
    """Over the WebSocket API, timeout_after_commit holds the order.place answer while the order is
    already working, and other requests on the socket are answered meanwhile."""
    emulator.faults.trigger("timeout_after_commit")
    key, secret = emulator.api_key, emulator.api_secret
    book = emulator.venue.market("BTCUSDT").depth(1)
    price = f"{float(book['bids'][0][0]) - 20:.2f}"
    params: dict[str, object] = {
        "apiKey": key,
        "newClientOrderId": "ws-held",
        "price": price,
        "quantity": "0.001",
        "side": "BUY",
        "symbol": "BTCUSDT",
        "timeInForce": "GTC",
        "timestamp": int(time.time() * 1000),
        "type": "LIMIT",
    }
    params["signature"] = sign(secret, "&".join(f"{k}={params[k]}" for k in sorted(params)))
    async with aiohttp.ClientSession() as session, session.ws_connect(emulator.ws_url + "/ws-api/v3") as ws:
        await ws.send_json({"id": "1", "method": "order.place", "params": params})
        await ws.send_json({"id": "2", "method": "ping"})
        first = json.loads((await ws.receive(timeout=1)).data)
        assert first["id"] == "2" and first["status"] == 200
        assert [o.client_order_id for o in emulator.venue.open_orders("main")] == ["ws-held"]
        with pytest.raises(TimeoutError):
            await ws.receive(timeout=0.3)


def test_fault_spec_is_parsed_and_bad_ones_name_the_problem() -> None:
    """name=rate pairs; unknown names, non-numbers, negative rates, probabilities above 1 and
    repeated names are refused with a message that names them."""
    assert parse_faults("http_429=0.01, ws_drop=2") == {"http_429": 0.01, "ws_drop": 2.0}
    assert parse_faults("") == {}
    for spec, words in [
        ("http_999=0.1", "unknown fault 'http_999'"),
        ("http_429=lots", "not a number"),
        ("reject=-1", "reject: rate must be"),
        ("reject=1.5", "probability"),
        ("ws_drop=inf", "ws_drop: rate must be"),
        ("reject", "expected name=rate"),
        ("reject=0.1,reject=0.2", "given twice"),
    ]:
        with pytest.raises(FaultError, match=words):
            parse_faults(spec)
    faults = Faults()
    with pytest.raises(FaultError, match="unknown fault"):
        faults.trigger("nope")
    with pytest.raises(FaultError, match="count"):
        faults.trigger("reject", count=0)


def test_draws_are_seeded_and_only_for_faults_with_a_rate() -> None:
    """The same seed and rates give the same hits; a zero-rate fault never hits and draws nothing;
    a trigger hits whatever the rate; stream faults hit at about their rate per second."""
    a, b = Faults({"http_429": 0.3}, seed=5), Faults({"http_429": 0.3}, seed=5)
    hits = [a.request_hit("http_429") for _ in range(200)]
    again = []
    for _ in range(200):
        assert not b.request_hit("reject")  # rate 0: no draw, so the sequences stay in step
        again.append(b.request_hit("http_429"))
    assert hits == again
    assert 30 < sum(hits) < 90 and a.injected["http_429"] == sum(hits)
    a.trigger("reject")
    assert a.request_hit("reject") and not a.request_hit("reject")
    stream = Faults({"ws_drop": 2.0}, seed=1)
    drops = sum(stream.stream_hit("ws_drop", t * 10_000_000) for t in range(1001))  # 10 s in 10 ms steps
    assert 10 <= drops <= 30


def test_a_trigger_kept_for_one_request_line_skips_other_requests() -> None:
    """A test's 429 meant for the order placement is not taken by a background depth fetch."""
    faults = Faults()
    faults.trigger("http_429", count=2, on="POST /api/v3/order")
    assert not faults.request_hit("http_429", "GET /api/v3/depth")
    assert faults.request_hit("http_429", "POST /api/v3/order")
    assert not faults.request_hit("http_429", "GET /api/v3/depth")
    assert faults.request_hit("http_429", "POST /api/v3/order")
    assert not faults.request_hit("http_429", "POST /api/v3/order")  # both used
    faults.trigger("http_429")  # no longer kept for a line: the next request of any kind
    assert faults.request_hit("http_429", "GET /api/v3/depth")
    faults.trigger("http_503", on="DELETE /api/v3/order")
    with pytest.raises(FaultError, match="already triggered"):
        faults.trigger("http_503", on="POST /api/v3/order")
