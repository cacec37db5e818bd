"""The order table: our own orders by client order id, each an immutable snapshot (sans-IO).

Every event goes through the lifecycle's transition table (``mm_bot.engine.order_states``, which also
describes the races it accepts); an event that does not fit raises ``OrderStateError`` and leaves the
order unchanged.

Exposure counts an order's remaining lots as fillable until the venue says it is gone, including
``PENDING_NEW`` and ``PENDING_CANCEL``. Fills carrying a ``trade_id`` are deduplicated per order (a
replayed fill after a reconnect is a no-op). Terminal orders move to a bounded history.

The lifecycle vocabulary and the client order id helpers (``mm_bot.engine.ids``) are re-exported here.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final, NamedTuple

from mm_bot.engine.ids import ClientOrderIds, base36, run_prefix
from mm_bot.engine.order_states import (
    IN_FLIGHT_STATES,
    INITIAL_STATE,
    ON_ACK,
    ON_CANCEL_REJECTED,
    ON_CANCEL_REQUEST,
    ON_CANCELLED,
    ON_FINAL_FILL,
    ON_PARTIAL_FILL,
    ON_REJECT,
    RESUME,
    TERMINAL_STATES,
    TRANSITIONS,
    OrderEventKind,
    OrderState,
    OrderStateError,
    Resume,
    UnknownOrderId,
    resume_state,
)
from mm_bot.model import (
    CancelRejected,
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
# A tuple, not a set: OrderType's Enum hash is a Python-level call, `in` on a tuple compares identities.
_TAKER_TYPES: Final = (OrderType.IOC, OrderType.MARKET)
_BUY: Final = Side.BUY


class Order(NamedTuple):
    """One order as we know it. Immutable: each event produces a new snapshot (a NamedTuple, built
    positionally by the table's handlers: see ``_moved``).

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
    reason: str = ""  # the venue's last reject or cancel reason

    @property
    def client_order_id(self) -> str:
        return self.request.client_order_id

    @property
    def side(self) -> Side:
        return self.request.side

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

    def accepted_age_ns(self, now_ns: int) -> int | None:
        """Time the order has rested since the venue accepted it; None before that."""
        return None if self.accepted_ns is None else now_ns - self.accepted_ns


# Order(...) without NamedTuple.__new__'s Python frame: the handlers pass every field, in order.
_new: Final = tuple.__new__
_ORDER_DEFAULTS: Final = tuple(Order._field_defaults.values())  # the fields after updated_ns


def _moved(
    order: Order,
    state: OrderState,
    updated_ns: int,
    accepted_ns: int | None,
    cancel_requested_ns: int | None,
    cancels_in_flight: int,
    reason: str,
) -> Order:
    """``order`` after a lifecycle event (the fill fields are kept). Three times cheaper than
    ``order._replace(...)``, whose keyword handling costs about a microsecond per event."""
    # Unpacked, not read by name: NamedTuple attribute reads are not specialised by CPython 3.11.
    request, _, sent_ns, _, _, _, _, filled_lots, fill_notional, fees_quote, trade_ids, _ = order
    return _new(
        Order,
        (
            request,
            state,
            sent_ns,
            updated_ns,
            accepted_ns,
            cancel_requested_ns,
            cancels_in_flight,
            filled_lots,
            fill_notional,
            fees_quote,
            trade_ids,
            reason,
        ),
    )


def _resolve(order: Order, kind: OrderEventKind, target: OrderState | Resume | None) -> OrderState:
    """A column lookup that gave no state: no entry is an illegal event, RESUME the pre-cancel state."""
    if target is None:
        raise OrderStateError(order.client_order_id, order.state, kind.value)
    return resume_state(order) if target is RESUME else target


SideSummary = tuple[Order | None, bool, int]  # see OrderTable.side_summary


class OrderTable:
    """Our orders by client order id: live ones, plus the last ``history`` terminal ones.

    Live orders are never terminal and history holds only terminal ones, so an event whose order is not
    live is a late duplicate (absorbed or refused, ``_settled``) except a late partial fill.
    """

    def __init__(self, history: int = 1000) -> None:
        self._live: dict[str, Order] = {}
        self.version = 0  # bumped on every change: lets callers skip work when nothing changed
        self._done: OrderedDict[str, Order] = OrderedDict()
        self._history = history
        self._summaries: tuple[SideSummary, SideSummary] | None = None  # until the live orders change

    # ------------------------------------------------------------------ events
    def on_send(self, request: OrderRequest, now_ns: int) -> Order:
        order = self._live[request.client_order_id] = self._sent(request, now_ns)
        self._summaries = None
        self.version += 1
        return order

    def on_ack(self, event: OrderAccepted) -> Order:
        cid = event.client_order_id
        order = self._live.get(cid)
        if order is None:
            return self._settled(cid, E.ACK)  # a late ack, absorbed
        state = ON_ACK.get(order.state)
        if not isinstance(state, OrderState):
            state = _resolve(order, E.ACK, state)
        accepted_ns = event.ts_ns if order.accepted_ns is None else order.accepted_ns
        return self._store(
            cid,
            _moved(
                order,
                state,
                event.ts_ns,
                accepted_ns,
                order.cancel_requested_ns,
                order.cancels_in_flight,
                order.reason,
            ),
        )

    def on_reject(self, event: OrderRejected) -> Order:
        cid = event.client_order_id
        order = self._live.get(cid)
        if order is None:
            return self._settled(cid, E.REJECT)  # duplicate, absorbed
        state = ON_REJECT.get(order.state)
        if not isinstance(state, OrderState):
            state = _resolve(order, E.REJECT, state)
        if order.accepted_ns is not None:
            raise OrderStateError(cid, order.state, E.REJECT.value, "already accepted")
        return self._store(
            cid,
            _moved(
                order,
                state,
                event.ts_ns,
                order.accepted_ns,
                order.cancel_requested_ns,
                order.cancels_in_flight,
                event.reason,
            ),
        )

    def on_fill(self, fill: OwnFill) -> Order:
        cid = fill.client_order_id
        order = self._live.get(cid) or self._done.get(cid)  # a late partial fill may trail the cancel
        if order is None:
            raise UnknownOrderId(cid, None, E.FILL.value, "no live or recent order has this id")
        (
            request,
            old_state,
            sent_ns,
            _,
            accepted_ns,
            cancel_requested_ns,
            cancels_in_flight,
            filled_lots,
            fill_notional,
            fees_quote,
            trade_ids,
            reason,
        ) = order  # unpacked: see _moved
        trade_id = fill.trade_id
        if trade_id and trade_id in trade_ids:
            return order  # replayed fill
        qty = fill.qty_lots
        remaining = request.qty_lots - filled_lots
        kind, column = ON_FINAL_FILL if qty >= remaining else ON_PARTIAL_FILL
        state = column.get(old_state)
        if not isinstance(state, OrderState):
            state = _resolve(order, kind, state)
        if qty <= 0 or qty > remaining or fill.side is not request.side:
            raise OrderStateError(cid, old_state, kind.value, _fill_problem(order, fill))
        filled = _new(
            Order,
            (
                request,
                state,
                sent_ns,
                fill.ts_ns,  # updated_ns
                fill.ts_ns if accepted_ns is None else accepted_ns,
                cancel_requested_ns,
                cancels_in_flight,
                filled_lots + qty,
                fill_notional + fill.price_ticks * qty,
                fees_quote + fill.fee_quote,
                trade_ids | {trade_id} if trade_id else trade_ids,
                reason,
            ),
        )
        return self._store(cid, filled)

    def on_cancel_request(self, client_order_id: str, now_ns: int) -> Order:
        return self._store(client_order_id, self._cancel_requested(client_order_id, now_ns))

    def on_replace(self, old_client_order_id: str, request: OrderRequest, now_ns: int) -> Order:
        """``on_cancel_request(old_client_order_id)`` then ``on_send(request)`` as one change (one
        version bump): a replace is the commonest pair of commands. Both are checked before either
        is applied, so an error leaves the table unchanged. Returns the new order."""
        cancelling = self._cancel_requested(old_client_order_id, now_ns)
        order = self._sent(request, now_ns)
        live = self._live
        live[old_client_order_id] = cancelling  # PENDING_CANCEL: still live
        live[request.client_order_id] = order
        self._summaries = None
        self.version += 1
        return order

    def _sent(self, request: OrderRequest, now_ns: int) -> Order:
        """The new order for ``request`` (not stored yet); raises on a duplicate id or no quantity."""
        cid = request.client_order_id
        if cid in self._live or cid in self._done:
            existing = self._live.get(cid) or self._done[cid]
            raise OrderStateError(cid, existing.state, E.SEND.value, "duplicate client order id")
        if request.qty_lots <= 0:
            raise OrderStateError(cid, None, E.SEND.value, f"qty_lots {request.qty_lots} is not positive")
        # concatenated, not unpacked: a third cheaper
        return _new(Order, (request, INITIAL_STATE, now_ns, now_ns) + _ORDER_DEFAULTS)  # noqa: RUF005

    def _cancel_requested(self, client_order_id: str, now_ns: int) -> Order:
        """The live order after a local cancel request (not stored yet; never terminal); raises if
        the order is finished or unknown."""
        order = self._live.get(client_order_id)
        if order is None:
            return self._settled(client_order_id, E.CANCEL_REQUEST)  # raises: the order is finished
        state = ON_CANCEL_REQUEST.get(order.state)
        if not isinstance(state, OrderState):
            state = _resolve(order, E.CANCEL_REQUEST, state)
        first_ns = now_ns if order.cancel_requested_ns is None else order.cancel_requested_ns
        in_flight = order.cancels_in_flight + 1
        return _moved(order, state, now_ns, order.accepted_ns, first_ns, in_flight, order.reason)

    def on_cancelled(self, event: OrderCancelled) -> Order:
        cid = event.client_order_id
        order = self._live.get(cid)
        if order is None:
            return self._settled(cid, E.CANCELLED)  # duplicate, absorbed
        state = ON_CANCELLED.get(order.state)
        if not isinstance(state, OrderState):
            state = _resolve(order, E.CANCELLED, state)
        return self._store(
            cid,
            _moved(order, state, event.ts_ns, order.accepted_ns, order.cancel_requested_ns, 0, event.reason),
        )

    def on_cancel_rejected(self, event: CancelRejected) -> Order:
        cid = event.client_order_id
        order = self._live.get(cid)
        if order is None:
            return self._settled(cid, E.CANCEL_REJECTED)  # the cancel lost the race, absorbed
        state = ON_CANCEL_REJECTED.get(order.state)
        if not isinstance(state, OrderState):
            state = _resolve(order, E.CANCEL_REJECTED, state)
        in_flight = order.cancels_in_flight - 1
        if in_flight > 0:
            state = S.PENDING_CANCEL  # a re-sent cancel is still unanswered
        return self._store(
            cid,
            _moved(
                order,
                state,
                event.ts_ns,
                order.accepted_ns,
                order.cancel_requested_ns,
                in_flight,
                event.reason,
            ),
        )

    # ------------------------------------------------------------------ queries
    def get(self, client_order_id: str) -> Order | None:
        return self._live.get(client_order_id) or self._done.get(client_order_id)

    def __contains__(self, client_order_id: object) -> bool:
        return client_order_id in self._live or client_order_id in self._done

    def live_orders(self, side: Side | None = None) -> list[Order]:
        """Every order not in a terminal state, oldest sent first."""
        return [o for o in self._live.values() if side is None or o.request.side is side]

    def exposure_lots(self, side: Side) -> int:
        """Lots that may still fill on ``side``: the remaining quantity of every non-terminal order."""
        return self.side_summary(side)[2]

    def resting(self, side: Side) -> Order | None:
        """Our quote on ``side``: the newest live order there (None if there is none).

        After a replace (cancel + new) that is the new order. Pair it with ``in_flight(side)``: while
        any order on the side awaits an ack or a cancel answer, the quoting logic must not stack another.
        """
        for order in reversed(self._live.values()):
            if order.side is side:
                return order
        return None

    def side_summary(self, side: Side) -> SideSummary:
        """One pass for the quoting logic: the side's newest resting QUOTE (limit or post-only; an
        IOC or market order is not a quote), whether any quote there awaits the venue, and the
        exposure of every live order on the side (IOCs included: they may still fill)."""
        return self.side_summaries()[0 if side is _BUY else 1]

    def side_summaries(self) -> tuple[SideSummary, SideSummary]:
        """``side_summary`` of the buy and the sell side, computed in one pass. Read on every market
        update, they change only with our own orders: kept until the next change (book updates in
        between read them for free)."""
        summaries = self._summaries
        if summaries is None:
            summaries = self._summaries = self._summarize()
        return summaries

    def in_flight(self, side: Side) -> bool:
        """Whether any live order on ``side`` awaits the venue (PENDING_NEW or PENDING_CANCEL)."""
        return any(o.in_flight for o in self._live.values() if o.side is side)

    def overdue(self, now_ns: int, *, ack_timeout_ns: int, cancel_timeout_ns: int) -> list[Order]:
        """Orders whose venue answer is late: unacked past ``ack_timeout_ns`` since send, or cancels
        unanswered past ``cancel_timeout_ns`` since the first cancel request. Look these up by client id."""
        return [
            o
            for o in self._live.values()
            if (o.state is S.PENDING_NEW and now_ns - o.sent_ns > ack_timeout_ns)
            or (o.state is S.PENDING_CANCEL and now_ns - (o.cancel_requested_ns or 0) > cancel_timeout_ns)
        ]

    def history(self) -> list[Order]:
        """The most recent terminal orders, oldest first (at most ``history`` of them)."""
        return list(self._done.values())

    # ------------------------------------------------------------------ internals
    def _settled(self, client_order_id: str, kind: OrderEventKind) -> Order:
        """An event for an order that is not live: a terminal order absorbs what its row lists (terminal
        rows lead nowhere else) and refuses the rest; an id we do not know raises UnknownOrderId."""
        order = self._done.get(client_order_id)
        if order is None:
            raise UnknownOrderId(client_order_id, None, kind.value, "no live or recent order has this id")
        if kind not in TRANSITIONS[order.state]:
            raise OrderStateError(client_order_id, order.state, kind.value)
        return order

    def _store(self, client_order_id: str, order: Order) -> Order:
        self.version += 1
        self._summaries = None
        if not order.state.is_terminal:
            self._live[client_order_id] = order
            return order
        self._live.pop(client_order_id, None)
        self._done[client_order_id] = order
        while len(self._done) > self._history:
            self._done.popitem(last=False)
        return order

    def _summarize(self) -> tuple[SideSummary, SideSummary]:
        """Both sides of ``side_summary`` in one pass (spelled out per side: lists indexed by side cost
        ~40% more)."""
        buy: Order | None = None
        sell: Order | None = None
        buy_in_flight = sell_in_flight = False
        buy_lots = sell_lots = 0
        for order in self._live.values():
            request = order.request
            lots = request.qty_lots - order.filled_lots
            quote = request.order_type not in _TAKER_TYPES
            if request.side is _BUY:
                buy_lots += lots
                if quote:
                    buy = order
                    buy_in_flight = buy_in_flight or order.state in IN_FLIGHT_STATES
            else:
                sell_lots += lots
                if quote:
                    sell = order
                    sell_in_flight = sell_in_flight or order.state in IN_FLIGHT_STATES
        return (buy, buy_in_flight, buy_lots), (sell, sell_in_flight, sell_lots)


def _fill_problem(order: Order, fill: OwnFill) -> str:
    if fill.qty_lots <= 0:
        return f"qty_lots {fill.qty_lots} is not positive"
    if fill.side is not order.side:
        return f"fill side {fill.side.label} on a {order.side.label}"
    if fill.qty_lots > order.remaining_lots:
        return f"overfill: {fill.qty_lots} lots with {order.remaining_lots} remaining"
    return ""
