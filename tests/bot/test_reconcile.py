"""Reconciliation as a pure function over hand-built venue reports: what it adopts, applies, looks up
and flags, and that it changes nothing itself."""

from __future__ import annotations

from decimal import Decimal

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
