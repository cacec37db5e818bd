"""One market's whole trading brain, sans-IO: venue events in, venue commands out.

``MarketCore.on_event(event, now_ns)`` takes every event the venue delivers (book snapshots, public
trades, our order acks/rejects/cancels/fills) plus timer ticks, updates the book view, estimators,
order table, position and risk state, and when it is time to quote runs the strategy pipeline and
``decide`` and returns the commands to send (``Place`` / ``Cancel``). It never awaits and never
reads a clock, so a backtest drives it in a tight loop with a virtual clock and makes exactly the
decisions a live run would on the same events. The runner (``runner.py``) is the only caller that
turns commands into awaited venue calls.

Order safety rules kept here:
- the order table learns about a place/cancel when the command is emitted (before it is sent);
- a replace whose old and new orders together could breach max position, should the old one
  fill before its cancel lands, is downgraded to a cancel: the new order follows once the cancel
  is confirmed;
- malformed market data (non-positive or unsorted levels, a crossed book, an old sequence
  number, a trade with a bad price) is dropped and counted, never traded on.

PnL is marked to market at the mid: ``cash_quote + position_base * mid`` where cash counts every
fill's notional and fee since the start of the run (or of the journal, on restart).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import TypeVar

from mm_bot.engine.core_types import (
    Cancel,
    Command,
    MarketParams,
    MarketStats,
    Place,
    Tick,
    trading_quote_params,
)
from mm_bot.engine.decide import LABELS, Resting, SideDecision, SideTarget, decide_side
from mm_bot.engine.horizon import HorizonState
from mm_bot.engine.ids import ClientOrderIds
from mm_bot.engine.lockouts import Lockouts
from mm_bot.engine.order_states import OrderState, OrderStateError, UnknownOrderId
from mm_bot.engine.orders import Order, OrderTable
from mm_bot.engine.reasons import (
    CANCEL,
    HARD_POSITION,
    HORIZON_END,
    KEEP,
    KILL_SWITCH,
    MAX_ORDER_AGE,
    MAX_POSITION,
    NO_BOOK,
    NOTHING,
    REPLACE,
    SEND,
    SHUTDOWN,
    STALE_BOOK,
    SUPERSEDED,
    WARM_UP,
    Reason,
)
from mm_bot.engine.risk import RiskState, Unwind
from mm_bot.model import (
    BUY,
    SELL,
    BookSnapshot,
    CancelRejected,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderRequest,
    OrderType,
    OwnFill,
    PublicTrade,
    Side,
    VenueEvent,
)
from mm_bot.strategy.estimators import EwmaVolatility, TradeIntensity
from mm_bot.strategy.glft import GlftDepthTable, exact_depth_table
from mm_bot.strategy.quote import Quote, QuoteInputs, compute_quote

_BPS = 1e-4

__all__ = [
    "Cancel",
    "Command",
    "MarketCore",
    "MarketParams",
    "MarketStats",
    "Place",
    "Tick",
    "trading_quote_params",
]


class MarketCore:
    memoize = True  # skip re-deciding when no input changed (tests switch it off to compare)

    def __init__(self, params: MarketParams, ids: ClientOrderIds, start_ns: int) -> None:
        self.params = params
        self.instrument = params.instrument
        self._tick = float(params.instrument.tick_size)
        self._lot = float(params.instrument.lot_size)
        self.ids = ids
        self.orders = OrderTable()
        self.lockouts = Lockouts(params.lockouts)
        self.risk = RiskState(params.risk)
        self.horizon = HorizonState(params.horizon, start_ns)
        self.vol = EwmaVolatility(params.volatility) if params.volatility is not None else None
        self.intensity = TradeIntensity(params.intensity, start_ns) if params.intensity is not None else None
        self.start_ns = start_ns
        self.stats = MarketStats()
        self.recent: deque[tuple[int, str, str]] = deque(maxlen=params.recent_decisions)
        # book view
        self.best_bid: int | None = None
        self.best_ask: int | None = None
        self.mid = math.nan
        self.last_book_ns: int | None = None
        self.last_seq = -1
        # position and PnL
        self.position_lots = 0
        self.cash_quote = 0.0
        self.fees_quote = 0.0
        self.last_quote: Quote | None = None
        self.kill_reason: str | None = None
        self._unwind_cid = ""
        self._last_label = {BUY: "", SELL: ""}
        self.last_fill_applied = False  # whether the last OwnFill changed anything (not a replay)
        self._check_strays = False
        quote_params, exact = trading_quote_params(params)
        self._exact_glft = quote_params if exact else None
        self._table: GlftDepthTable | None = None
        self._table_key: tuple[object, ...] = ()
        self._memo_key: _Inputs | None = None
        self._memo_labels: tuple[str, str] = ("", "")
        self._memo_now_ns = 0
        self._memo_orders: tuple[Order | None, Order | None] = (None, None)
        # The order table's per-side views, rebuilt only when the table changed (its version).
        self._views_version = -1
        self._views: tuple[_View, _View] = ((None, False, 0), (None, False, 0))
        self._resting_views: tuple[Resting | None, Resting | None] = (None, None)
        self._others = (0, 0)
        self.halted: Reason | None = None  # shutting down: cancel everything, send nothing
        # Derived state kept current by the events that change it, so a requote only reads it.
        self._sigma = params.sigma_prior
        self._sigma_floor, self._sigma_cap = params.sigma_floor, params.sigma_cap
        self._max_lots = params.risk.max_position_lots
        self._stale_ns = params.risk.stale_book_ns
        self._min_lots = params.instrument.min_qty_lots
        self._tolerance_per_mid = params.tolerance_bps * _BPS / self._tick
        self._horizon_ends = params.horizon.kind != "infinite"
        self._rolling_tau_s = params.horizon.tau_s  # tau while the horizon is infinite
        self._fixed_a_k = params.intensity_fixed
        self._order_type = params.order_type
        hard = params.risk.hard_position_lots
        self._hard_lots = hard if hard is not None else _NEVER
        self._may_unwind = hard is not None or (self._horizon_ends and params.horizon.at_end == "flatten")

    # ------------------------------------------------------------------------------ restore
    def restore(
        self, position_lots: int, cash_quote: float, fees_quote: float, volume_lots: int, fills: int
    ) -> None:
        """Continue a journaled run: position and PnL carry over a restart."""
        self.position_lots = position_lots
        self.cash_quote = cash_quote
        self.fees_quote = fees_quote
        self.stats.volume_lots = volume_lots
        self.stats.fills = fills
        self.stats.max_abs_position_lots = abs(position_lots)

    # ------------------------------------------------------------------------------- events
    def on_event(self, event: VenueEvent | Tick, now_ns: int) -> list[Command]:
        """Apply one event; return the commands to send now (possibly none)."""
        # Dispatched on the exact type, commonest first (the event types are final dataclasses): a
        # chain of isinstance() calls, here and again in OrderTable.apply, cost ~0.3 us per event
        # (``type(x) is C`` is specialised by CPython and narrowed by mypy).
        if type(event) is BookSnapshot:
            if not self._on_book(event, now_ns):
                return []
        elif type(event) is PublicTrade:
            self._on_trade(event, now_ns)
            return []
        elif type(event) is OrderAccepted:
            self._order_event(self.orders.on_ack, event)
        elif type(event) is OrderCancelled:
            self._order_event(self.orders.on_cancelled, event)
        elif type(event) is OwnFill:
            self._on_fill(event, now_ns)
        elif type(event) is OrderRejected:
            order = self._order_event(self.orders.on_reject, event)
            self.stats.rejects[event.reason] += 1
            if order is not None:
                self.lockouts.on_reject(order.side, now_ns)
        elif type(event) is CancelRejected:
            self._order_event(self.orders.on_cancel_rejected, event)
            # A refused cancel puts an older order back to live: it must be cancelled again.
            self._check_strays = True
        elif type(event) is not Tick:
            if isinstance(event, _DISPATCHED):  # a subclass would otherwise be dropped in silence
                raise TypeError(f"events are dispatched on their exact type, got {type(event).__name__}")
            return []  # a heartbeat: nothing to do
        return self._requote(now_ns)

    def _order_event(self, handler: Callable[[_E], Order], event: _E) -> Order | None:
        try:
            return handler(event)
        except UnknownOrderId:
            self.stats.malformed["unknown_order_event"] += 1
            return None
        except OrderStateError:
            self.stats.malformed["order_state"] += 1
            return None

    def _on_book(self, book: BookSnapshot, now_ns: int) -> bool:
        bids, asks = book.bids, book.asks
        if book.seq <= self.last_seq:
            self.stats.malformed["book_sequence"] += 1
            return False
        if not bids or not asks:
            # A real market state (a side swept empty), not bad data: no mid, so nothing to quote
            # on; counted apart from malformed data. If it lasts, the stale-book guard cancels.
            self.stats.one_sided_books += 1
            return False
        if not (_bids_ok(bids) and _asks_ok(asks)):
            self.stats.malformed["book_levels"] += 1
            return False
        if bids[0][0] >= asks[0][0]:
            self.stats.malformed["book_crossed"] += 1
            return False
        self.last_seq = book.seq
        best_bid = self.best_bid = bids[0][0]
        best_ask = self.best_ask = asks[0][0]
        mid = self.mid = (best_bid + best_ask) * 0.5 * self._tick
        ts_ns = self.last_book_ns = book.ts_ns
        self.stats.book_updates += 1
        vol = self.vol
        if vol is not None:
            vol.update(ts_ns, mid)
            if vol.is_warm:
                sigma = vol.sigma_price_per_sqrt_s()
                lo, hi = self._sigma_floor, self._sigma_cap  # a clamp without min()/max() calls
                self._sigma = lo if sigma < lo else hi if sigma > hi else sigma
        # PnL moved with the mid: the daily loss limit sees it (``_mark`` and ``risk.needs_pnl``, inlined).
        risk = self.risk
        pnl = self.cash_quote + self.position_lots * self._lot * mid
        if pnl <= risk.quiet_above or not risk.day_begin_ns <= now_ns < risk.day_end_ns:
            fired = risk.on_pnl(pnl, now_ns)
            if fired is not None:
                self.kill_reason = fired
        return True

    def _on_trade(self, trade: PublicTrade, now_ns: int) -> None:
        if trade.price_ticks <= 0 or trade.qty_lots <= 0:
            self.stats.malformed["trade"] += 1
            return
        self.stats.trades_seen += 1
        if self.intensity is not None and self.mid == self.mid:
            self.intensity.on_trade(
                trade.ts_ns, trade.price_ticks * self._tick, trade.qty_lots * self._lot, self.mid
            )

    def _on_fill(self, fill: OwnFill, now_ns: int) -> None:
        self.last_fill_applied = False
        orders = self.orders
        version = orders.version
        try:
            orders.on_fill(fill)
        except UnknownOrderId:
            self.stats.malformed["unknown_fill"] += 1
            return
        except OrderStateError:
            self.stats.malformed["order_state"] += 1
            return
        if orders.version == version:  # a replayed fill (same trade id): the table did not change
            self.stats.malformed["duplicate_fill"] += 1
            return
        self.last_fill_applied = True
        side, qty_lots = fill.side, fill.qty_lots
        position = self.position_lots = self.position_lots + side * qty_lots
        fee = fill.fee_quote
        self.cash_quote = self.cash_quote - side * fill.price_ticks * self._tick * qty_lots * self._lot - fee
        self.fees_quote += fee
        stats = self.stats
        stats.fills += 1
        stats.volume_lots += qty_lots
        if abs(position) > stats.max_abs_position_lots:
            stats.max_abs_position_lots = abs(position)
        self.lockouts.on_fill(side, now_ns)
        self._mark(now_ns)

    def _mark(self, now_ns: int) -> None:
        """Mark PnL to the mid for the daily loss limit; PnL moves only with the mid or a fill."""
        mid = self.mid
        if mid == mid:
            pnl = self.cash_quote + self.position_lots * self._lot * mid
            if self.risk.needs_pnl(pnl, now_ns):
                fired = self.risk.on_pnl(pnl, now_ns)
                if fired is not None:
                    self.kill_reason = fired

    # ------------------------------------------------------------------------------ quoting
    @property
    def position_base(self) -> float:
        return self.position_lots * self._lot

    def pnl_quote(self) -> float:
        if self.mid != self.mid:
            return self.cash_quote
        return self.cash_quote + self.position_base * self.mid

    def sigma(self) -> float:
        """sigma in price units per sqrt(s): the configured value until the EWMA estimate is warm,
        then the estimate clamped to [floor, cap] (refreshed on each book update)."""
        return self._sigma

    def intensity_a_k(self, now_ns: int) -> tuple[float, float, bool]:
        """(A, k, ready)."""
        if self.intensity is None:
            assert self._fixed_a_k is not None
            a, k = self._fixed_a_k
            return a, k, True
        cal = self.intensity.calibration(now_ns)
        return cal.A_per_s, cal.k_per_price, cal.ready

    def halt(self, reason: Reason = Reason.SHUTDOWN) -> None:
        """Stop quoting for good: from now on every decision cancels and nothing is sent."""
        self.halted = reason

    def _requote(self, now_ns: int) -> list[Command]:
        # This runs on every update: derived state is read from fields kept current by the events
        # (sigma, PnL, the order table's views), helpers are inlined where a call would cost more
        # than the work, and nothing is built that the update does not need.
        inputs = self._decision_inputs(now_ns)
        # When no input changed since the last evaluation, which sent nothing, and no time
        # threshold (lockout end, order age, stale book) was crossed, the decisions would be the
        # same again: count them and return without recomputing.
        if inputs == self._memo_key and self.memoize and now_ns < self._next_threshold_ns():
            counts = self.stats.decision_counts
            for label in self._memo_labels:
                counts[label] += 1
            return []
        quote, (bid_d, ask_d) = self._evaluate(inputs, now_ns)
        if quote is not None:
            self.last_quote = quote
        commands: list[Command] = []
        if self._check_strays:
            self._cancel_strays(now_ns, commands)
        buy_view, sell_view = self._views
        bid_label = self._apply(bid_d, buy_view[2], now_ns, commands)
        ask_label = self._apply(ask_d, sell_view[2], now_ns, commands)
        gate = inputs[0]
        if self._may_unwind and (abs(self.position_lots) > self._hard_lots or gate is HORIZON_END):
            self._maybe_unwind(gate, now_ns, commands)
        if commands:
            self._memo_key = None
        else:
            self._memo_key = inputs
            self._memo_labels = (bid_label, ask_label)
            self._memo_now_ns = now_ns
            self._memo_orders = (buy_view[0], sell_view[0])
        return commands

    def preview(self, now_ns: int) -> tuple[SideDecision, SideDecision]:
        """The decisions the core would take at ``now_ns`` on what it knows, with no effect on its
        state (nothing counted, sent or recorded). The runner calls it while the market is quiet
        to keep the decision path in the CPU caches."""
        return self._evaluate(self._decision_inputs(now_ns), now_ns)[1]

    def _decision_inputs(self, now_ns: int) -> _Inputs:
        """Everything a decision depends on besides time thresholds, as one comparable tuple."""
        if self.intensity is None:
            a, k = self._fixed_a_k  # type: ignore[misc]  # set whenever intensity is None
            ready = True
        else:
            cal = self.intensity.calibration(now_ns)
            a, k, ready = cal.A_per_s, cal.k_per_price, cal.ready
        # The reason nothing may be quoted now, if any: shutting down, a risk gate (kill switch,
        # no or stale book), the horizon's end, estimators still warming up.
        last_book_ns = self.last_book_ns
        if (
            self.halted is None
            and self.risk.kill_reason is None
            and last_book_ns is not None
            and now_ns - last_book_ns <= self._stale_ns
        ):
            gate = None  # ``risk.gate`` without the call: the common case, every gate open
        else:
            gate = self.halted or self.risk.gate(now_ns, last_book_ns)
        if gate is None:
            if self._horizon_ends and self.horizon.ended(now_ns):
                gate = HORIZON_END
            elif not ready:
                gate = WARM_UP
        return (
            gate,
            self.best_bid,
            self.best_ask,
            self.position_lots,
            self.orders.version,
            self._sigma,
            a,
            k,
            self.horizon.tau_s(now_ns) if self._horizon_ends else self._rolling_tau_s,
        )

    def _evaluate(
        self, inputs: _Inputs, now_ns: int
    ) -> tuple[Quote | None, tuple[SideDecision, SideDecision]]:
        """The quote (None when gated) and both sides' decisions for ``inputs``; changes no state
        other than the cached order-table views."""
        gate, best_bid, best_ask, position_lots, version, sigma, a, k, tau_s = inputs
        if version != self._views_version:
            orders = self.orders
            self._views_version = version
            views = self._views = orders.side_summaries()
            resting_bid, resting_ask = self._resting_views = _resting(views[0]), _resting(views[1])
            # Lots that other live orders on each side (e.g. one whose cancel is in flight) may fill.
            self._others = (
                views[0][2] - (resting_bid.remaining_lots if resting_bid is not None else 0),
                views[1][2] - (resting_ask.remaining_lots if resting_ask is not None else 0),
            )
        mid = self.mid
        quote = None
        if gate is None and best_bid is not None and best_ask is not None:
            # Recomputed on order events too, although only market inputs move it: reusing the last
            # quote there lowers p50 but leaves the quote code colder for the book update that
            # replaces both orders, and raises p99 (measured with bench/decide_bench.py).
            quote = self._quote(best_bid, best_ask, position_lots, sigma, a, k, tau_s)
            bid_ticks, ask_ticks, bid_size, ask_size, bid_allowed, ask_allowed, _, _, _ = quote
            others_bid, others_ask = self._others
            bid = self._target(BUY, bid_ticks, bid_size, bid_allowed, others_bid)
            ask = self._target(SELL, ask_ticks, ask_size, ask_allowed, others_ask)
        else:
            bid = ask = _NO_TARGET
        tolerance_ticks = mid * self._tolerance_per_mid if mid == mid else 0.0
        if gate is HORIZON_END and self.params.horizon.at_end == "stop_quoting":
            # Send nothing new; resting orders stay until they reach the maximum order age.
            decisions = (self._stop_quoting(BUY, now_ns), self._stop_quoting(SELL, now_ns))
        else:
            resting_bid, resting_ask = self._resting_views
            lockouts, params = self.lockouts, self.params.decide
            decisions = (  # decide(), without its wrapper call
                decide_side(BUY, bid, resting_bid, gate, lockouts, tolerance_ticks, params, now_ns),
                decide_side(SELL, ask, resting_ask, gate, lockouts, tolerance_ticks, params, now_ns),
            )
        return quote, decisions

    def _quote(
        self, best_bid: int, best_ask: int, position_lots: int, sigma: float, a: float, k: float, tau_s: float
    ) -> Quote:
        """The strategy's quote for these inputs: ``compute_quote``, the code the Z3 proofs cover."""
        position_base = position_lots * self._lot
        if self._exact_glft is None:
            qparams, bid_depth, ask_depth = self.params.quote, 0.0, 0.0
        else:
            qparams = self._exact_glft
            table = self._depth_table(sigma, a, k, tau_s)
            bid_depth, ask_depth = table.depths_at(position_base / qparams.order_size_base)
        tick = self._tick
        inputs = (
            self.mid,
            position_base,
            sigma,
            a,
            k,
            tau_s,
            best_bid * tick,
            best_ask * tick,
            bid_depth,
            ask_depth,
        )
        return compute_quote(_new(QuoteInputs, inputs), qparams)

    def _next_threshold_ns(self) -> int:
        """The first time after the memoised evaluation at which a decision could change with no new
        input: a lockout ending, a resting order reaching its maximum age, the book going stale.
        Computed only when the memo is consulted; every state it reads (lockouts, orders) changes
        only with an input that is part of the memo key, except the book time, which only moves
        the stale deadline later."""
        now_ns = self._memo_now_ns
        nxt = self.lockouts.next_deadline_ns(now_ns) or _NEVER
        max_age = self.params.decide.max_order_age_ns
        for order in self._memo_orders:
            if order is not None:
                t = order.sent_ns + max_age
                if now_ns < t < nxt:
                    nxt = t
        if self.last_book_ns is not None:
            t = self.last_book_ns + self.params.risk.stale_book_ns + 1
            if now_ns < t < nxt:
                nxt = t
        return nxt

    def _cancel_strays(self, now_ns: int, out: list[Command]) -> None:
        """Cancel live quote orders that are not their side's newest and not already being cancelled."""
        self._check_strays = False
        for side in (BUY, SELL):
            newest = self.orders.side_summary(side)[0]
            for order in self.orders.live_orders(side):
                if order is newest or order.state is OrderState.PENDING_CANCEL:
                    continue
                if order.request.order_type in _TAKER_TYPES:
                    continue  # an unwind IOC ends by itself
                d = SideDecision(side, CANCEL, SUPERSEDED, cancel_client_order_id=order.client_order_id)
                self.orders.on_cancel_request(order.client_order_id, now_ns)
                self.stats.cancels_sent += 1
                self.stats.decision_counts[d.label] += 1
                self.recent.append((now_ns, _SIDE_LABEL[side], d.label))
                out.append(Cancel(order.client_order_id, side, d))

    def _depth_table(self, sigma: float, a: float, k: float, tau_s: float) -> GlftDepthTable:
        """The exact GLFT depth table (session horizons), recomputed when tau moves by a second or
        sigma, A, k by more than their third significant digit (it costs ~0.3 ms)."""
        key = (int(tau_s), f"{sigma:.3g}", f"{a:.3g}", f"{k:.3g}")
        if self._table is None or key != self._table_key:
            p = self.params.quote
            q_max = max(1, int(p.max_position_base / p.order_size_base + 1e-9))
            self._table = exact_depth_table(q_max, p.gamma, sigma, a, k, tau_s)
            self._table_key = key
        return self._table

    def _stop_quoting(self, side: Side, now_ns: int) -> SideDecision:
        resting = _resting(self.orders.side_summary(side))
        if resting is None or resting.in_flight:
            return SideDecision(side, NOTHING, HORIZON_END)
        if now_ns - resting.created_ns >= self.params.decide.max_order_age_ns:
            return SideDecision(side, CANCEL, MAX_ORDER_AGE, cancel_client_order_id=resting.client_order_id)
        return SideDecision(side, KEEP, HORIZON_END)

    def _maybe_unwind(self, gate: Reason | None, now_ns: int, out: list[Command]) -> None:
        """Taker unwind: beyond the hard position limit, or flattening at the horizon's end."""
        if self.kill_reason is not None or gate in (
            STALE_BOOK,
            NO_BOOK,
            KILL_SWITCH,
            SHUTDOWN,
        ):
            return
        if (
            self._unwind_cid
            and self._unwind_cid in self.orders
            and self.orders.get(self._unwind_cid) in (self.orders.live_orders())
        ):
            return  # the previous unwind is still working
        unwind = self.risk.unwind(self.position_lots, self.best_bid, self.best_ask)
        reason = HARD_POSITION
        if unwind is None and gate is HORIZON_END and self.params.horizon.at_end == "flatten":
            reason = HORIZON_END
            if self.position_lots > 0 and self.best_bid is not None:
                unwind = Unwind(SELL, self.position_lots, self.best_bid)
            elif self.position_lots < 0 and self.best_ask is not None:
                unwind = Unwind(BUY, -self.position_lots, self.best_ask)
        if unwind is None:
            return
        d = SideDecision(unwind.side, SEND, reason, unwind.price_ticks, unwind.qty_lots)
        request = OrderRequest(
            self.ids.next_id(), unwind.side, unwind.price_ticks, unwind.qty_lots, OrderType.IOC
        )
        self.orders.on_send(request, now_ns)
        self._unwind_cid = request.client_order_id
        self.stats.decision_counts[d.label] += 1
        self.recent.append((now_ns, unwind.side.label, d.label))
        out.append(Place(request, d))

    def _target(
        self, side: Side, ticks: int, size_base: float, allowed: bool, others_lots: int
    ) -> SideTarget:
        """The quote's order on ``side`` in lots, shrunk to the room left under max position by the
        position and ``others_lots`` (the side's other live orders, which may still fill)."""
        lots = int(size_base / self._lot + 1e-9)
        room = self._max_lots - side * self.position_lots - others_lots
        if room < lots:
            lots = room
        if not allowed or lots < self._min_lots or ticks <= 0:
            return _new(SideTarget, (ticks, 0, MAX_POSITION))
        return _new(SideTarget, (ticks, lots, None))

    def _apply(self, d: SideDecision, exposure_lots: int, now_ns: int, out: list[Command]) -> str:
        """Record decision ``d`` and emit its commands; returns the label counted. ``exposure_lots``: the
        side's live lots before it."""
        side, action, reason, price_ticks, qty_lots, cid = d  # unpacked: see decide_side
        if action is REPLACE and qty_lots + exposure_lots > self._max_lots - side * self.position_lots:
            # Both orders could fill before the cancel lands: cancel first, send after confirmation.
            d = _new(SideDecision, (side, CANCEL, MAX_POSITION, 0, 0, cid))
            action, reason = CANCEL, MAX_POSITION
        label = LABELS[action][reason]
        stats = self.stats
        stats.decision_counts[label] += 1
        if action is KEEP or action is NOTHING:
            # Repeated keeps are not news for the "recent decisions" view; changes are.
            if self._last_label[side] != label:
                self._last_label[side] = label
                self.recent.append((now_ns, _SIDE_LABEL[side], label))
            return label
        self._last_label[side] = label
        self.recent.append((now_ns, _SIDE_LABEL[side], label))
        if action is SEND:
            request = _new(OrderRequest, (self.ids.next_id(), side, price_ticks, qty_lots, self._order_type))
            self.orders.on_send(request, now_ns)
        else:
            stats.cancels_sent += 1
            if action is CANCEL:
                self.orders.on_cancel_request(cid, now_ns)
                out.append(_new(Cancel, (cid, side, d)))
                return label
            request = _new(OrderRequest, (self.ids.next_id(), side, price_ticks, qty_lots, self._order_type))
            self.orders.on_replace(cid, request, now_ns)  # the cancel and the send as one table change
            out.append(_new(Cancel, (cid, side, d)))
        self.lockouts.on_order_sent(side, now_ns)
        stats.quotes_sent += 1
        out.append(_new(Place, (request, d)))
        return label

    def cancel_all(self, now_ns: int) -> list[Command]:
        """Cancel every live order that is not already being cancelled (shutdown, kill switch)."""
        out: list[Command] = []
        for order in self.orders.live_orders():
            if order.state is OrderState.PENDING_CANCEL:
                continue
            d = SideDecision(order.side, CANCEL, KILL_SWITCH, cancel_client_order_id=order.client_order_id)
            self.orders.on_cancel_request(order.client_order_id, now_ns)
            self.stats.cancels_sent += 1
            out.append(Cancel(order.client_order_id, order.side, d))
        return out


