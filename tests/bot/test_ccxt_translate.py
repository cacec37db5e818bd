"""ccxt's unified structures to the bot's types: exact ticks and lots, hostile values refused, client
ids found where Binance puts them; and ``live.endpoint`` moving every URL of the exchange."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from mm_bot.model import Instrument, Liquidity, OrderStatus, Side
from mm_bot.venues import ccxt_translate as tr
from mm_bot.venues.ccxt_client import make_exchange, rebase

INST = Instrument("BTC/USDT", "BTC", "USDT", Decimal("0.01"), Decimal("0.00001"))
NOW = 1_700_000_000_000_000_000


def test_book_levels_become_exact_ticks_and_lots() -> None:
    """Floats ccxt parsed from decimal strings land on the grid; the venue's time and nonce are kept."""
    book = {
        "bids": [[60000.01, 0.00123], [59999.99, 1.5]],
        "asks": [[60000.03, 0.00001], [60000.1, 2.0]],
        "timestamp": 1_700_000_000_123,
        "nonce": 987,
    }
    snap = tr.book_snapshot(INST, book, 1, NOW)
    assert snap.bids == ((6_000_001, 123),) and snap.asks == ((6_000_003, 1),)
    assert snap.exchange_ts_ns == 1_700_000_000_123_000_000 and snap.seq == 987 and snap.ts_ns == NOW


@pytest.mark.parametrize(
    "level",
    [[60000.005, 1.0], [60000.0, 0.000005], [math.nan, 1.0], [math.inf, 1.0], [-1.0, 1.0], [0.0, 1.0],
     [60000.0, 0.0], ["60000", 1.0], [True, 1.0]],
)  # fmt: skip
def test_hostile_book_levels_are_refused(level: list[object]) -> None:
    """Off-grid, non-finite, non-positive and non-numeric values never become a book."""
    with pytest.raises(tr.BadVenueData):
        tr.book_snapshot(INST, {"bids": [level], "asks": []}, 5, NOW)


def test_public_trade_side_is_the_aggressor() -> None:
    t = tr.public_trade(INST, {"price": 60000.5, "amount": 0.002, "side": "sell", "timestamp": 1}, NOW)
    assert (t.price_ticks, t.qty_lots, t.aggressor, t.exchange_ts_ns) == (
        6_000_050,
        200,
        Side.SELL,
        1_000_000,
    )
    with pytest.raises(tr.BadVenueData):
        tr.public_trade(INST, {"price": 60000.5, "amount": 0.002, "side": None}, NOW)


def test_cancel_reply_names_the_original_order() -> None:
    """Binance's cancel reply carries the cancel's own id as clientOrderId: the original wins."""
    reply = {"clientOrderId": "cancelXYZ", "info": {"origClientOrderId": "mm1abc0000001"}}
    assert tr.client_id_of(reply) == "mm1abc0000001"
    streamed = {"clientOrderId": "web_123", "info": {"C": "mm1abc0000002", "c": "web_123"}}
    assert tr.client_id_of(streamed) == "mm1abc0000002"
    assert tr.client_id_of({"clientOrderId": "", "info": {}}) is None


def test_order_report_and_open_order() -> None:
    order = {"status": "open", "side": "buy", "price": 59999.0, "amount": 0.001, "filled": 0.0004,
             "clientOrderId": "mmX"}  # fmt: skip
    report = tr.order_report(INST, order, "mmX")
    assert (report.status, report.side, report.price_ticks, report.qty_lots, report.filled_lots) == (
        OrderStatus.OPEN, Side.BUY, 5_999_900, 100, 40,
    )  # fmt: skip
    listed = tr.open_order(INST, order)
    assert listed is not None and listed.remaining_lots == 60
    assert tr.order_report(INST, {**order, "status": "expired"}, "mmX").status is OrderStatus.CANCELLED
    with pytest.raises(tr.BadVenueData):
        tr.order_report(INST, {**order, "status": "weird"}, "mmX")


def test_own_fill_keeps_the_fee_in_the_asset_charged() -> None:
    """Quote, base and third-asset fees each land in their own field; a rebate stays negative."""
    trade = {"id": 77, "side": "sell", "price": 60000.0, "amount": 0.001, "takerOrMaker": "maker",
             "fee": {"cost": -0.003, "currency": "USDT"}}  # fmt: skip
    fill = tr.own_fill(INST, trade, "mmX", NOW)
    assert (fill.trade_id, fill.side, fill.qty_lots, fill.liquidity, fill.fee_quote) == (
        "77", Side.SELL, 100, Liquidity.MAKER, -0.003,
    )  # fmt: skip
    base_fee = {**trade, "fee": {"cost": 0.000001, "currency": "BTC"}, "takerOrMaker": "taker"}
    in_base = tr.own_fill(INST, base_fee, "mmX", NOW)
    assert (in_base.fee_quote, in_base.fee_base, in_base.fee_other) == (0.0, 0.000001, 0.0)
    bnb = tr.own_fill(INST, {**trade, "fee": {"cost": 0.0002, "currency": "BNB"}}, "mmX", NOW)
    assert (bnb.fee_quote, bnb.fee_base, bnb.fee_other, bnb.fee_other_asset) == (0.0, 0.0, 0.0002, "BNB")
    assert tr.own_fill(INST, {**trade, "fee": None}, "mmX", NOW).fee_quote == 0.0
    assert tr.trade_client_id({"info": {"c": "mmY", "C": ""}}) == "mmY"


def test_endpoint_moves_every_url_and_keeps_paths() -> None:
    assert rebase("https://api.binance.com/api/v3", "http://127.0.0.1:9000") == "http://127.0.0.1:9000/api/v3"
    assert rebase("wss://stream.binance.com:9443/ws", "http://127.0.0.1:9000") == "ws://127.0.0.1:9000/ws"
    assert (
        rebase("wss://x.example/ws-api/v3", "https://test.example/base")
        == "wss://test.example/base/ws-api/v3"
    )


async def test_client_is_configured_in_one_place_without_retries() -> None:
    """The real ccxt client: every API URL on the endpoint, spot only, no retries, secrets held."""
    ex = make_exchange("binance", api_key="k", api_secret="s", endpoint="http://127.0.0.1:1")
    try:
        urls = ex.urls["api"]
        assert urls["public"] == "http://127.0.0.1:1/api/v3"
        assert urls["ws"]["spot"] == "ws://127.0.0.1:1/ws"
        assert urls["ws"]["ws-api"]["spot"] == "ws://127.0.0.1:1/ws-api/v3"
        flat = str(urls)
        assert "binance.com" not in flat and "binance.vision" not in flat
        assert ex.options["maxRetriesOnFailure"] == 0 and ex.options["fetchCurrencies"] is False
    finally:
        await ex.close()
    with pytest.raises(KeyError):
        make_exchange("no_such_exchange", api_key="k", api_secret="s")


@pytest.mark.parametrize("cost", [math.nan, math.inf, "abc", -math.inf])
def test_a_fill_with_a_fee_that_is_not_a_number_is_refused(cost: object) -> None:
    """A NaN fee became the ledger's fee and every PnL after it NaN; "abc" raised ValueError out of
    the adapter's conversion, past its hostile-data guard, and failed the user-data stream."""
    trade = {
        "price": 60000.0,
        "amount": 0.001,
        "side": "buy",
        "id": "7",
        "fee": {"cost": cost, "currency": "USDT"},
    }
    with pytest.raises(tr.BadVenueData, match="fee"):
        tr.own_fill(INST, trade, "mm1", NOW)
