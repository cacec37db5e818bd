"""One market's trading brain, sans-IO: venue events in, venue commands out.

``MarketCore.on_event(event, now_ns)`` takes every event the venue delivers (books, public trades,
our order acks, rejects, cancels and fills, connection events), the runner's news about its requests
(a place or cancel whose outcome is unknown, lookups, reconciliation reports) and timer ticks, and
returns the commands to send (``Place``, ``Cancel``, ``QueryOrder``, ``Reconcile``). It never awaits
and never reads a clock: a backtest drives it in virtual time and decides exactly as a live run does.

It coordinates parts with one job each:

- ``BookView`` (``book.py``): validates market data; nothing is quoted on a book it does not trust;
- ``Ledger`` (``ledger.py``): position, cash, fees and volume, each fill applied exactly once;
- ``Quoter`` (``quoter.py``): estimators and the strategy's quote;
- ``decide_side`` (``decide.py``): per side, keep, send, replace, cancel or nothing, with a reason;
- ``OrderManager`` (``order_manager.py``): the order table, commands and the chase of unknown outcomes;
- ``reconcile`` (``reconcile.py``): the venue's report against our state;
- ``RiskState``, ``Lockouts``, ``HorizonState``.

Before the first reconciliation, while the venue is disconnected, while it disagrees with us, and
on a stale or untrusted book, the gate pulls every quote. A replace whose old and new orders could
together breach max position, should the old one fill before its cancel lands, is downgraded to a
cancel: the new order follows once the cancel is confirmed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TypeVar

from mm_bot.engine.book import BookView
from mm_bot.engine.core_types import (
    Cancel,
    CancelFailed,
    Command,
    CoreRestore,
    MarketParams,
    MarketStats,
    OrderStatusResult,
    Place,
    PlaceUnknown,
    QueryOrder,
    ReconcileResult,
    Tick,
    trading_quote_params,
)
from mm_bot.engine.decide import SideDecision, decide_side, decide_stop_quoting
from mm_bot.engine.horizon import HorizonState
from mm_bot.engine.ids import ClientOrderIds
from mm_bot.engine.ledger import Ledger
from mm_bot.engine.lockouts import Lockouts
from mm_bot.engine.order_manager import OrderManager
from mm_bot.engine.order_states import OrderStateError
from mm_bot.engine.orders import Order, OrderTable
from mm_bot.engine.quoter import NO_TARGET, Quoter
from mm_bot.engine.reasons import Action, KillReason, Reason
from mm_bot.engine.reconcile import Reconciler
from mm_bot.engine.risk import RiskState, flatten
from mm_bot.model import (
    BookSnapshot,
    CancelRejected,
    Connected,
    Disconnected,
    Heartbeat,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderType,
    OwnFill,
    PublicTrade,
    Resynced,
    Throttled,
    VenueEvent,
)
from mm_bot.strategy.quote import Quote

__all__ = [
    "Cancel",
    "Command",
    "CoreRestore",
    "MarketCore",
    "MarketParams",
    "MarketStats",
    "Place",
    "Tick",
    "trading_quote_params",
]

_E = TypeVar("_E", OrderAccepted, OrderRejected, OrderCancelled, CancelRejected)
Event = VenueEvent | PlaceUnknown | CancelFailed | OrderStatusResult | ReconcileResult | Tick


class MarketCore:
    def __init__(self, params: MarketParams, ids: ClientOrderIds, start_ns: int) -> None:
        if not ids.prefix.startswith(tag := params.execution.id_tag):
            raise ValueError(f"client order ids {ids.prefix!r}... must start with the tag {tag!r}")
        self.params = params
        self.instrument = params.instrument
        self._tick = float(params.instrument.tick_size)
        self.start_ns = start_ns
        self.book = BookView(params.book)
        self.ledger = Ledger(self._tick, float(params.instrument.lot_size))
        self.horizon = HorizonState(params.horizon, start_ns)
        self.quoter = Quoter(params, self.horizon, start_ns)
        self.orders = OrderManager(ids, params.execution, params.order_type)
        self.table: OrderTable = self.orders.table  # our orders (the manager's table)
        self.lockouts = Lockouts(params.lockouts)
        self.risk = RiskState(params.risk)
        self.stats = MarketStats(recent=deque(maxlen=params.recent_decisions))
        self.recent = self.stats.recent  # the latest decisions that changed something, per side
        self.halted: Reason | None = None  # shutting down: cancel everything, send nothing
        self.throttled_until_ns = 0  # the venue limits our request rate until then: quote nothing
        self.reconciler = Reconciler(params.execution, start_ns)  # nothing is quoted before it answers
        self._last_fill_ns = start_ns
        self._now = start_ns  # the time of the last event, for next_timer_ns
        self._pending: list[Command] = []  # commands produced while applying an event
        self._unwind_cid = ""
        self._tolerance_per_mid = params.tolerance_bps * 1e-4 / self._tick  # ticks of band per price unit

    # ------------------------------------------------------------------------------ restore
    def restore(self, state: CoreRestore) -> None:
        """Continue a journaled run: fills, unsettled orders, the day's loss baseline, balances."""
        self.ledger.restore(state.totals, state.fill_keys)
        if state.totals.last_fill_ts_ns is not None:
            self._last_fill_ns = state.totals.last_fill_ts_ns
        elif state.no_fill_before_ns is not None:
            self._last_fill_ns = min(self._last_fill_ns, state.no_fill_before_ns)
        for request, sent_ns, filled_lots in state.inherited:
            self.orders.inherit(request, sent_ns, filled_lots)
        if state.day_baseline is not None:
            self.risk.restore_day(*state.day_baseline)
        self.reconciler.baseline = dict(state.baseline)

    # ------------------------------------------------------------------------------- views
    @property
    def kill_reason(self) -> KillReason | None:
        return self.risk.kill_reason

    def pnl_quote(self) -> float:
        return self.ledger.pnl_quote(self.book.mid)

    def sigma(self) -> float:
        """sigma in price units per sqrt(s) as the last book left it (the prior until EWMA is warm)."""
        return self.quoter.sigma

    def halt(self, reason: Reason = Reason.SHUTDOWN) -> None:
        """Stop quoting for good: from now on every decision cancels and nothing is sent."""
        self.halted = reason

    def cancel_all(self, now_ns: int) -> list[Command]:
        """Cancel every live order whose cancel is not already on the way (shutdown, kill switch)."""
        reason = self.halted or Reason.KILL_SWITCH
        cancels: list[Command] = []
        for c in self.orders.cancel_every(reason, now_ns):
            self.stats.cancels_sent += 1
            self.stats.record(c.decision, now_ns)
            cancels.append(c)
        return cancels

    def next_timer_ns(self) -> int | None:
        """When the core next wants a ``Tick``, if ever: its chases and reconciliations, and the times at
        which a decision changes without any event (the book going stale, a lockout ending, a resting
        quote reaching its maximum age)."""
        times = [
            self.orders.next_timer_ns(),
            self.reconciler.next_due_ns,
            self.lockouts.next_deadline_ns(self._now),
            self.throttled_until_ns,
        ]
        book = self.book
        if book.problem is None and book.last_book_ns is not None:
            times.append(book.last_book_ns + self.params.risk.stale_book_ns + 1)
        max_age = self.params.decide.max_order_age_ns
        for summary in self.orders.sides().values():
            if summary.newest is not None:
                times.append(summary.newest.sent_ns + max_age)
        due = [t for t in times if t is not None and t > self._now]
        return min(due) if due else None

    # ------------------------------------------------------------------------------ events
    def reconcile_now(self, now_ns: int) -> list[Command]:
        """A reconciliation now, unless one is out: before the first event (``start``: nothing is
        quoted until it is answered), and at shutdown once the last orders are gone (a fill the
        streams lost on an order we then cancelled is found only so)."""
        request = self.reconciler.request(now_ns, self._fills_since, now=True)
        return [request] if request is not None else []

    start = reconcile_now

    def _fills_since(self) -> int:
        """Fills that a reconciliation must fetch: since the last one we know of, or since the oldest live
        order was sent (an order of an earlier session may have filled while we were away)."""
        return min([self._last_fill_ns, *(o.sent_ns for o in self.table.live_orders())])

    def changes(self) -> tuple[list[Order], list[OwnFill]]:
        """The order snapshots and the fills that changed our state since the last call (or since the
        last ``on_event`` began): what the runner journals. Clears them."""
        orders, fills = self.table.changed, self.ledger.applied
        self.table.changed, self.ledger.applied = [], []
        return orders, fills

    def on_event(self, event: Event, now_ns: int) -> list[Command]:
        """Apply one event; return the commands to send now (possibly none)."""
        self.table.changed.clear()  # bounded without a runner (backtests): only this event's changes
        self.ledger.applied.clear()
        self._now = now_ns
        match event:
            case BookSnapshot():
                if self.book.on_book(event, now_ns):
                    self.quoter.on_book(event.ts_ns, self.book.mid, event.bids, event.asks)
                    self._mark(now_ns)
                else:
                    self.quoter.book_lost(event.ts_ns)
            case PublicTrade():
                if self.book.on_trade(event, now_ns) and self.book.trusted:
                    self.quoter.on_trade(event, self.book.mid)
                return []
            case OwnFill():
                self._on_fill(event, now_ns, expected=True)
            case OrderAccepted():
                self._order_event(self.table.on_ack, event, now_ns)
            case OrderCancelled():
                self._order_event(self.table.on_cancelled, event, now_ns)
            case OrderRejected():
                order = self._order_event(self.table.on_reject, event, now_ns)
                self.stats.rejects[event.reason] += 1
                if order is not None:
                    self.lockouts.on_reject(order.side, now_ns)
            case CancelRejected(reason="unknown_order"):
                # The venue has no open order with this id: it filled, was cancelled, or has not
                # arrived yet. It stays on its way out for us until a lookup says which.
                self.orders.look_up(event.client_order_id, now_ns)
            case CancelRejected():
                self._order_event(self.table.on_cancel_rejected, event, now_ns)
            case Connected() | Resynced():
                self.book.on_connected()
                self.reconciler.restart(now_ns)
            case Disconnected():
                self.book.on_disconnected()
                self.quoter.book_lost(event.ts_ns)
            case Throttled():
                self.stats.venue["throttled"] += 1
                self.throttled_until_ns = max(self.throttled_until_ns, event.until_ns)
            case PlaceUnknown():
                self.stats.venue["place_unknown"] += 1
                self.orders.on_place_unknown(event.client_order_id, now_ns)
            case CancelFailed():
                self.stats.venue["cancel_failed"] += 1
                self.orders.on_cancel_failed(event.client_order_id, now_ns)
            case OrderStatusResult():
                self.stats.venue["status_answers"] += 1
                self.orders.on_status(event.client_order_id, event.report, now_ns)
            case ReconcileResult():
                self._on_reconcile(event, now_ns)
            case Tick() | Heartbeat():
                pass
            case _:
                raise TypeError(f"not an event the core handles: {type(event).__name__}")
        return self._requote(now_ns)

    def _order_event(self, handler: Callable[[_E], Order], event: _E, now_ns: int) -> Order | None:
        try:
            order = handler(event)
        except OrderStateError:  # unknown id, or not what the order's state allows: the venue knows better
            self.stats.venue["unexpected_order_event"] += 1
            self.reconciler.soon(now_ns)
            return None
        self.orders.answered(order, now_ns)
        return order

    def _on_fill(self, fill: OwnFill, now_ns: int, *, expected: bool) -> None:
        """Apply a fill of ours (our tag) to the ledger once, then to the order table."""
        if not fill.client_order_id.startswith(self.params.execution.id_tag):
            self.stats.venue["foreign_fill"] += 1
            return
        if not self.ledger.apply(fill):
            self.stats.malformed["duplicate_fill"] += 1
            return
        self._last_fill_ns = max(self._last_fill_ns, fill.ts_ns)
        self.lockouts.on_fill(fill.side, now_ns)
        try:
            order = self.table.on_fill(fill)
        except OrderStateError:  # an order we thought ended, or never knew: the venue knows better
            self.stats.venue["unexpected_fill"] += 1
            if expected:
                self.reconciler.soon(now_ns)
        else:
            self.orders.answered(order, now_ns)
        self._mark(now_ns)

    def _mark(self, now_ns: int) -> None:
        """Mark PnL to the mid for the daily loss limit."""
        if self.book.mid == self.book.mid:  # known
            self.risk.on_pnl(self.pnl_quote(), now_ns)

    # ------------------------------------------------------------------------ reconciliation
    def _on_reconcile(self, event: ReconcileResult, now_ns: int) -> None:
        """Bring our state in line with the venue's report: missed fills applied once, unanswered
        orders it lists accepted, orphans adopted and cancelled, orders it does not list looked up."""
        if event.report is None:
            self.stats.venue["reconcile_failed"] += 1
            self.reconciler.failed(now_ns)
            return
        result = self.reconciler.compare(event.report, self.table, self.ledger, self.instrument, now_ns)
        self.stats.venue["reconciles"] += 1
        if result.bad_reports:
            self.stats.venue["bad_reports"] += result.bad_reports
        for fill in result.missed_fills:
            self.stats.venue["missed_fills"] += 1
            self._on_fill(fill, now_ns, expected=False)
        for o in result.accepted:
            self.orders.acknowledge(o.client_order_id, o, now_ns)
        for o in result.orphans:
            self.stats.venue["orphans"] += 1
            self.orders.adopt(o, now_ns)
            d = SideDecision(o.side, Action.CANCEL, Reason.ORPHAN, cancel_client_order_id=o.client_order_id)
            self._pending.append(self.orders.cancel(o.client_order_id, o.side, d, now_ns))
            self.stats.record(d, now_ns)
        for cid in result.lookups:
            self.orders.look_up(cid, now_ns)
        if result.mismatches:
            self.stats.venue["reconcile_mismatches"] += 1

    # ------------------------------------------------------------------------------ quoting
    def gate(self, now_ns: int) -> Reason | None:
        """The reason nothing may be quoted now, or None: the one place every gate is checked."""
        book = self.book
        if self.halted is not None:
            return self.halted
        if self.risk.kill_reason is not None:
            return Reason.KILL_SWITCH
        if book.problem is Reason.DISCONNECTED:
            return Reason.DISCONNECTED
        if now_ns < self.throttled_until_ns:
            return Reason.RATE_LIMITED
        if not self.reconciler.reconciled:
            return Reason.RECONCILING
        if self.reconciler.mismatches:
            return Reason.RECONCILE_MISMATCH
        if book.problem is not None:
            return book.problem
        assert book.last_book_ns is not None
        if now_ns - book.last_book_ns > self.params.risk.stale_book_ns:
            return Reason.STALE_BOOK
        if self.horizon.ended(now_ns):
            return Reason.HORIZON_END
        if not self.quoter.intensity_a_k(now_ns)[2]:
            return Reason.WARM_UP
        if self.quoter.needs_policy:
            return Reason.NO_POLICY
        return None

    def _requote(self, now_ns: int) -> list[Command]:
        out, self._pending = self._pending, []
        gate = self.gate(now_ns)
        sides = self.orders.sides()
        strays = self.orders.strays(sides, now_ns)  # cancelled before the decisions see the side
        for cancel in strays:
            self.stats.cancels_sent += 1
            self.stats.record(cancel.decision, now_ns)
            out.append(cancel)
        if strays:
            sides = self.orders.sides()
        quote = self._quote(now_ns) if gate is None else None
        mid = self.book.mid
        tolerance_ticks = mid * self._tolerance_per_mid if mid == mid else 0.0
        stop_quoting = gate is Reason.HORIZON_END and self.params.horizon.at_end == "stop_quoting"
        position = self.ledger.position_lots
        for side, summary in sides.items():
            if stop_quoting:
                decision = decide_stop_quoting(side, summary, self.params.decide, now_ns)
            else:
                if quote is None:
                    target = NO_TARGET
                else:  # the side's other live orders (e.g. one whose cancel is on the way) may still fill
                    resting = summary.newest
                    others = summary.exposure_lots - (resting.remaining_lots if resting is not None else 0)
                    target = self.quoter.target(quote, side, position, others)
                decision = decide_side(
                    side, target, summary, gate, self.lockouts, tolerance_ticks, self.params.decide, now_ns
                )
            out += self._apply(decision, summary.exposure_lots, now_ns)
        out += self._chase(now_ns)
        self._maybe_unwind(gate, now_ns, out)
        request = self.reconciler.request(now_ns, self._fills_since, now=self.orders.wants_reconcile)
        if request is not None:
            self.orders.wants_reconcile = False
            out.append(request)
        return out

    def _quote(self, now_ns: int) -> Quote:
        book = self.book
        assert book.best_bid is not None and book.best_ask is not None
        a, k, _ = self.quoter.intensity_a_k(now_ns)
        tau_s = self.quoter.tau_s(now_ns)
        return self.quoter.quote(
            book.mid, book.best_bid, book.best_ask, self.ledger.position_lots, a, k, tau_s
        )

    def _chase(self, now_ns: int) -> list[Command]:
        out = self.orders.timers(now_ns)
        for c in out:
            if isinstance(c, Cancel):
                self.stats.venue["cancel_retries"] += 1
                self.stats.cancels_sent += 1
                self.stats.record(c.decision, now_ns)  # cancel(cancel_retry): journaled as a decision too
            elif isinstance(c, QueryOrder):
                self.stats.venue["status_queries"] += 1
        return out

    def _apply(self, d: SideDecision, exposure_lots: int, now_ns: int) -> list[Command]:
        """Record decision ``d`` and emit its commands. ``exposure_lots``: the side's live lots before it."""
        action = d.action
        if action is Action.KEEP or action is Action.NOTHING:
            self.stats.record(d, now_ns)
            return []
        room = self.params.risk.max_position_lots - d.side * self.ledger.position_lots
        if action is Action.REPLACE and d.qty_lots + exposure_lots > room:
            # Both orders could fill before the cancel lands: cancel first, send after confirmation.
            d = SideDecision(
                d.side, Action.CANCEL, Reason.MAX_POSITION, cancel_client_order_id=d.cancel_client_order_id
            )
        self.stats.record(d, now_ns)
        if d.action is Action.CANCEL:
            self.stats.cancels_sent += 1
            return [self.orders.cancel(d.cancel_client_order_id, d.side, d, now_ns)]
        self.lockouts.on_order_sent(d.side, now_ns)
        self.stats.quotes_sent += 1
        if d.action is Action.SEND:
            return [self.orders.place(d.side, d.price_ticks, d.qty_lots, d, now_ns)]
        self.stats.cancels_sent += 1
        return list(self.orders.replace(d, now_ns))

    def _maybe_unwind(self, gate: Reason | None, now_ns: int, out: list[Command]) -> None:
        """Taker unwind: beyond the hard position limit, or flattening at the horizon's end."""
        hard = self.params.risk.hard_position_lots
        within = hard is None or abs(self.ledger.position_lots) <= hard
        if within and gate is not Reason.HORIZON_END:
            return  # the common case: nothing to unwind
        if gate not in (None, Reason.HORIZON_END, Reason.WARM_UP, Reason.NO_POLICY):
            return  # never take liquidity on a book we do not trust, or while stopping
        previous = self.table.get(self._unwind_cid) if self._unwind_cid else None
        if previous is not None and not previous.state.is_terminal:
            return  # the previous unwind is still working
        position = self.ledger.position_lots
        book = self.book
        unwind = self.risk.unwind(position, book.best_bid, book.best_ask)
        reason = Reason.HARD_POSITION
        if unwind is None and gate is Reason.HORIZON_END and self.params.horizon.at_end == "flatten":
            unwind, reason = flatten(position, book.best_bid, book.best_ask), Reason.HORIZON_END
        if unwind is None or self.lockouts.active(unwind.side, now_ns) is Reason.REJECT_LOCKOUT:
            return  # nothing to do, or the venue refused the last one: not again at its round-trip speed
        d = SideDecision(unwind.side, Action.SEND, reason, unwind.price_ticks, unwind.qty_lots)
        place = self.orders.place(unwind.side, unwind.price_ticks, unwind.qty_lots, d, now_ns, OrderType.IOC)
        self._unwind_cid = place.request.client_order_id
        self.stats.record(d, now_ns)
        out.append(place)
