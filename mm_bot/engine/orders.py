"""The order table: our own orders by client order id, each an immutable snapshot (sans-IO).

Every venue event goes through the lifecycle's transition table (``mm_bot.engine.order_states``, which
also describes the races it accepts); an event that does not fit raises ``OrderStateError`` and leaves
the order unchanged. Reconciliation, where the venue's word overrides our table, has its own two
operations: ``adopt`` (an order of ours the venue holds that we were not tracking) and ``resolve`` (the
venue says how a live order ended).

Exposure counts an order's remaining lots as fillable until the venue says it is gone, including
``PENDING_NEW`` and ``PENDING_CANCEL``. Fills carrying a ``trade_id`` are deduplicated per order (a
replayed fill after a reconnect is a no-op). Terminal orders move to a bounded history.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

from mm_bot.engine.ids import ClientOrderIds, base36, run_prefix
from mm_bot.engine.order_states import (
    IN_FLIGHT_STATES,
    INITIAL_STATE,
    RESUME,
    TERMINAL_STATES,
    TRANSITIONS,
    OrderEventKind,
    OrderState,
    OrderStateError,
    Resume,
    UnknownOrderId,
    next_state,
    resume_state,
)
from mm_bot.model import (
    CancelRejected,
    OpenOrder,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderRequest,
    OrderType,
    OwnFill,
    Side,
)

__all__ = [
    "INITIAL_STATE",
    "IN_FLIGHT_STATES",
    "RESUME",
    "TAKER_TYPES",
    "TERMINAL_STATES",
    "TRANSITIONS",
    "ClientOrderIds",
    "Order",
    "OrderEventKind",
    "OrderState",
    "OrderStateError",
    "OrderTable",
    "Resume",
    "SideSummary",
    "UnknownOrderId",
    "base36",
    "resume_state",
    "run_prefix",
]

S, E = OrderState, OrderEventKind
TAKER_TYPES = frozenset({OrderType.IOC, OrderType.MARKET})  # orders that end by themselves: not quotes


class Order(NamedTuple):
    """One order as we know it; each event produces a new snapshot (``_replace``: a NamedTuple, as
    immutable as a frozen dataclass and a third of its cost to copy, which every order event does).

    ``accepted_ns`` is the ack's receive time, or the first fill's if that came first.
    ``fill_notional`` is the sum of price_ticks * qty_lots over the fills (exact, for the average).
    """

    request: OrderRequest
    state: OrderState
    sent_ns: int
    updated_ns: int
    accepted_ns: int | None = None
    cancel_requested_ns: int | None = None
    cancels_in_flight: int = 0
    filled_lots: int = 0
    fill_notional: int = 0
    fees_quote: float = 0.0
    trade_ids: frozenset[str] = frozenset()
    reason: str = ""  # the venue's last reject or cancel reason, or how reconciliation ended it

    @property
    def client_order_id(self) -> str:
        return self.request.client_order_id

    @property
    def side(self) -> Side:
        return self.request.side

    @property
    def is_quote(self) -> bool:
        """A resting quote (limit or post-only), as opposed to a taker order that ends by itself."""
        return self.request.order_type not in TAKER_TYPES

    @property
    def remaining_lots(self) -> int:
        return self.request.qty_lots - self.filled_lots

    @property
    def open_lots(self) -> int:
        """Lots that can still fill: the remaining quantity until the venue says the order is gone."""
        return 0 if self.state.is_terminal else self.remaining_lots

    @property
    def in_flight(self) -> bool:
        return self.state in IN_FLIGHT_STATES

    @property
    def accepted(self) -> bool:
        return self.accepted_ns is not None

    @property
    def avg_fill_price_ticks(self) -> float | None:
        return self.fill_notional / self.filled_lots if self.filled_lots else None

    def age_ns(self, now_ns: int) -> int:
        """Time since the order was sent."""
        return now_ns - self.sent_ns


class SideSummary(NamedTuple):
    """One side for the quoting logic: its newest live quote, whether any quote there awaits the venue,
    and the exposure of every live order on the side (taker orders included: they may still fill)."""

    newest: Order | None
    in_flight: bool
    exposure_lots: int
    quotes: int = 0  # live quote orders on the side: more than one means older ones to cancel


class OrderTable:
    """Our orders by client order id: live ones, plus the last ``history`` terminal ones.

    Live orders are never terminal and history holds only terminal ones, so an event whose order is not
    live is a late duplicate (absorbed or refused, ``_settled``) except a late partial fill.
    """

    def __init__(self, history: int = 1000) -> None:
        self._live: dict[str, Order] = {}
        self._done: OrderedDict[str, Order] = OrderedDict()
        self._history = history
        self.version = 0  # bumped on every change
        self.changed: list[Order] = []  # snapshots stored since the owner last cleared it (for the journal)

    # ------------------------------------------------------------------ our requests
    def on_send(self, request: OrderRequest, now_ns: int) -> Order:
        order = self._sent(request, now_ns)
        self._store(order)
        return order

    def on_cancel_request(self, client_order_id: str, now_ns: int) -> Order:
        return self._store(self._cancel_requested(client_order_id, now_ns))

    def on_replace(self, old_client_order_id: str, request: OrderRequest, now_ns: int) -> Order:
        """``on_cancel_request(old_client_order_id)`` then ``on_send(request)`` as one change: both are
        checked before either is applied, so an error leaves the table unchanged. Returns the new order."""
        cancelling = self._cancel_requested(old_client_order_id, now_ns)
        order = self._sent(request, now_ns)
        self._store(cancelling)
        self._store(order)
        self.version -= 1  # one change
        return order

    # ------------------------------------------------------------------ venue events
    def on_ack(self, event: OrderAccepted) -> Order:
        order = self._live.get(event.client_order_id)
        if order is None:
            return self._settled(event.client_order_id, E.ACK)  # a late ack, absorbed
        accepted_ns = event.ts_ns if order.accepted_ns is None else order.accepted_ns
        state = next_state(order, E.ACK)
        return self._store(order._replace(state=state, updated_ns=event.ts_ns, accepted_ns=accepted_ns))

    def on_reject(self, event: OrderRejected) -> Order:
        cid = event.client_order_id
        order = self._live.get(cid)
        if order is None:
            return self._settled(cid, E.REJECT)  # duplicate, absorbed
        state = next_state(order, E.REJECT)
        if order.accepted:
            raise OrderStateError(cid, order.state, E.REJECT.value, "already accepted")
        return self._store(order._replace(state=state, updated_ns=event.ts_ns, reason=event.reason))

    def on_fill(self, fill: OwnFill) -> Order:
        cid = fill.client_order_id
        order = self._live.get(cid) or self._done.get(cid)  # a late partial fill may trail the cancel
        if order is None:
            raise UnknownOrderId(cid, None, E.FILL.value, "no live or recent order has this id")
        if fill.trade_id and fill.trade_id in order.trade_ids:
            return order  # replayed fill
        kind = E.FINAL_FILL if fill.qty_lots >= order.remaining_lots else E.FILL
        state = next_state(order, kind)
        problem = _fill_problem(order, fill)
        if problem:
            raise OrderStateError(cid, order.state, kind.value, problem)
        filled = order._replace(
            state=state,
            updated_ns=fill.ts_ns,
            accepted_ns=fill.ts_ns if order.accepted_ns is None else order.accepted_ns,
            filled_lots=order.filled_lots + fill.qty_lots,
            fill_notional=order.fill_notional + fill.price_ticks * fill.qty_lots,
            fees_quote=order.fees_quote + fill.fee_quote,
            trade_ids=order.trade_ids | {fill.trade_id} if fill.trade_id else order.trade_ids,
        )
        return self._store(filled)

    def on_cancelled(self, event: OrderCancelled) -> Order:
        order = self._live.get(event.client_order_id)
        if order is None:
            return self._settled(event.client_order_id, E.CANCELLED)  # duplicate, absorbed
        state = next_state(order, E.CANCELLED)
        cancelled = order._replace(
            state=state, updated_ns=event.ts_ns, cancels_in_flight=0, reason=event.reason
        )
        return self._store(cancelled)

    def on_cancel_rejected(self, event: CancelRejected) -> Order:
        order = self._live.get(event.client_order_id)
        if order is None:
            return self._settled(event.client_order_id, E.CANCEL_REJECTED)  # lost the race, absorbed
        state = next_state(order, E.CANCEL_REJECTED)
        in_flight = order.cancels_in_flight - 1
        if in_flight > 0:
            state = S.PENDING_CANCEL  # a re-sent cancel is still unanswered
        answered = order._replace(
            state=state, updated_ns=event.ts_ns, cancels_in_flight=in_flight, reason=event.reason
        )
        return self._store(answered)

    # ------------------------------------------------------------------ reconciliation
    def adopt(self, report: OpenOrder, order_type: OrderType, now_ns: int) -> Order:
        """Track an order of ours that the venue holds open but our table does not have live (a crashed
        session's, or one we had concluded never took effect): live again, as the venue reports it."""
        cid = report.client_order_id
        was_live = cid in self._live
        known = self._live.get(cid) or self._done.pop(cid, None)
        # The venue's count may lag fills we already saw: never fewer than ours.
        filled = max(report.qty_lots - report.remaining_lots, known.filled_lots if known is not None else 0)
        request = OrderRequest(
            report.client_order_id, report.side, report.price_ticks, report.qty_lots, order_type
        )
        order = Order(
            request,
            S.PARTIALLY_FILLED if filled > 0 else S.OPEN,
            known.sent_ns if known is not None else now_ns,
            now_ns,
            accepted_ns=now_ns,
            filled_lots=filled,
            fill_notional=known.fill_notional if known is not None else report.price_ticks * filled,
            fees_quote=known.fees_quote if known is not None else 0.0,
            trade_ids=known.trade_ids if known is not None else frozenset(),
            reason="adopted",
        )
        if not was_live:
            # Not the side's quote: an order we were not tracking goes first, as the oldest live one.
            self._live = {cid: order, **self._live}
        return self._store(order)

    def resolve(self, client_order_id: str, state: OrderState, reason: str, now_ns: int) -> Order:
        """End a live order as the venue reports it (``state`` terminal), whatever our table thought:
        used when reconciliation or a status lookup learns the order's fate."""
        if not state.is_terminal:
            raise ValueError(f"resolve needs a terminal state, got {state.value}")
        order = self._live.get(client_order_id)
        if order is None:
            return self._settled(client_order_id, E.CANCELLED)
        ended = order._replace(state=state, updated_ns=now_ns, cancels_in_flight=0, reason=reason)
        return self._store(ended)

    def inherit(self, request: OrderRequest, sent_ns: int, filled_lots: int = 0) -> Order:
        """An order a previous session sent and did not see end (from the journal, with the lots its
        journaled fills filled): tracked as ``PENDING_NEW`` (fillable) until reconciliation learns its
        fate."""
        order = Order(request, S.PENDING_NEW, sent_ns, sent_ns, filled_lots=filled_lots, reason="inherited")
        self._store(order)
        return order

    # ------------------------------------------------------------------ queries
    def get(self, client_order_id: str) -> Order | None:
        return self._live.get(client_order_id) or self._done.get(client_order_id)

    def __contains__(self, client_order_id: object) -> bool:
        return client_order_id in self._live or client_order_id in self._done

    def live_orders(self, side: Side | None = None) -> list[Order]:
        """Every order not in a terminal state, oldest sent first."""
        return [o for o in self._live.values() if side is None or o.side is side]

    def exposure_lots(self, side: Side) -> int:
        """Lots that may still fill on ``side``: the remaining quantity of every non-terminal order."""
        return sum(o.remaining_lots for o in self._live.values() if o.side is side)

    def resting(self, side: Side) -> Order | None:
        """Our quote on ``side``: the newest live quote order there (None if there is none)."""
        return self.side_summary(side).newest

    def side_summary(self, side: Side) -> SideSummary:
        return self.summaries()[side]

    def summaries(self) -> dict[Side, SideSummary]:
        """Both sides' summaries, in one pass over the live orders (read on every update)."""
        newest: list[Order | None] = [None, None]  # [buy, sell]
        in_flight = [False, False]
        exposure = [0, 0]
        quotes = [0, 0]
        for order in self._live.values():
            request = order.request
            i = 0 if request.side is Side.BUY else 1
            exposure[i] += request.qty_lots - order.filled_lots
            if request.order_type not in TAKER_TYPES:
                newest[i] = order
                quotes[i] += 1
                in_flight[i] = in_flight[i] or order.state in IN_FLIGHT_STATES
        return {
            Side.BUY: SideSummary(newest[0], in_flight[0], exposure[0], quotes[0]),
            Side.SELL: SideSummary(newest[1], in_flight[1], exposure[1], quotes[1]),
        }

    def in_flight(self, side: Side) -> bool:
        """Whether any live order on ``side`` awaits the venue (PENDING_NEW or PENDING_CANCEL)."""
        return any(o.in_flight for o in self._live.values() if o.side is side)

    def history(self) -> list[Order]:
        """The most recent terminal orders, oldest first (at most ``history`` of them)."""
        return list(self._done.values())

    # ------------------------------------------------------------------ internals
    def _sent(self, request: OrderRequest, now_ns: int) -> Order:
        """The new order for ``request`` (not stored yet); raises on a duplicate id or no quantity."""
        cid = request.client_order_id
        existing = self.get(cid)
        if existing is not None:
            raise OrderStateError(cid, existing.state, E.SEND.value, "duplicate client order id")
        if request.qty_lots <= 0:
            raise OrderStateError(cid, None, E.SEND.value, f"qty_lots {request.qty_lots} is not positive")
        return Order(request, INITIAL_STATE, now_ns, now_ns)

    def _cancel_requested(self, client_order_id: str, now_ns: int) -> Order:
        """The live order after a local cancel request (not stored yet); raises if it is finished or
        unknown."""
        order = self._live.get(client_order_id)
        if order is None:
            self._settled(client_order_id, E.CANCEL_REQUEST)  # raises: the order is finished or unknown
            raise AssertionError("unreachable")  # pragma: no cover
        first_ns = now_ns if order.cancel_requested_ns is None else order.cancel_requested_ns
        return order._replace(
            state=next_state(order, E.CANCEL_REQUEST),
            updated_ns=now_ns,
            cancel_requested_ns=first_ns,
            cancels_in_flight=order.cancels_in_flight + 1,
        )

    def _settled(self, client_order_id: str, kind: OrderEventKind) -> Order:
        """An event for an order that is not live: a terminal order absorbs what its row lists (terminal
        rows lead nowhere else) and refuses the rest; an id we do not know raises UnknownOrderId."""
        order = self._done.get(client_order_id)
        if order is None:
            raise UnknownOrderId(client_order_id, None, kind.value, "no live or recent order has this id")
        if kind not in TRANSITIONS[order.state]:
            raise OrderStateError(client_order_id, order.state, kind.value)
        return order

    def _store(self, order: Order) -> Order:
        self.version += 1
        self.changed.append(order)
        cid = order.client_order_id
        if not order.state.is_terminal:
            self._live[cid] = order
            return order
        self._live.pop(cid, None)
        self._done[cid] = order
        self._done.move_to_end(cid)
        while len(self._done) > self._history:
            self._done.popitem(last=False)
        return order


def _fill_problem(order: Order, fill: OwnFill) -> str:
    if fill.qty_lots <= 0:
        return f"qty_lots {fill.qty_lots} is not positive"
    if fill.side is not order.side:
        return f"fill side {fill.side.label} on a {order.side.label}"
    if fill.qty_lots > order.remaining_lots:
        return f"overfill: {fill.qty_lots} lots with {order.remaining_lots} remaining"
    return ""
