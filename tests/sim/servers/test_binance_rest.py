"""The Binance emulator's REST API through the unmodified ccxt client: markets, orders of every type,
lookups by client id, refusals mapped to ccxt's exceptions, trades, balances and the state file."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import ccxt.async_support as ccxt
import ccxt.pro as ccxtpro
import pytest

from sim.servers.binance import Emulator
from tests.sim.servers.helpers import DENSE_MARKET, OTHER, ccxt_client, emulator_options

SYMBOL = "BTC/USDT"


async def touch(client: ccxtpro.binance) -> tuple[float, float]:
    book = await client.fetch_order_book(SYMBOL)
    return book["bids"][0][0], book["asks"][0][0]


async def test_load_markets_lists_the_symbol_with_its_filters(client: ccxtpro.binance) -> None:
    """One spot market with the tick, lot and notional limits ccxt rounds and checks by."""
    market = client.market(SYMBOL)
    assert market["id"] == "BTCUSDT" and market["spot"] and market["active"]
    assert market["precision"]["price"] == 0.01 and market["precision"]["amount"] == 1e-05
    assert market["limits"]["amount"]["min"] == 1e-05 and market["limits"]["cost"]["min"] == 5.0
    assert set(market["info"]["orderTypes"]) == {"LIMIT", "LIMIT_MAKER", "MARKET"}
    assert (await client.fetch_time()) > 0


async def test_resting_limit_order_is_found_listed_and_cancelled_by_client_id(
    client: ccxtpro.binance,
) -> None:
    """A GTC bid below the book rests, is found and listed by its client id, locks quote, and a cancel
    by client id ends it; a second cancel is OrderNotFound."""
    bid, _ = await touch(client)
    price = round(bid - 20, 2)
    order = await client.create_order(SYMBOL, "limit", "buy", 0.001, price, {"clientOrderId": "bid-1"})
    assert order["status"] == "open" and order["clientOrderId"] == "bid-1"
    assert order["price"] == pytest.approx(price) and order["amount"] == 0.001 and order["filled"] == 0
    found = await client.fetch_order(None, SYMBOL, {"clientOrderId": "bid-1"})
    assert found["id"] == order["id"] and found["status"] == "open" and found["timeInForce"] == "GTC"
    assert [o["clientOrderId"] for o in await client.fetch_open_orders(SYMBOL)] == ["bid-1"]
    balance = await client.fetch_balance()
    assert balance["USDT"]["used"] == pytest.approx(price * 0.001 * 1.0004, abs=1e-6)

    cancelled = await client.cancel_order(None, SYMBOL, {"clientOrderId": "bid-1"})
    assert cancelled["status"] == "canceled" and cancelled["id"] == order["id"]
    assert cancelled["info"]["origClientOrderId"] == "bid-1"
    assert (await client.fetch_order(order["id"], SYMBOL))["status"] == "canceled"
    assert await client.fetch_open_orders(SYMBOL) == []
    assert (await client.fetch_balance())["USDT"]["used"] == 0
    with pytest.raises(ccxt.OrderNotFound):
        await client.cancel_order(order["id"], SYMBOL)


async def test_post_only_rests_and_a_crossing_one_is_refused(client: ccxtpro.binance) -> None:
    """A post-only ask above the book rests as LIMIT_MAKER; a post-only bid through the ask is
    OrderImmediatelyFillable and leaves no order behind."""
    _, ask = await touch(client)
    maker = await client.create_order(
        SYMBOL, "limit", "sell", 0.001, ask + 20, {"postOnly": True, "clientOrderId": "po"}
    )
    assert maker["status"] == "open" and maker["postOnly"] is True
    assert (await client.fetch_order(None, SYMBOL, {"clientOrderId": "po"}))["info"]["type"] == "LIMIT_MAKER"
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        await client.create_order(
            SYMBOL, "limit", "buy", 0.001, ask + 10, {"postOnly": True, "clientOrderId": "x"}
        )
    assert [o["clientOrderId"] for o in await client.fetch_open_orders(SYMBOL)] == ["po"]
    with pytest.raises(ccxt.OrderNotFound):
        await client.fetch_order(None, SYMBOL, {"clientOrderId": "x"})


async def test_market_order_fills_against_the_book_and_moves_the_balances(client: ccxtpro.binance) -> None:
    """A market buy fills whole at the asks (FULL response with fills), pays the taker fee in the base
    it buys (Binance spot without BNB), and the balances and myTrades agree with the fills."""
    before = await client.fetch_balance()
    order = await client.create_order(SYMBOL, "market", "buy", 0.001, None, {"clientOrderId": "mkt-1"})
    assert order["status"] == "closed" and order["filled"] == 0.001 and order["remaining"] == 0
    cost = sum(float(f["price"]) * float(f["qty"]) for f in order["info"]["fills"])
    assert order["cost"] == pytest.approx(cost)
    # Each fill's commission is its own, rounded to 8 decimals as Binance prints it; a buy that takes
    # several levels pays their sum (not 0.001 * 4e-4 rounded once).
    commissions = [float(f["commission"]) for f in order["info"]["fills"]]
    for fill, commission in zip(order["info"]["fills"], commissions, strict=True):
        assert commission == pytest.approx(round(float(fill["qty"]) * 4e-4, 8), abs=1e-12)
    assert order["fee"]["currency"] == "BTC" and order["fee"]["cost"] == pytest.approx(sum(commissions))
    after = await client.fetch_balance()
    assert after["BTC"]["total"] == pytest.approx(before["BTC"]["total"] + 0.001 - 0.001 * 4e-4)
    assert after["USDT"]["total"] == pytest.approx(before["USDT"]["total"] - cost, abs=1e-6)
    sell = await client.create_order(SYMBOL, "market", "sell", 0.001, None, {"clientOrderId": "mkt-2"})
    proceeds = sum(float(f["price"]) * float(f["qty"]) for f in sell["info"]["fills"])
    assert sell["fee"]["currency"] == "USDT" and sell["fee"]["cost"] == pytest.approx(
        proceeds * 4e-4, rel=1e-4
    )
    trades = await client.fetch_my_trades(SYMBOL)
    assert [t["id"] for t in trades] == [t["id"] for t in order["trades"] + sell["trades"]]
    buys = [t for t in trades if t["order"] == order["id"]]
    assert buys and all(t["side"] == "buy" and t["takerOrMaker"] == "taker" for t in buys)
    assert all(t["fee"]["currency"] == "BTC" for t in buys)


async def test_ioc_limit_fills_what_it_reaches_and_expires_the_rest(client: ccxtpro.binance) -> None:
    """An IOC bid a little through the ask takes the levels it reaches; the rest is EXPIRED."""
    _, ask = await touch(client)
    order = await client.create_order(SYMBOL, "limit", "buy", 0.05, ask + 2, {"timeInForce": "IOC"})
    assert order["status"] == "expired" and 0 < order["filled"] < 0.05
    assert all(float(f["price"]) <= ask + 2 for f in order["info"]["fills"])
    assert await client.fetch_open_orders(SYMBOL) == []


async def test_resting_order_fills_as_maker_when_another_account_takes_it(
    client: ccxtpro.binance, other: ccxtpro.binance
) -> None:
    """Our post-only ask a little above the touch (so the book cannot move through it before it
    arrives) is filled by another account's market buy that sweeps the asks: a maker fill with the
    rebate, reported to us and not to them."""
    _, ask = await touch(client)
    price = round(ask + 1, 2)
    mine = await client.create_order(
        SYMBOL, "limit", "sell", 0.0001, price, {"postOnly": True, "clientOrderId": "m"}
    )
    taker = await other.create_order(SYMBOL, "market", "buy", 0.05)
    filled = await client.fetch_order(mine["id"], SYMBOL)
    assert filled["status"] == "closed" and filled["filled"] == 0.0001
    (trade,) = await client.fetch_my_trades(SYMBOL)
    assert trade["takerOrMaker"] == "maker" and trade["side"] == "sell" and trade["price"] == price
    assert trade["fee"]["cost"] == pytest.approx(-price * 0.0001 * 0.5e-4, abs=1e-8)  # 8 places on the wire
    assert trade["id"] in {t["id"] for t in taker["trades"]}
    assert all(t["takerOrMaker"] == "taker" for t in await other.fetch_my_trades(SYMBOL))


async def test_duplicate_client_id_of_an_open_order_is_refused(client: ccxtpro.binance) -> None:
    """A second order with the client id of an open one is InvalidOrder; no second order exists."""
    bid, _ = await touch(client)
    await client.create_order(SYMBOL, "limit", "buy", 0.001, round(bid - 30, 2), {"clientOrderId": "dup"})
    with pytest.raises(ccxt.InvalidOrder) as refused:
        await client.create_order(SYMBOL, "limit", "buy", 0.001, round(bid - 31, 2), {"clientOrderId": "dup"})
    assert type(refused.value) is ccxt.InvalidOrder and "Duplicate order sent." in str(refused.value)
    assert len(await client.fetch_open_orders(SYMBOL)) == 1


async def test_unknown_orders_are_not_found(client: ccxtpro.binance) -> None:
    """Cancelling or fetching an order that never existed is OrderNotFound (-2011 / -2013)."""
    with pytest.raises(ccxt.OrderNotFound, match="Unknown order sent"):
        await client.cancel_order(None, SYMBOL, {"clientOrderId": "nope"})
    with pytest.raises(ccxt.OrderNotFound, match="Order does not exist"):
        await client.fetch_order("424242", SYMBOL)
    with pytest.raises(ccxt.OrderNotFound):
        await client.cancel_all_orders(SYMBOL)  # Binance answers -2011 when nothing is open


async def test_cancel_all_cancels_every_open_order(client: ccxtpro.binance) -> None:
    """DELETE openOrders cancels each open order of the symbol and reports each."""
    bid, _ = await touch(client)
    for i in range(2):
        await client.create_order(
            SYMBOL, "limit", "buy", 0.001, round(bid - 40 - i, 2), {"clientOrderId": f"a{i}"}
        )
    cancelled = await client.cancel_all_orders(SYMBOL)
    assert sorted(o["info"]["origClientOrderId"] for o in cancelled) == ["a0", "a1"]
    assert all(o["status"] == "canceled" for o in cancelled)
    assert await client.fetch_open_orders(SYMBOL) == []


async def test_filters_and_funds_refuse_orders(client: ccxtpro.binance) -> None:
    """LOT_SIZE and PRICE_FILTER are InvalidOrder, NOTIONAL is BadRequest, too little money is
    InsufficientFunds; none leaves an order."""
    bid, _ = await touch(client)
    with pytest.raises(ccxt.InvalidOrder, match="LOT_SIZE"):
        await client.create_order(SYMBOL, "limit", "buy", 9001, 1.0)
    with pytest.raises(ccxt.InvalidOrder, match="PRICE_FILTER"):
        await client.create_order(SYMBOL, "limit", "sell", 0.001, 2_000_000)
    with pytest.raises(ccxt.BadRequest, match="NOTIONAL"):
        await client.create_order(SYMBOL, "limit", "buy", 0.00001, round(bid - 10, 2))
    with pytest.raises(ccxt.InsufficientFunds):
        await client.create_order(SYMBOL, "limit", "buy", 10, round(bid - 10, 2))
    with pytest.raises(ccxt.InsufficientFunds):
        await client.create_order(SYMBOL, "market", "sell", 2)
    assert await client.fetch_open_orders(SYMBOL) == []


async def test_bad_credentials_and_clocks_are_refused(emulator: Emulator) -> None:
    """A wrong secret is AuthenticationError (-1022), an unknown key too (-2015), and a timestamp
    outside the recvWindow (either way) is InvalidNonce (-1021); public calls need no key."""
    wrong = ccxt_client(emulator, secret="not-the-secret")
    stranger = ccxt_client(emulator, api_key="who-is-this")
    try:
        await wrong.load_markets()
        with pytest.raises(ccxt.AuthenticationError, match="Signature for this request is not valid"):
            await wrong.fetch_balance()
        with pytest.raises(ccxt.AuthenticationError):
            await stranger.fetch_open_orders(SYMBOL)
        for skew_ms in (70_000, -5_000):
            good = ccxt_client(emulator, options={"timeDifference": skew_ms})
            try:
                with pytest.raises(ccxt.InvalidNonce):
                    await good.fetch_balance()
            finally:
                await good.close()
    finally:
        await wrong.close()
        await stranger.close()


async def test_accounts_are_separate(client: ccxtpro.binance, other: ccxtpro.binance) -> None:
    """One account's orders are invisible to another's key."""
    bid, _ = await touch(client)
    await client.create_order(SYMBOL, "limit", "buy", 0.001, round(bid - 20, 2), {"clientOrderId": "mine"})
    assert await other.fetch_open_orders(SYMBOL) == []
    with pytest.raises(ccxt.OrderNotFound):
        await other.fetch_order(None, SYMBOL, {"clientOrderId": "mine"})


async def test_state_json_after_stop_matches_what_ccxt_saw(tmp_path: Path) -> None:
    """The state file written at stop lists the open orders, trades and balances ccxt fetched, and
    not the secret."""
    path = tmp_path / "state.json"
    emu = Emulator(emulator_options(state_json=path, accounts=(emulator_options().accounts[0],)))
    await emu.start()
    client = ccxt_client(emu)
    try:
        await client.load_markets()
        bid, _ = await touch(client)
        await client.create_order(
            SYMBOL, "limit", "buy", 0.001, round(bid - 25, 2), {"clientOrderId": "rest"}
        )
        await client.create_order(SYMBOL, "market", "sell", 0.002)
        opened = await client.fetch_open_orders(SYMBOL)
        trades = await client.fetch_my_trades(SYMBOL)
        balance = await client.fetch_balance()
    finally:
        await client.close()
        await emu.stop()
    text = path.read_text()
    assert emu.api_secret not in text
    state = json.loads(text)["accounts"]["main"]
    assert [o["clientOrderId"] for o in state["open_orders"]] == [o["clientOrderId"] for o in opened]
    assert [t["id"] for t in state["trades"]] == sorted(
        int(t["id"]) for t in trades
    )  # ccxt orders ids as text
    for asset in ("BTC", "USDT"):
        assert float(state["balances"][asset]["free"]) == pytest.approx(balance[asset]["free"])
        assert float(state["balances"][asset]["locked"]) == pytest.approx(balance[asset]["used"])
    assert state["starting_balances"] == {"BTC": "1.00000000", "USDT": "100000.00000000"}
    assert OTHER.name not in json.loads(text)["accounts"]


async def test_several_symbols_share_one_account() -> None:
    """With two symbols both are listed, trade ids are unique across them, and the quote balance
    is the starting one plus what each symbol's fills changed."""
    eth = dataclasses.replace(DENSE_MARKET, s0=3_000.0)
    options = emulator_options(
        symbols=("BTC/USDT", "ETH/USDT"), markets={"BTC/USDT": DENSE_MARKET, "ETH/USDT": eth}
    )
    async with Emulator(options) as emu:
        client = ccxt_client(emu)
        try:
            await client.load_markets()
            assert {"BTC/USDT", "ETH/USDT"} <= set(client.markets)
            btc = await client.create_order("BTC/USDT", "market", "buy", 0.001)
            ether = await client.create_order("ETH/USDT", "market", "buy", 0.01)
            ids = [t["id"] for o in (btc, ether) for t in o["trades"]]
            assert len(set(ids)) == len(ids)
            spent = sum(o["cost"] for o in (btc, ether))  # the buys pay their fees in what they buy
            balance = await client.fetch_balance()
            assert balance["USDT"]["total"] == pytest.approx(100_000 - spent, abs=1e-6)
            # Each fill's commission is charged as reported, at 8 decimals (Binance's), in the asset a
            # buy receives, also when it rounds to zero: one fee per order, which the balance moved by.
            for asset, start, order in (("ETH", 0.0, ether), ("BTC", 1.0, btc)):
                assert {t["fee"]["currency"] for t in order["trades"]} == {asset}
                expected = start + order["filled"] - order["fee"]["cost"]
                assert balance[asset]["total"] == pytest.approx(expected, abs=1e-12)
        finally:
            await client.close()
