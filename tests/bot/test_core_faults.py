"""The core against hostile timing, found in review: lagging venue reports, late acks, restarts with
partly filled orders, refused unwinds, reconnects while a reconciliation is out. Each test drives the
pure core with hand-built events and checks it settles (no command loop) with the position right."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

from mm_bot.config import load_config
from mm_bot.engine.core_types import (
    Cancel,
    Command,
    ExecutionParams,
    OrderStatusResult,
    Place,
    PlaceUnknown,
    QueryOrder,
    Reconcile,
    ReconcileResult,
    Tick,
)
from mm_bot.engine.ids import ClientOrderIds
from mm_bot.engine.ledger import LedgerTotals
from mm_bot.engine.market import CoreRestore, Event, MarketCore, MarketParams
from mm_bot.engine.order_states import OrderState
from mm_bot.engine.reasons import Reason
from mm_bot.model import (
    BookSnapshot,
    CancelRejected,
    Connected,
    Disconnected,
    Liquidity,
    OpenOrder,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OrderType,
    OwnFill,
    PublicTrade,
    Side,
    Throttled,
    VenueReport,
)
from mm_bot.wiring import market_params

MS = 1_000_000
S = 1_000_000_000
T0 = 1_699_963_200 * S
BID, ASK = 5_999_990, 6_000_010
CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"


def params(**execution: int) -> MarketParams:
    p = market_params(load_config(CONFIG, environ={}).markets[0])
    ex = {"request_timeout_ns": 1 * S, "cancel_retry_ns": 500 * MS, "status_retry_ns": 1 * S,
          "reconcile_interval_ns": 30 * S} | execution  # fmt: skip
    return dataclasses.replace(p, volatility=None, execution=ExecutionParams(**ex))


def book(ts: int, seq: int, bid: int = BID, ask: int = ASK) -> BookSnapshot:
    return BookSnapshot(ts, ts, seq, ((bid, 5), (bid - 10, 7)), ((ask, 5), (ask + 10, 7)))


def report(core: MarketCore, now: int, fills: tuple[OwnFill, ...] = (), extra: tuple[OpenOrder, ...] = (),
           hide: frozenset[str] = frozenset()) -> VenueReport:  # fmt: skip
    """The venue agreeing with the core (its answered live orders open, minus ``hide``), plus ``extra``."""
    listed = tuple(
        OpenOrder(o.client_order_id, o.side, o.request.price_ticks, o.request.qty_lots, o.remaining_lots)
        for o in core.table.live_orders()
        if o.state is not OrderState.PENDING_NEW and o.client_order_id not in hide
    )
    return VenueReport(now, listed + extra, fills, None)


def started(
    p: MarketParams | None = None, restore: CoreRestore | None = None, prefix: str = "mmA"
) -> MarketCore:
    core = MarketCore(p or params(), ClientOrderIds(prefix), T0)
    if restore is not None:
        core.restore(restore)
    for _ in core.start(T0):
        core.on_event(ReconcileResult(T0, report(core, T0)), T0)
    return core


def core_tick(ts: int) -> Tick:
    return Tick(ts)


def places(cmds: list[Command], side: Side | None = None) -> list[OrderRequest]:
    return [c.request for c in cmds if isinstance(c, Place) and (side is None or c.request.side is side)]


def run_until_quiet(
    core: MarketCore,
    cmds: list[Command],
    answer: Callable[[Command], Event | None],
    now: int,
    limit: int = 200,
) -> int:
    """Answer commands (at one instant) until none is left; returns how many were answered. A core that
    keeps asking at the same instant hits ``limit``."""
    pending, n = list(cmds), 0
    while pending and n < limit:
        event = answer(pending.pop(0))
        n += 1
        if event is not None:
            pending += core.on_event(event, now)
    return n


def test_restarted_partly_filled_order_settles_without_a_lookup_loop() -> None:
    """An inherited order whose first 30 lots were journaled filled the rest while the bot was down:
    it is settled FILLED once, with the position at 100, and the lookups and reconciliations stop."""
    x = OrderRequest("mmOLD0000001", Side.BUY, BID - 500, 100)
    t1 = OwnFill(T0 - 100 * S, x.client_order_id, Side.BUY, x.price_ticks, 30, Liquidity.MAKER, 0.0, "t1")
    t2 = OwnFill(T0 - 50 * S, x.client_order_id, Side.BUY, x.price_ticks, 70, Liquidity.MAKER, 0.0, "t2")
    restore = CoreRestore(
        totals=LedgerTotals(30, -30 * x.price_ticks, 0.0, 30, 1, t1.ts_ns),
        fill_keys=[(x.client_order_id, "t1")],
        inherited=((x, T0 - 200 * S, 30),),
    )
    core = MarketCore(params(), ClientOrderIds("mmNEW"), T0)
    core.restore(restore)

    def venue(c: Command) -> Event | None:
        if isinstance(c, Reconcile):
            return ReconcileResult(
                T0, VenueReport(T0, (), tuple(f for f in (t1, t2) if f.ts_ns >= c.fills_since_ns))
            )
        if isinstance(c, QueryOrder):
            filled = OrderReport(c.client_order_id, OrderStatus.FILLED, Side.BUY, x.price_ticks, 100, 100)
            return OrderStatusResult(T0, c.client_order_id, filled)
        if isinstance(c, Cancel):
            return CancelRejected(T0, c.client_order_id, "unknown_order")
        return None

    assert run_until_quiet(core, core.start(T0), venue, T0) < 20
    order = core.table.get(x.client_order_id)
    assert order is not None and order.state is OrderState.FILLED
    assert core.ledger.position_lots == 100 and core.table.exposure_lots(Side.BUY) == 0


def test_a_lagging_report_does_not_resurrect_a_filled_order() -> None:
    """A report requested after our bid filled still lists it open (REST lags the private stream): the
    order stays filled, our current bid is kept, and the bid side goes on quoting."""
    core = started()
    cmds = core.on_event(book(T0, 1), T0)
    (x,) = places(cmds, Side.BUY)
    for r in places(cmds):
        core.on_event(OrderAccepted(T0 + MS, r.client_order_id), T0 + MS)
    t1 = OwnFill(
        T0 + 2 * MS, x.client_order_id, Side.BUY, x.price_ticks, x.qty_lots, Liquidity.MAKER, 0.0, "t1"
    )
    core.on_event(t1, T0 + 2 * MS)
    now = T0 + 400 * MS
    (y,) = places(core.on_event(book(now, 2), now), Side.BUY)  # after the fill lockout: a new bid
    core.on_event(OrderAccepted(now + MS, y.client_order_id), now + MS)
    now += 10 * MS
    stale = OpenOrder(x.client_order_id, Side.BUY, x.price_ticks, x.qty_lots, x.qty_lots)
    out = core.on_event(ReconcileResult(now, report(core, now, fills=(t1,), extra=(stale,))), now)
    assert not [c for c in out if isinstance(c, Cancel) and c.client_order_id == y.client_order_id]
    assert core.table.get(x.client_order_id).state is OrderState.FILLED  # type: ignore[union-attr]
    assert (
        core.table.resting(Side.BUY) is not None
        and core.table.resting(Side.BUY).client_order_id == y.client_order_id
    )  # type: ignore[union-attr]
    assert core.ledger.position_lots == x.qty_lots


def test_an_adopted_orphan_keeps_its_fills_and_is_not_the_sides_quote() -> None:
    """An order of ours the table had ended is listed open with fewer fills than we saw: adopted with
    the larger fill count, cancelled as an orphan, and our current quote stays the side's quote."""
    core = started()
    cmds = core.on_event(book(T0, 1), T0)
    bid = places(cmds, Side.BUY)[0]
    for r in places(cmds):
        core.on_event(OrderAccepted(T0 + MS, r.client_order_id), T0 + MS)
    x = "mmZOLD000001"  # an earlier session's order we had seen partly fill, then concluded gone
    core.table.inherit(OrderRequest(x, Side.BUY, BID - 900, 100), T0 - 10 * S)
    core.orders.settle(x, OrderState.CANCELLED, "not_found", T0)
    core.ledger.apply(OwnFill(T0, x, Side.BUY, BID - 900, 40, Liquidity.MAKER, 0.0, "z1"))
    core.table.on_fill(OwnFill(T0, x, Side.BUY, BID - 900, 40, Liquidity.MAKER, 0.0, "z1"))
    now = T0 + 100 * MS
    listed = OpenOrder(x, Side.BUY, BID - 900, 100, 100)  # the venue's view lags: no fills yet
    out = core.on_event(ReconcileResult(now, report(core, now, extra=(listed,))), now)
    assert [c.client_order_id for c in out if isinstance(c, Cancel)] == [x]
    adopted = core.table.get(x)
    assert adopted is not None and adopted.filled_lots == 40
    assert core.table.resting(Side.BUY).client_order_id == bid.client_order_id  # type: ignore[union-attr]


