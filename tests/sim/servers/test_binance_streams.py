"""The Binance emulator's WebSocket side through the unmodified ccxt.pro client: order books kept
from the diff stream, trades, the user-data stream (orders, fills, balances) and orders placed over
the WebSocket API; and the raw stream protocol (acks, combined streams) through aiohttp."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import ccxt.async_support as ccxt
import ccxt.pro as ccxtpro
import pytest

from sim.servers.binance import Emulator
from tests.sim.servers.helpers import ccxt_client, eventually

SYMBOL = "BTC/USDT"


def book_copy(ob: Any, depth: int = 100) -> tuple[int, list[list[float]], list[list[float]]]:
    return ob["nonce"], [list(x) for x in ob["bids"][:depth]], [list(x) for x in ob["asks"][:depth]]


async def keep_watching_book(client: ccxtpro.binance, times: int = 30) -> None:
    """Watch ``times`` book updates (a fault is expected to end this with an exception first)."""
    for _ in range(times):
        await client.watch_order_book(SYMBOL)


async def subscribed(task: asyncio.Future[Any]) -> asyncio.Future[Any]:
    """Give a watcher time to connect and subscribe (loopback: a few ms)."""
    await asyncio.sleep(0.3)
    return task


async def test_watched_book_matches_the_rest_book_and_moves(client: ccxtpro.binance) -> None:
    """The book ccxt keeps from the diffs equals GET depth at the same update id, is never crossed,
    and changes over time."""
    seen: set[tuple[float, float, float, float]] = set()
    nonces: list[int] = []
    matched = False
    for _ in range(40):
        nonce, bids, asks = book_copy(await client.watch_order_book(SYMBOL))
        assert bids[0][0] < asks[0][0]
        nonces.append(nonce)
        seen.add((bids[0][0], bids[0][1], asks[0][0], asks[0][1]))
        if not matched:
            snapshot = await client.fetch_order_book(SYMBOL, 100)
            if snapshot["nonce"] == nonce:
                assert (snapshot["bids"], snapshot["asks"]) == (bids, asks)
                matched = True
        if matched and len(seen) > 2:
            break
    assert matched and len(seen) > 2
    assert nonces == sorted(nonces) and nonces[-1] > nonces[0]


async def test_one_second_depth_stream_keeps_the_same_book(emulator: Emulator) -> None:
    """``@depth@1000ms`` merges a second of diffs; the book ccxt keeps from it still matches GET depth."""
    slow = ccxt_client(emulator, options={"watchOrderBookRate": "1000"})
    try:
        await slow.load_markets()
        first, _, _ = book_copy(await slow.watch_order_book(SYMBOL))
        nonce, bids, asks = book_copy(await slow.watch_order_book(SYMBOL))
        assert nonce > first and bids[0][0] < asks[0][0]
    finally:
        await slow.close()


async def test_depth_gap_raises_and_watching_again_recovers(
    emulator: Emulator, client: ccxtpro.binance
) -> None:
    """Skipped update ids make ccxt raise (ChecksumError, an InvalidNonce); the next watch
    resubscribes, refetches the snapshot and keeps a good book again."""
    await client.watch_order_book(SYMBOL)
    emulator.faults.trigger("depth_gap")
    with pytest.raises(ccxt.InvalidNonce):
        await keep_watching_book(client)
    nonce, bids, asks = book_copy(await client.watch_order_book(SYMBOL))
    later, _, _ = book_copy(await client.watch_order_book(SYMBOL))
    assert bids[0][0] < asks[0][0] and later > nonce
    assert emulator.state()["faults_injected"]["depth_gap"] == 1


async def test_price_spike_crosses_the_book_once(emulator: Emulator, client: ccxtpro.binance) -> None:
    """An injected spike puts a bid 50% above the ask into the book; the next update removes it."""
    _, _, asks = book_copy(await client.watch_order_book(SYMBOL))
    emulator.faults.trigger("price_spike")
    for _ in range(30):
        _, bids, asks = book_copy(await client.watch_order_book(SYMBOL))
        if bids[0][0] >= asks[0][0]:
            break
    assert bids[0][0] == pytest.approx(1.5 * asks[0][0], rel=1e-3)
    _, bids, asks = book_copy(await client.watch_order_book(SYMBOL))
    assert bids[0][0] < asks[0][0]


async def test_ws_drop_fails_the_watchers_and_watching_again_works(
    emulator: Emulator, client: ccxtpro.binance
) -> None:
    """A dropped socket rejects the pending watchers with NetworkError; new watches reconnect."""
    await client.watch_order_book(SYMBOL)
    orders = await subscribed(asyncio.ensure_future(client.watch_orders(SYMBOL)))
    emulator.faults.trigger("ws_drop")
    with pytest.raises(ccxt.NetworkError):
        await keep_watching_book(client)
    with pytest.raises(ccxt.NetworkError):
        await orders
    _, bids, asks = book_copy(await client.watch_order_book(SYMBOL))
    assert bids[0][0] < asks[0][0]
    orders = await subscribed(asyncio.ensure_future(client.watch_orders(SYMBOL)))
    await client.create_order(
        SYMBOL, "limit", "buy", 0.001, round(bids[0][0] - 20, 2), {"clientOrderId": "back"}
    )
    assert [o["clientOrderId"] for o in await orders] == ["back"]


async def test_watch_trades_sees_our_fills_on_the_public_stream(client: ccxtpro.binance) -> None:
    """Our market order's fills appear on ``@trade`` with the same ids, prices and sizes."""
    watching = await subscribed(asyncio.ensure_future(client.watch_trades(SYMBOL)))
    order = await client.create_order(SYMBOL, "market", "buy", 0.001)
    fills = {str(f["tradeId"]): (float(f["price"]), float(f["qty"])) for f in order["info"]["fills"]}
    seen: dict[str, tuple[float, float, str]] = {}
    async with asyncio.timeout(5):
        trades = await watching
        while True:
            seen.update({t["id"]: (t["price"], t["amount"], t["side"]) for t in trades})
            if set(fills) <= set(seen):
                break
            trades = await client.watch_trades(SYMBOL)
    assert {tid: seen[tid] for tid in fills} == {tid: (p, q, "buy") for tid, (p, q) in fills.items()}


