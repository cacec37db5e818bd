"""Reconciliation as a pure function over hand-built venue reports: what it adopts, applies, looks up
and flags, and that it changes nothing itself."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mm_bot.engine.ledger import Ledger
from mm_bot.engine.orders import OrderTable
from mm_bot.engine.reconcile import reconcile
from mm_bot.model import (
    Instrument,
    Liquidity,
    OpenOrder,
    OrderAccepted,
    OrderRequest,
    OwnFill,
    Side,
    VenueReport,
)

INST = Instrument("BTC/USDT", "BTC", "USDT", Decimal("0.01"), Decimal("0.00001"))
BASE = {"BTC": 1.0, "USDT": 100_000.0}


def table_with(*cids_acked: tuple[str, bool], sent_ns: int = 10) -> OrderTable:
    table = OrderTable()
    for i, (cid, acked) in enumerate(cids_acked):
        table.on_send(OrderRequest(cid, Side.BUY if i % 2 == 0 else Side.SELL, 6_000_000, 100), sent_ns)
        if acked:
            table.on_ack(OrderAccepted(sent_ns + 1, cid))
    return table


def report(
    open_orders: list[OpenOrder] = (),
    fills: list[OwnFill] = (),
    balances: dict[str, float] | None = None,
    at: int = 100,
) -> VenueReport:
    return VenueReport(at, tuple(open_orders), tuple(fills), BASE if balances is None else balances)


def test_in_sync_agrees_and_asks_for_nothing() -> None:
    """Our two acked orders are the venue's two open ones, no fills, balances unchanged."""
    table = table_with(("mma", True), ("mmb", True))
    opens = [
        OpenOrder("mma", Side.BUY, 6_000_000, 100, 100),
        OpenOrder("mmb", Side.SELL, 6_000_000, 100, 100),
    ]
    r = reconcile(report(opens), table, Ledger(0.01, 0.00001), BASE, INST, "mm")
    assert r.agrees and not (r.missed_fills or r.accepted or r.orphans or r.lookups)


def test_missed_fill_is_listed_once_and_balances_then_agree() -> None:
    """A fill we never saw is to be applied; the balance check counts it, so the report agrees."""
    ledger = Ledger(0.01, 0.00001)
    missed = OwnFill(50, "mma", Side.BUY, 6_000_000, 100, Liquidity.MAKER, 0.0, "t1")
    seen = OwnFill(40, "mmz", Side.SELL, 6_000_000, 100, Liquidity.MAKER, 0.0, "t0")
    ledger.apply(seen)
    balances = {"BTC": 1.0, "USDT": 100_000.0}  # +100 -100 lots, and the cash nets out
    r = reconcile(report([], [missed, seen], balances), table_with(("mma", True)), ledger, BASE, INST, "mm")
    assert r.missed_fills == (missed,)
    assert r.agrees, r.mismatches


def test_balance_difference_is_a_mismatch() -> None:
    """The venue holds 0.001 BTC more than our fills say: a mismatch naming the asset."""
    r = reconcile(
        report(balances={"BTC": 1.001, "USDT": 100_000.0}),
        OrderTable(),
        Ledger(0.01, 0.00001),
        BASE,
        INST,
        "mm",
    )
    assert len(r.mismatches) == 1 and r.mismatches[0].startswith("BTC:")


def test_rounding_of_fees_is_tolerated() -> None:
    """A quote balance off by a venue's fee rounding (1e-8) is not a mismatch."""
    r = reconcile(
        report(balances={"BTC": 1.0, "USDT": 100_000.00000001}),
        OrderTable(),
        Ledger(0.01, 0.00001),
        BASE,
        INST,
        "mm",
    )
    assert r.agrees


def test_unanswered_order_listed_open_was_accepted() -> None:
    """An order we still see as unanswered that the venue lists: accepted."""
    opened = OpenOrder("mma", Side.BUY, 6_000_000, 100, 100)
    r = reconcile(report([opened]), table_with(("mma", False)), Ledger(0.01, 0.00001), BASE, INST, "mm")
    assert r.accepted == (opened,) and not r.orphans


def test_our_unknown_open_order_is_an_orphan_and_foreign_ones_are_left_alone() -> None:
    """An order with our tag we do not track is an orphan to adopt and cancel; another tag is not ours."""
    orphan = OpenOrder("mmOLD1", Side.SELL, 6_000_500, 100, 60)
    manual = OpenOrder("web123", Side.BUY, 5_000_000, 100, 100)
    r = reconcile(report([orphan, manual]), OrderTable(), Ledger(0.01, 0.00001), BASE, INST, "mm")
    assert r.orphans == (orphan,) and r.foreign_orders == 1