def test_a_late_ack_for_an_order_settled_not_found_asks_for_a_reconciliation() -> None:
    """The lookup said "not found" and the order was settled; its ack then arrives: the core does not
    drop it silently but asks the venue at once (the order is live there)."""
    core = started(restore=CoreRestore(totals=LedgerTotals(position_lots=900)))
    cmds = core.on_event(book(T0, 1), T0)
    (x,) = places(cmds, Side.BUY)
    now = T0 + 1 * S
    core.on_event(PlaceUnknown(now, x.client_order_id, "timeout"), now)
    core.on_event(
        OrderStatusResult(now, x.client_order_id, OrderReport(x.client_order_id, OrderStatus.NOT_FOUND)), now
    )
    assert core.table.get(x.client_order_id).state is OrderState.REJECTED  # type: ignore[union-attr]
    out = core.on_event(OrderAccepted(now + 5 * MS, x.client_order_id), now + 5 * MS)
    assert [c for c in out if isinstance(c, Reconcile)]
    assert core.stats.venue["unexpected_order_event"] == 1


def test_a_reconnect_while_a_reconciliation_is_out_gets_its_own() -> None:
    """A reconnect while the periodic reconciliation is on the wire: quoting waits for a reconciliation
    asked for after the reconnect, not for the old one's answer."""
    core = started()
    core.on_event(book(T0, 1), T0)
    now = T0 + 30 * S
    assert [c for c in core.on_event(book(now, 2), now) if isinstance(c, Reconcile)]  # the periodic one
    requested = now
    core.on_event(Disconnected(now + 100 * MS), now + 100 * MS)
    core.on_event(Connected(now + 200 * MS), now + 200 * MS)
    now += 300 * MS
    out = core.on_event(ReconcileResult(now, report(core, requested)), now)  # the old one's answer
    assert [c for c in out if isinstance(c, Reconcile)], "the reconnect's own reconciliation is sent now"
    assert core.gate(now) is Reason.RECONCILING