async def test_user_data_stream_reports_orders_fills_and_balances(client: ccxtpro.binance) -> None:
    """watch_orders gets NEW for a resting order; a market order's fills reach watch_my_trades with
    the REST response's ids, prices, sizes and fees, the streamed order ends closed, the streamed
    balance equals fetch_balance, and fetch_my_trades lists the same trades."""
    orders = await subscribed(asyncio.ensure_future(client.watch_orders(SYMBOL)))
    book = await client.fetch_order_book(SYMBOL)
    price = round(book["bids"][0][0] - 20, 2)
    resting = await client.create_order(SYMBOL, "limit", "buy", 0.001, price, {"clientOrderId": "u-rest"})
    (new,) = await orders
    assert (new["id"], new["clientOrderId"], new["status"], new["price"]) == (
        resting["id"],
        "u-rest",
        "open",
        price,
    )

    trades_task = asyncio.ensure_future(client.watch_my_trades(SYMBOL))
    balance_task = asyncio.ensure_future(client.watch_balance())
    await asyncio.sleep(0.05)
    market = await client.create_order(SYMBOL, "market", "buy", 0.001, None, {"clientOrderId": "u-mkt"})
    fills = {
        str(f["tradeId"]): (float(f["price"]), float(f["qty"]), float(f["commission"]))
        for f in market["info"]["fills"]
    }
    streamed: dict[str, Any] = {}
    async with asyncio.timeout(5):
        batch = await trades_task
        while True:
            streamed.update({t["id"]: t for t in batch})
            if set(fills) <= set(streamed):
                break
            batch = await client.watch_my_trades(SYMBOL)
    for tid, (p, q, fee) in fills.items():
        t = streamed[tid]
        assert (t["order"], t["price"], t["amount"], t["side"], t["takerOrMaker"]) == (
            market["id"],
            p,
            q,
            "buy",
            "taker",
        )
        assert t["fee"] == {"cost": pytest.approx(fee), "currency": "BTC"}  # a buy pays in base
    cached = next(o for o in client.orders if o["clientOrderId"] == "u-mkt")  # ccxt's order cache
    assert cached["status"] == "closed" and cached["filled"] == 0.001

    await balance_task  # an outboundAccountPosition arrived
    fetched = await client.fetch_balance()

    async def streamed_balance() -> Any:
        return client.balance["spot"]  # ccxt's balance as the stream left it

    await eventually(
        streamed_balance,
        lambda b: all(
            b[a]["free"] == pytest.approx(fetched[a]["free"])
            and b[a]["used"] == pytest.approx(fetched[a]["used"])
            for a in ("BTC", "USDT")
        ),
        timeout_s=2.0,
    )
    rest_trades = await client.fetch_my_trades(SYMBOL)
    assert {t["id"]: (t["price"], t["amount"], t["fee"]["cost"]) for t in rest_trades} == {
        tid: (p, q, pytest.approx(fee)) for tid, (p, q, fee) in fills.items()
    }


