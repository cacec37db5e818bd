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

from mm_bot.engine.core_types import (
    Cancel,
    Command,
    MarketParams,
    MarketStats,
    Place,
    Tick,
    trading_quote_params,
)
from mm_bot.engine.decide import Resting, SideDecision, SideTarget, decide
from mm_bot.engine.horizon import HorizonState
from mm_bot.engine.lockouts import Lockouts
from mm_bot.engine.orders import ClientOrderIds, Order, OrderState, OrderStateError, OrderTable
from mm_bot.engine.reasons import Action, Reason
from mm_bot.engine.risk import RiskState, Unwind
from mm_bot.model import (
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
        self._last_label = {Side.BUY: "", Side.SELL: ""}
        self.last_fill_applied = False  # whether the last OwnFill changed anything (not a replay)
        self._check_strays = False
        quote_params, exact = trading_quote_params(params)
        self._exact_glft = quote_params if exact else None
        self._table: GlftDepthTable | None = None
        self._table_key: tuple[object, ...] = ()
        self._memo_key: tuple[object, ...] | None = None
        self._memo_labels: tuple[str, str] = ("", "")
        self._memo_until_ns = 0
        self.halted: Reason | None = None  # shutting down: cancel everything, send nothing

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
        if isinstance(event, BookSnapshot):
            if not self._on_book(event):
                return []
            return self._requote(now_ns)
        if isinstance(event, PublicTrade):
            self._on_trade(event, now_ns)
            return []
        if isinstance(event, Tick):
            return self._requote(now_ns)
        if isinstance(event, OwnFill):
            self._on_fill(event, now_ns)
        elif isinstance(event, OrderAccepted):
            self._order_event(event)
        elif isinstance(event, OrderRejected):
            order = self._order_event(event)
            self.stats.rejects[event.reason] += 1
            if order is not None:
                self.lockouts.on_reject(order.side, now_ns)
        elif isinstance(event, OrderCancelled | CancelRejected):
            self._order_event(event)
            # A refused cancel puts an older order back to live: it must be cancelled again.
            self._check_strays = self._check_strays or isinstance(event, CancelRejected)
        else:
            return []
        return self._requote(now_ns)

    def _order_event(
        self, event: OrderAccepted | OrderRejected | OrderCancelled | CancelRejected
    ) -> Order | None:
        if event.client_order_id not in self.orders:
            self.stats.malformed["unknown_order_event"] += 1
            return None
        try:
            return self.orders.apply(event)
        except OrderStateError:
            self.stats.malformed["order_state"] += 1
            return None

    def _on_book(self, book: BookSnapshot) -> bool:
        bids, asks = book.bids, book.asks
        if book.seq <= self.last_seq:
            self.stats.malformed["book_sequence"] += 1
            return False
        if not bids or not asks:
            # A real market state (a side swept empty), not bad data: no mid, so nothing to quote
            # on; counted apart from malformed data. If it lasts, the stale-book guard cancels.
            self.stats.one_sided_books += 1
            return False
        if not (_levels_ok(bids, descending=True) and _levels_ok(asks, descending=False)):
            self.stats.malformed["book_levels"] += 1
            return False
        if bids[0][0] >= asks[0][0]:
            self.stats.malformed["book_crossed"] += 1
            return False
        self.last_seq = book.seq
        self.best_bid, self.best_ask = bids[0][0], asks[0][0]
        self.mid = (self.best_bid + self.best_ask) * 0.5 * self._tick
        self.last_book_ns = book.ts_ns
        self.stats.book_updates += 1
        if self.vol is not None:
            self.vol.update(book.ts_ns, self.mid)
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
        before = self.orders.get(fill.client_order_id)
        if before is None:
            self.stats.malformed["unknown_fill"] += 1
            return
        try:
            after = self.orders.on_fill(fill)
        except OrderStateError:
            self.stats.malformed["order_state"] += 1
            return
        if after.filled_lots == before.filled_lots:  # a replayed fill (same trade id): already counted
            self.stats.malformed["duplicate_fill"] += 1
            return
        self.last_fill_applied = True
        side = fill.side
        self.position_lots += side * fill.qty_lots
        self.cash_quote -= side * fill.price_ticks * self._tick * fill.qty_lots * self._lot
        self.cash_quote -= fill.fee_quote
        self.fees_quote += fill.fee_quote
        self.stats.fills += 1
        self.stats.volume_lots += fill.qty_lots
        self.stats.max_abs_position_lots = max(self.stats.max_abs_position_lots, abs(self.position_lots))
        self.lockouts.on_fill(side, now_ns)

    # ------------------------------------------------------------------------------ quoting
    @property
    def position_base(self) -> float:
        return self.position_lots * self._lot

    def pnl_quote(self) -> float:
        if self.mid != self.mid:
            return self.cash_quote
        return self.cash_quote + self.position_base * self.mid

    def sigma(self) -> float:
        """sigma in price units per sqrt(s): the configured value until the EWMA estimate is warm."""
        if self.vol is None or not self.vol.is_warm:
            return self.params.sigma_prior
        raw = self.vol.sigma_price_per_sqrt_s()
        return min(max(raw, self.params.sigma_floor), self.params.sigma_cap)

    def intensity_a_k(self, now_ns: int) -> tuple[float, float, bool]:
        """(A, k, ready)."""
        if self.intensity is None:
            assert self.params.intensity_fixed is not None
            a, k = self.params.intensity_fixed
            return a, k, True
        cal = self.intensity.calibration(now_ns)
        return cal.A_per_s, cal.k_per_price, cal.ready

    def halt(self, reason: Reason = Reason.SHUTDOWN) -> None:
        """Stop quoting for good: from now on every decision cancels and nothing is sent."""
        self.halted = reason

    def _gate(self, now_ns: int, intensity_ready: bool) -> Reason | None:
        if self.halted is not None:
            return self.halted
        gate = self.risk.gate(now_ns, self.last_book_ns)
        if gate is not None:
            return gate
        if self.horizon.ended(now_ns):
            return Reason.HORIZON_END
        if not intensity_ready:
            return Reason.WARM_UP
        return None

    def _requote(self, now_ns: int) -> list[Command]:
        a, k, ready = self.intensity_a_k(now_ns)
        if self.mid == self.mid:
            fired = self.risk.on_pnl(self.pnl_quote(), now_ns)
            if fired is not None:
                self.kill_reason = fired
        gate = self._gate(now_ns, ready)
        sigma = self.sigma()
        tau_s = self.horizon.tau_s(now_ns)
        # Every input of the decisions below. When none changed since the last evaluation, which
        # sent nothing, and no time threshold (lockout end, order age, stale book) was crossed, the
        # decisions would be the same again: count them and return without recomputing.
        key = (
            gate,
            self.best_bid,
            self.best_ask,
            self.position_lots,
            self.orders.version,
            sigma,
            a,
            k,
            tau_s,
        )
        if self.memoize and key == self._memo_key and now_ns < self._memo_until_ns:
            counts = self.stats.decision_reasons
            for label in self._memo_labels:
                counts[label] += 1
            return []
        buy_view = self.orders.side_summary(Side.BUY)
        sell_view = self.orders.side_summary(Side.SELL)
        if gate is None and self.best_bid is not None and self.best_ask is not None:
            qparams, bid_depth, ask_depth = self.params.quote, 0.0, 0.0
            if self._exact_glft is not None:
                qparams = self._exact_glft
                table = self._depth_table(sigma, a, k, tau_s)
                bid_depth, ask_depth = table.depths_at(self.position_base / qparams.order_size_base)
            quote = compute_quote(
                QuoteInputs(
                    mid=self.mid,
                    inventory_base=self.position_base,
                    sigma=sigma,
                    A=a,
                    k=k,
                    tau_s=tau_s,
                    best_bid=self.best_bid * self._tick,
                    best_ask=self.best_ask * self._tick,
                    bid_depth=bid_depth,
                    ask_depth=ask_depth,
                ),
                qparams,
            )
            self.last_quote = quote
            bid = self._target(Side.BUY, quote.bid_ticks, quote.bid_size_base, quote.bid_allowed, buy_view)
            ask = self._target(Side.SELL, quote.ask_ticks, quote.ask_size_base, quote.ask_allowed, sell_view)
        else:
            bid = ask = _NO_TARGET
        tolerance_ticks = (
            self.mid * self.params.tolerance_bps * _BPS / self._tick if self.mid == self.mid else 0.0
        )
        if gate is Reason.HORIZON_END and self.params.horizon.at_end == "stop_quoting":
            # Send nothing new; resting orders stay until they reach the maximum order age.
            decisions = tuple(self._stop_quoting(side, now_ns) for side in (Side.BUY, Side.SELL))
        else:
            decisions = decide(
                bid,
                ask,
                _resting(buy_view),
                _resting(sell_view),
                gate,
                self.lockouts,
                tolerance_ticks,
                self.params.decide,
                now_ns,
            )
        commands: list[Command] = []
        if self._check_strays:
            self._cancel_strays(now_ns, commands)
        for d in decisions:
            self._apply(d, now_ns, commands)
        self._maybe_unwind(gate, now_ns, commands)
        if commands:
            self._memo_key = None
        else:
            self._memo_key = key
            self._memo_labels = (decisions[0].label, decisions[1].label)
            self._memo_until_ns = self._next_threshold_ns(now_ns, buy_view[0], sell_view[0])
        return commands

    def _next_threshold_ns(self, now_ns: int, bid: Order | None, ask: Order | None) -> int:
        """The first time after ``now_ns`` at which a decision could change with no new input."""
        times = [self.lockouts.next_change_ns(side, now_ns) for side in (Side.BUY, Side.SELL)]
        max_age = self.params.decide.max_order_age_ns
        times += [o.sent_ns + max_age for o in (bid, ask) if o is not None]
        if self.last_book_ns is not None:
            times.append(self.last_book_ns + self.params.risk.stale_book_ns + 1)
        later = [t for t in times if t > now_ns]
        return min(later) if later else _NEVER

    def _cancel_strays(self, now_ns: int, out: list[Command]) -> None:
        """Cancel live quote orders that are not their side's newest and not already being cancelled."""
        self._check_strays = False
        for side in (Side.BUY, Side.SELL):
            newest = self.orders.side_summary(side)[0]
            for order in self.orders.live_orders(side):
                if order is newest or order.state is OrderState.PENDING_CANCEL:
                    continue
                if order.request.order_type in _TAKER_TYPES:
                    continue  # an unwind IOC ends by itself
                d = SideDecision(
                    side, Action.CANCEL, Reason.SUPERSEDED, cancel_client_order_id=order.client_order_id
                )
                self.orders.on_cancel_request(order.client_order_id, now_ns)
                self.stats.cancels_sent += 1
                self.stats.decision_reasons[d.label] += 1
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
            return SideDecision(side, Action.NOTHING, Reason.HORIZON_END)
        if now_ns - resting.created_ns >= self.params.decide.max_order_age_ns:
            return SideDecision(
                side, Action.CANCEL, Reason.MAX_ORDER_AGE, cancel_client_order_id=resting.client_order_id
            )
        return SideDecision(side, Action.KEEP, Reason.HORIZON_END)

    def _maybe_unwind(self, gate: Reason | None, now_ns: int, out: list[Command]) -> None:
        """Taker unwind: beyond the hard position limit, or flattening at the horizon's end."""
        if self.kill_reason is not None or gate in (
            Reason.STALE_BOOK,
            Reason.NO_BOOK,
            Reason.KILL_SWITCH,
            Reason.SHUTDOWN,
        ):
            return
        if (
            self._unwind_cid
            and self._unwind_cid in self.orders
            and self.orders.get(self._unwind_cid) in (self.orders.live_orders())
        ):
            return  # the previous unwind is still working
        unwind = self.risk.unwind(self.position_lots, self.best_bid, self.best_ask)
        reason = Reason.HARD_POSITION
        if unwind is None and gate is Reason.HORIZON_END and self.params.horizon.at_end == "flatten":
            reason = Reason.HORIZON_END
            if self.position_lots > 0 and self.best_bid is not None:
                unwind = Unwind(Side.SELL, self.position_lots, self.best_bid)
            elif self.position_lots < 0 and self.best_ask is not None:
                unwind = Unwind(Side.BUY, -self.position_lots, self.best_ask)
        if unwind is None:
            return
        d = SideDecision(unwind.side, Action.SEND, reason, unwind.price_ticks, unwind.qty_lots)
        request = OrderRequest(
            self.ids.next_id(), unwind.side, unwind.price_ticks, unwind.qty_lots, OrderType.IOC
        )
        self.orders.on_send(request, now_ns)
        self._unwind_cid = request.client_order_id
        self.stats.decision_reasons[d.label] += 1
        self.recent.append((now_ns, unwind.side.label, d.label))
        out.append(Place(request, d))

    def _target(
        self, side: Side, ticks: int, size_base: float, allowed: bool, view: tuple[Order | None, bool, int]
    ) -> SideTarget:
        resting, _, exposure = view
        lots = int(size_base / self._lot + 1e-9)
        # Other live orders on this side (e.g. one whose cancel is in flight) may still fill.
        others = exposure - (resting.remaining_lots if resting is not None else 0)
        lots = min(lots, self._room_lots(side) - others)
        if not allowed or lots < self.instrument.min_qty_lots or ticks <= 0:
            return SideTarget(ticks, 0, Reason.MAX_POSITION)
        return SideTarget(ticks, lots)

    def _room_lots(self, side: Side) -> int:
        max_lots = self.params.risk.max_position_lots
        return max_lots - side * self.position_lots

    def _apply(self, d: SideDecision, now_ns: int, out: list[Command]) -> None:
        if d.action is Action.REPLACE and d.qty_lots + self.orders.exposure_lots(d.side) > self._room_lots(
            d.side
        ):
            # Both orders could fill before the cancel lands: cancel first, send after confirmation.
            d = SideDecision(
                d.side, Action.CANCEL, Reason.MAX_POSITION, cancel_client_order_id=d.cancel_client_order_id
            )
        label = d.label
        self.stats.decision_reasons[label] += 1
        side_label = _SIDE_LABEL[d.side]
        if d.action is Action.KEEP or d.action is Action.NOTHING:
            # Repeated keeps are not news for the "recent decisions" view; changes are.
            last = self._last_label[d.side]
            if last != label:
                self._last_label[d.side] = label
                self.recent.append((now_ns, side_label, label))
            return
        self._last_label[d.side] = label
        self.recent.append((now_ns, side_label, label))
        if d.action is Action.CANCEL or d.action is Action.REPLACE:
            self.orders.on_cancel_request(d.cancel_client_order_id, now_ns)
            self.stats.cancels_sent += 1
            out.append(Cancel(d.cancel_client_order_id, d.side, d))
        if d.action is Action.SEND or d.action is Action.REPLACE:
            request = OrderRequest(
                self.ids.next_id(), d.side, d.price_ticks, d.qty_lots, self.params.order_type
            )
            self.orders.on_send(request, now_ns)
            self.lockouts.on_order_sent(d.side, now_ns)
            self.stats.quotes_sent += 1
            out.append(Place(request, d))

    def cancel_all(self, now_ns: int) -> list[Command]:
        """Cancel every live order that is not already being cancelled (shutdown, kill switch)."""
        out: list[Command] = []
        for order in self.orders.live_orders():
            if order.state is OrderState.PENDING_CANCEL:
                continue
            d = SideDecision(
                order.side, Action.CANCEL, Reason.KILL_SWITCH, cancel_client_order_id=order.client_order_id
            )
            self.orders.on_cancel_request(order.client_order_id, now_ns)
            self.stats.cancels_sent += 1
            out.append(Cancel(order.client_order_id, order.side, d))
        return out


_NO_TARGET = SideTarget(0, 0)
_NEVER = 1 << 62
_TAKER_TYPES = frozenset({OrderType.IOC, OrderType.MARKET})
_SIDE_LABEL = {Side.BUY: "bid", Side.SELL: "ask"}


def _resting(view: tuple[Order | None, bool, int]) -> Resting | None:
    order, in_flight, _ = view
    if order is None:
        return None
    return Resting(
        order.client_order_id, order.request.price_ticks, order.remaining_lots, order.sent_ns, in_flight
    )


def _levels_ok(levels: tuple[tuple[int, int], ...], descending: bool) -> bool:
    prev = None
    for price, qty in levels:
        if price <= 0 or qty <= 0:
            return False
        if prev is not None and (price >= prev if descending else price <= prev):
            return False
        prev = price
    return True