def test_a_refused_unwind_waits_for_the_reject_lockout() -> None:
    """Beyond the hard position a refused IOC unwind is not resent at the venue's round-trip speed."""
    core = started(restore=CoreRestore(totals=LedgerTotals(position_lots=2300)))  # hard limit 2000
    pending = core.on_event(book(T0, 1), T0)
    iocs, now = 0, T0
    while pending and iocs < 100:
        c = pending.pop(0)
        if isinstance(c, Place) and c.request.order_type is OrderType.IOC:
            iocs += 1
            now += 2 * MS
            pending += core.on_event(
                OrderRejected(now, c.request.client_order_id, "insufficient_balance"), now
            )
    assert iocs == 1
    now += 1_001 * MS  # after_reject_ms
    assert [r for r in places(core.on_event(book(now, 2), now)) if r.order_type is OrderType.IOC]


def test_a_replace_is_not_cancelled_as_a_stray_in_the_same_update() -> None:
    """A side with an old order back to live (its cancel refused) and a newest one due for replacement:
    the new order is kept, only the old one is cancelled as superseded."""
    p = params(request_timeout_ns=600 * S, cancel_retry_ns=600 * S)
    core = started(p)
    cmds = core.on_event(book(T0, 1), T0)
    for r in places(cmds):
        core.on_event(OrderAccepted(T0 + MS, r.client_order_id), T0 + MS)
    x = places(cmds, Side.BUY)[0]
    cmds = core.on_event(book(T0 + S, 2, BID + 250, ASK + 250), T0 + S)  # replace: x -> y
    for c in cmds:
        if isinstance(c, Place):
            core.on_event(OrderAccepted(T0 + S + MS, c.request.client_order_id), T0 + S + MS)
        elif c.side is Side.SELL:
            core.on_event(OrderCancelled(T0 + S + MS, c.client_order_id), T0 + S + MS)
    for i in range(2, 31):
        core.on_event(book(T0 + i * S, i + 1, BID + 250, ASK + 250), T0 + i * S)
    now = T0 + 31 * S  # the newest bid is now older than order_max_age
    out = core.on_event(CancelRejected(now, x.client_order_id, "rate_limited"), now)
    new = {r.client_order_id for r in places(out)}
    cancelled = {c.client_order_id for c in out if isinstance(c, Cancel)}
    assert x.client_order_id in cancelled and not (new & cancelled)


