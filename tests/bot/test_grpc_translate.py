"""The gRPC gateway's messages to our types, hostile values refused; the stream sequence rules and
the book rebuilt from a snapshot and diffs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mm_bot.model import Instrument, Liquidity, OrderRequest, OrderStatus, OrderType, Side
from mm_bot.venues import grpc_translate as tr
from mm_bot.venues.grpc_stream import LocalBook, Sequence, StreamBroken
from mm_bot.venues.network import BadVenueData
from sim.servers.grpc.proto import venue_pb2 as pb

INST = Instrument("BTC/USDT", "BTC", "USDT", Decimal("0.01"), Decimal("0.00001"))


def _fill(**kw: object) -> pb.Fill:
    base = dict(trade_id="t1", client_order_id="mb1", side=pb.BUY, price_ticks=100, qty_lots=5,
                liquidity=pb.MAKER, fee="0.02", fee_asset="USDT", exchange_ts_ns=1)  # fmt: skip
    base.update(kw)
    return pb.Fill(**base)  # type: ignore[arg-type]


def test_a_fill_books_its_fee_by_asset() -> None:
    quote = tr.own_fill(INST, _fill(), 7)
    assert (quote.fee_quote, quote.fee_base, quote.fee_other, quote.ts_ns) == (0.02, 0.0, 0.0, 7)
    assert (quote.side, quote.liquidity, quote.trade_id) == (Side.BUY, Liquidity.MAKER, "t1")
    base = tr.own_fill(INST, _fill(fee="0.00000005", fee_asset="BTC"), 7)
    assert (base.fee_quote, base.fee_base) == (0.0, 5e-8)
    other = tr.own_fill(INST, _fill(fee="0.001", fee_asset="BNB"), 7)
    assert (other.fee_other, other.fee_other_asset, other.fee_quote) == (0.001, "BNB", 0.0)


@pytest.mark.parametrize(
    "bad",
    [
        {"price_ticks": 0},
        {"qty_lots": -1},
        {"trade_id": ""},
        {"client_order_id": ""},
        {"side": pb.SIDE_UNSPECIFIED},
        {"liquidity": pb.LIQUIDITY_UNSPECIFIED},
        {"fee": "NaN"},
        {"fee": "1e999999"},
        {"fee": "lots"},
    ],
)
def test_a_fill_that_does_not_fit_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(BadVenueData):
        tr.own_fill(INST, _fill(**bad), 0)


def test_book_levels_a_snapshot_has_no_empty_level_a_diff_may() -> None:
    rows = [pb.Level(price_ticks=100, qty_lots=0)]
    assert tr.levels(rows, diff=True) == [(100, 0)]
    with pytest.raises(BadVenueData):
        tr.levels(rows, diff=False)
    with pytest.raises(BadVenueData):
        tr.levels([pb.Level(price_ticks=-5, qty_lots=1)], diff=True)


def test_order_reports_and_open_orders() -> None:
    report = pb.OrderReport(client_order_id="mb1", status=pb.OrderReport.FILLED, side=pb.SELL,
                            price_ticks=101, qty_lots=4, filled_lots=4)  # fmt: skip
    got = tr.order_report(report, "mb1")
    assert (got.status, got.side, got.filled_lots) == (OrderStatus.FILLED, Side.SELL, 4)
    assert (
        tr.order_report(pb.OrderReport(status=pb.OrderReport.NOT_FOUND), "mb2").status
        is OrderStatus.NOT_FOUND
    )
    with pytest.raises(BadVenueData):  # a report of another order
        tr.order_report(report, "mb9")
    with pytest.raises(BadVenueData):
        tr.order_report(pb.OrderReport(client_order_id="mb1"), "mb1")  # no status
    with pytest.raises(BadVenueData):  # more remaining than ordered
        tr.open_order(
            pb.OpenOrder(client_order_id="a", side=pb.BUY, price_ticks=1, qty_lots=2, remaining_lots=3)
        )


def test_place_request_and_grid_check() -> None:
    message = tr.place_request("BTC/USDT", OrderRequest("mb1", Side.SELL, 123, 4, OrderType.POST_ONLY))
    assert (message.side, message.order_type, message.price_ticks) == (pb.SELL, pb.POST_ONLY, 123)
    same = pb.Instrument(symbol="BTC/USDT", tick_size="0.010", lot_size="0.00001")
    assert tr.grid_problems(same, INST) == []
    other = pb.Instrument(symbol="BTC/USDT", tick_size="0.1", lot_size="x")
    assert [p.split(" ")[0] for p in tr.grid_problems(other, INST)] == ["tick_size", "lot_size"]


def test_balances_are_decimal_strings() -> None:
    assert tr.balances({"BTC": "1.5", "USDT": "10"}, ["BTC", "USDT", "ETH"]) == {
        "BTC": 1.5,
        "USDT": 10.0,
        "ETH": 0.0,
    }
    with pytest.raises(BadVenueData):
        tr.balances({"BTC": "inf"}, ["BTC"])


def _msg(seq: int, body: str = "heartbeat", session: str = "s1") -> pb.MarketMessage:
    message = pb.MarketMessage(session_id=session, seq=seq)
    getattr(message, body).SetInParent()
    return message


def test_a_subscription_starts_with_the_snapshot_and_counts_by_one() -> None:
    seq = Sequence()
    seq.check(_msg(1, "snapshot"))
    seq.check(_msg(2))
    with pytest.raises(StreamBroken, match="gap: 2 then 4"):
        seq.check(_msg(4))
    seq.restart()
    with pytest.raises(StreamBroken, match="not a snapshot"):
        seq.check(_msg(1))
    seq.restart()
    seq.check(_msg(1, "snapshot"))
    assert not seq.changed
    with pytest.raises(StreamBroken, match="new gateway session"):
        seq.check(_msg(2, session="s2"))
    seq.restart()
    seq.check(_msg(1, "snapshot", session="s2"))
    assert seq.changed and seq.session == "s2"


def test_the_local_book_applies_diffs() -> None:
    book = LocalBook()
    book.reset([(100, 1), (99, 2)], [(101, 3)])
    book.apply([(100, 0), (98, 4)], [(102, 1), (101, 2)])
    assert book.top(2) == (((99, 2), (98, 4)), ((101, 2), (102, 1)))