async def test_orders_over_the_websocket_api(client: ccxtpro.binance) -> None:
    """create_order_ws / fetch_order_ws / cancel_order_ws work, and a crossing post-only order is
    OrderImmediatelyFillable there too."""
    book = await client.fetch_order_book(SYMBOL)
    price = round(book["bids"][0][0] - 20, 2)
    order = await client.create_order_ws(SYMBOL, "limit", "buy", 0.001, price, {"clientOrderId": "ws-1"})
    assert order["status"] == "open" and order["clientOrderId"] == "ws-1"
    assert (await client.fetch_order_ws(order["id"], SYMBOL))["status"] == "open"
    ask = book["asks"][0][0]
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        await client.create_order_ws(SYMBOL, "limit", "buy", 0.001, ask + 10, {"postOnly": True})
    cancelled = await client.cancel_order_ws(order["id"], SYMBOL)
    assert cancelled["status"] == "canceled" and cancelled["info"]["origClientOrderId"] == "ws-1"
    assert await client.fetch_open_orders(SYMBOL) == []


async def test_user_data_needs_a_good_signature(emulator: Emulator) -> None:
    """A subscription signed with the wrong secret is refused with -1022, which ccxt turns into an
    AuthenticationError; ccxt 4.5.90 then trips over its own cleanup and raises KeyError('spot')
    with the AuthenticationError as its context."""
    wrong = ccxt_client(emulator, secret="not-the-secret")
    try:
        await wrong.load_markets()
        with pytest.raises((ccxt.AuthenticationError, KeyError)) as raised:
            await wrong.watch_orders(SYMBOL)
        cause = (
            raised.value if isinstance(raised.value, ccxt.AuthenticationError) else raised.value.__context__
        )
        assert isinstance(cause, ccxt.AuthenticationError) and "Signature" in str(cause)
    finally:
        await wrong.close()


async def test_raw_stream_protocol(emulator: Emulator) -> None:
    """The SUBSCRIBE ack comes before any data; /stream wraps events with their stream name; unknown
    streams and methods are errors; LIST_SUBSCRIPTIONS lists what is subscribed."""
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(emulator.ws_url + "/ws/0") as ws:
            await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@depth@100ms"], "id": 7})
            assert json.loads((await ws.receive()).data) == {"result": None, "id": 7}
            update = json.loads((await ws.receive(timeout=2)).data)
            assert update["e"] == "depthUpdate" and update["s"] == "BTCUSDT" and update["u"] >= update["U"]
            await ws.send_json({"method": "SUBSCRIBE", "params": ["ethusdt@trade"], "id": 8})
            await ws.send_json({"method": "FROB", "id": 9})
            await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 10})
            replies: dict[int, Any] = {}
            while len(replies) < 3:
                msg = json.loads((await ws.receive(timeout=2)).data)
                if "id" in msg:
                    replies[msg["id"]] = msg
            assert replies[8]["error"]["code"] == 2 and replies[9]["error"]["code"] == 2
            assert replies[10]["result"] == ["btcusdt@depth@100ms"]
        url = emulator.ws_url + "/stream?streams=btcusdt@depth@100ms/btcusdt@trade"
        async with session.ws_connect(url) as ws:
            wrapped = json.loads((await ws.receive(timeout=2)).data)
            assert (
                wrapped["stream"] in ("btcusdt@depth@100ms", "btcusdt@trade")
                and wrapped["data"]["s"] == "BTCUSDT"
            )