def test_first_reconciliation_after_a_restart_asks_for_fills_since_the_oldest_unsettled_order() -> None:
    """No fills journaled, an inherited order sent an hour ago: its fills are asked for from then."""
    x = OrderRequest("mmOLD0000001", Side.BUY, BID - 500, 100)
    core = MarketCore(params(), ClientOrderIds("mmNEW"), T0)
    core.restore(CoreRestore(inherited=((x, T0 - 3600 * S, 0),)))
    (request,) = core.start(T0)
    assert isinstance(request, Reconcile) and request.fills_since_ns <= T0 - 3600 * S


def test_fills_without_a_trade_id_are_not_reapplied_by_reconciliation() -> None:
    """A report's fill without a trade id cannot be told from one we applied: it is not applied again."""
    core = started()
    cmds = core.on_event(book(T0, 1), T0)
    (x,) = places(cmds, Side.BUY)
    f = OwnFill(T0 + MS, x.client_order_id, Side.BUY, x.price_ticks, 40, Liquidity.MAKER, 0.0, "")
    core.on_event(f, T0 + MS)
    for i in range(3):
        now = T0 + (i + 1) * S
        core.on_event(ReconcileResult(now, report(core, now, fills=(f,))), now)
    assert core.ledger.position_lots == 40


def test_book_and_trade_fields_that_are_not_integers_are_refused() -> None:
    """A NaN timestamp or sequence number is bad data, not a way around the stale or sequence checks."""
    core = started()
    core.on_event(book(T0, 1), T0)
    for bad in (
        BookSnapshot(math.nan, T0, 2, ((BID, 5),), ((ASK, 5),)),  # type: ignore[arg-type]
        BookSnapshot(T0, T0, math.nan, ((BID, 5),), ((ASK, 5),)),  # type: ignore[arg-type]
    ):
        assert not core.book.on_book(bad, T0)
    assert core.book.last_seq == 1 and core.book.dropped["book_fields"] == 2
    assert not core.book.on_trade(PublicTrade(math.nan, T0, BID, 1, Side.BUY), T0)  # type: ignore[arg-type]