def test_an_order_we_saw_end_after_the_report_was_requested_is_not_an_orphan() -> None:
    """The report is older than our news: an order cancelled after it was requested is left alone."""
    table = table_with(("mma", True))
    from mm_bot.model import OrderCancelled

    table.on_cancel_request("mma", 90)
    table.on_cancelled(OrderCancelled(150, "mma"))
    listed = OpenOrder("mma", Side.BUY, 6_000_000, 100, 100)
    assert reconcile(report([listed], at=100), table, Ledger(0.01, 0.00001), BASE, INST, "mm").orphans == ()
    assert reconcile(report([listed], at=200), table, Ledger(0.01, 0.00001), BASE, INST, "mm").orphans == (
        listed,
    )


def test_live_order_missing_at_the_venue_is_looked_up_unless_sent_after_the_report() -> None:
    """Live for us, not listed: look it up; one sent after the report was requested may not show yet."""
    table = table_with(("mma", True), sent_ns=10)
    table.on_send(OrderRequest("mmb", Side.SELL, 6_000_100, 100), 500)
    r = reconcile(report([], at=100), table, Ledger(0.01, 0.00001), BASE, INST, "mm")
    assert r.lookups == ("mma",)


def test_reconcile_changes_nothing() -> None:
    """The function only reads: the table and the ledger are as they were."""
    table = table_with(("mma", False))
    ledger = Ledger(0.01, 0.00001)
    version, fills = table.version, ledger.fills
    fill = OwnFill(50, "mma", Side.BUY, 6_000_000, 100, Liquidity.MAKER, 0.0, "t1")
    reconcile(
        report([OpenOrder("mmx", Side.BUY, 1, 1, 1)], [fill], {"BTC": 5.0}), table, ledger, BASE, INST, "mm"
    )
    assert table.version == version and ledger.fills == fills and not ledger.seen(fill)


def test_fees_charged_in_the_base_asset_reconcile() -> None:
    """Binance spot without BNB charges a buy's fee in the base asset it brings in: the venue's base
    balance grows by the quantity minus that fee. Over many fills the fees add up to more than half a
    lot, so the balance check must count them, or every later reconciliation disagrees for good."""
    tr = __import__("mm_bot.venues.ccxt_translate", fromlist=["own_fill"])
    ledger = Ledger(0.01, 0.00001)
    btc, usdt = 1.0, 100_000.0
    for i in range(10):  # ten 0.1 BTC buys at 60,000, 0.1% fee in BTC each
        trade = {"id": i, "side": "buy", "price": 60000.0, "amount": 0.1, "takerOrMaker": "maker",
                 "fee": {"cost": 0.0001, "currency": "BTC"}}  # fmt: skip
        assert ledger.apply(tr.own_fill(INST, trade, f"mm{i}", 50 + i))
        btc += 0.1 - 0.0001
        usdt -= 6000.0
    r = reconcile(report(balances={"BTC": btc, "USDT": usdt}), OrderTable(), ledger, BASE, INST, "mm")
    assert r.agrees, r.mismatches
    assert ledger.position_lots == 100_000  # the strategy's inventory counts the traded lots
    assert ledger.position_base == pytest.approx(1.0 - 0.001)  # what the fills left us holding
    assert ledger.fees_quote == 0.0


def test_fees_in_a_third_asset_touch_neither_base_nor_quote() -> None:
    """A fee paid in BNB changes neither balance we compare; it is kept by asset, not valued."""
    tr = __import__("mm_bot.venues.ccxt_translate", fromlist=["own_fill"])
    ledger = Ledger(0.01, 0.00001)
    trade = {"id": 1, "side": "sell", "price": 60000.0, "amount": 0.5, "takerOrMaker": "taker",
             "fee": {"cost": 0.02, "currency": "BNB"}}  # fmt: skip
    ledger.apply(tr.own_fill(INST, trade, "mm1", 50))
    r = reconcile(report(balances={"BTC": 0.5, "USDT": 130_000.0}), OrderTable(), ledger, BASE, INST, "mm")
    assert r.agrees, r.mismatches
    assert ledger.fees_other == {"BNB": pytest.approx(0.02)}


def test_a_quiet_market_asks_for_fills_since_the_last_applied_report() -> None:
    """A month without fills: once a report has been applied, the next reconciliation asks for fills
    since that report (minus the margin), not since the month-old fill."""
    from mm_bot.engine.core_types import ExecutionParams
    from mm_bot.engine.reconcile import FILL_LOOKBACK_NS, Reconciler

    day = 86_400 * 1_000_000_000
    now = 40 * day
    reconciler = Reconciler(ExecutionParams(), 0)
    month_old_fill = 10 * day
    first = reconciler.request(now, lambda: month_old_fill, now=True)
    assert first is not None and first.fills_since_ns == month_old_fill - FILL_LOOKBACK_NS
    reconciler.compare(VenueReport(now, (), (), None), OrderTable(), Ledger(0.01, 0.00001), INST, now + 5)
    second = reconciler.request(now + 31 * 10**9, lambda: month_old_fill, now=True)
    assert second is not None and second.fills_since_ns == now - FILL_LOOKBACK_NS