_NO_TARGET = SideTarget(0, 0)

# NamedTuple(...) runs a Python-level __new__ (~220 ns); tuple.__new__ builds the same immutable
# value in ~100 ns. Used where a value is built on every update; every field is passed (no defaults).
_new = tuple.__new__
_NEVER = 1 << 62
_DISPATCHED = (
    BookSnapshot,
    PublicTrade,
    OrderAccepted,
    OrderCancelled,
    OwnFill,
    OrderRejected,
    CancelRejected,
    Tick,
)
_TAKER_TYPES = (OrderType.IOC, OrderType.MARKET)  # a tuple: OrderType's hash is a Python-level call
_SIDE_LABEL = {BUY: "bid", SELL: "ask"}


_E = TypeVar("_E", OrderAccepted, OrderRejected, OrderCancelled, CancelRejected)
_View = tuple[Order | None, bool, int]
# gate, best bid, best ask, position (lots), order table version, sigma, A, k, tau (s)
_Inputs = tuple[
    Reason | None, int | None, int | None, int, int, float, float, float, float
]  # OrderTable.side_summary: newest quote, in flight, exposure


def _resting(view: _View) -> Resting | None:
    order, in_flight, _ = view
    if order is None:
        return None
    request = order.request
    return _new(  # Resting(...), without NamedTuple's Python-level __new__
        Resting,
        (
            request.client_order_id,
            request.price_ticks,
            request.qty_lots - order.filled_lots,
            order.sent_ns,
            in_flight,
        ),
    )


# Plain loops, one per side (no per-level branch on the direction): at ~7 levels a side they are
# 4x cheaper than zip/map/all (measured).
def _bids_ok(levels: tuple[tuple[int, int], ...]) -> bool:
    """Positive prices and quantities, prices strictly descending."""
    prev = levels[0][0] + 1
    for price, qty in levels:
        if price >= prev or price <= 0 or qty <= 0:
            return False
        prev = price
    return True


def _asks_ok(levels: tuple[tuple[int, int], ...]) -> bool:
    """Positive prices and quantities, prices strictly ascending."""
    prev = 0
    for price, qty in levels:
        if price <= prev or qty <= 0:
            return False
        prev = price
    return True