def test_a_hostile_report_cannot_adopt_an_impossible_order() -> None:
    """An open order reported with more remaining than its size, or no size, is not adopted."""
    core = started()
    core.on_event(book(T0, 1), T0)
    bad = (OpenOrder("mmX1", Side.BUY, BID - 100, 10, 50), OpenOrder("mmX2", Side.SELL, ASK + 100, 0, 0))
    core.on_event(ReconcileResult(T0 + S, report(core, T0 + S, extra=bad)), T0 + S)
    assert core.table.get("mmX1") is None and core.table.get("mmX2") is None
    assert core.stats.venue["bad_reports"] == 2


def test_next_timer_includes_the_stale_book_deadline() -> None:
    """The core asks to be woken when its book goes stale, even if only trades arrive meanwhile."""
    core = started()
    for r in places(core.on_event(book(T0, 1), T0)):
        core.on_event(OrderAccepted(T0 + MS, r.client_order_id), T0 + MS)
    assert core.next_timer_ns() == T0 + 20 * MS  # the order lockout ends first
    core.on_event(PublicTrade(T0 + 100 * MS, T0, BID, 1, Side.SELL), T0 + 100 * MS)
    assert core.next_timer_ns() == T0 + core.params.risk.stale_book_ns + 1  # before reconcile and order age
    stale = T0 + core.params.risk.stale_book_ns + 1
    trades = [core.on_event(PublicTrade(t, t, BID, 1, Side.SELL), t) for t in range(T0 + S, stale, S)]
    assert trades == [[], [], []]  # trades alone decide nothing ...
    cancels = [c for c in core.on_event(core_tick(stale), stale) if isinstance(c, Cancel)]
    assert len(cancels) == 2 and all(
        c.decision.reason is Reason.STALE_BOOK for c in cancels
    )  # ... the tick does


def test_a_rate_limit_pulls_the_quotes_until_it_expires() -> None:
    """A 429/418 (``Throttled``): both quotes are cancelled, nothing is sent until the venue's
    Retry-After has passed, the core asks to be woken then, and quoting resumes on its own."""
    core = started()
    for r in places(core.on_event(book(T0, 1), T0)):
        core.on_event(OrderAccepted(T0 + MS, r.client_order_id), T0 + MS)
    until = T0 + 2 * S
    cmds = core.on_event(Throttled(T0 + 10 * MS, until, "418 banned"), T0 + 10 * MS)
    cancels = [c for c in cmds if isinstance(c, Cancel)]
    assert len(cancels) == 2 and all(c.decision.reason is Reason.RATE_LIMITED for c in cancels)
    for c in cancels:
        core.on_event(OrderCancelled(T0 + 20 * MS, c.client_order_id), T0 + 20 * MS)
    assert places(core.on_event(book(T0 + S, 2), T0 + S)) == []  # a fresh book, still limited
    assert core.next_timer_ns() == until
    assert core.stats.venue["throttled"] == 1
    assert len(places(core.on_event(book(until, 3), until))) == 2  # expired: quoting again


def test_only_the_compared_assets_are_reconciled() -> None:
    """Live: the quote asset may be shared by several markets (or deposited to), so only the base is
    compared; a quote balance that differs from the baseline is no mismatch (review finding)."""
    core = MarketCore(params(), ClientOrderIds("mmB"), T0)
    core.restore(CoreRestore(baseline={"BTC": 1.0, "USDT": 100_000.0}))
    core.reconciler.compare_assets = frozenset({"BTC"})
    for _ in core.start(T0):
        r = report(core, T0)
        core.on_event(
            ReconcileResult(T0, VenueReport(r.requested_ns, (), (), {"BTC": 1.0, "USDT": 97_000.0})), T0
        )
    assert core.stats.venue["reconcile_mismatches"] == 0 and core.gate(T0) is not Reason.RECONCILE_MISMATCH
    r = report(core, T0 + S)
    core.on_event(
        ReconcileResult(T0 + S, VenueReport(r.requested_ns, (), (), {"BTC": 1.5, "USDT": 97_000.0})), T0 + S
    )
    assert core.stats.venue["reconcile_mismatches"] == 1  # the base still is compared
