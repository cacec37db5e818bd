"""The order state table: the lifecycle of our own orders as a transition table (sans-IO).

``TRANSITIONS[state][event] -> next state``; a pair missing from the table raises
``OrderStateError`` naming the client order id, the state and the event, and leaves the order
unchanged. ``on_send`` creates an order in ``PENDING_NEW``; a fill is ``FINAL_FILL`` when it brings
the remaining quantity to zero, otherwise ``FILL``.

Races the table accepts, because real venues produce them:

- a fill before the ack: the venue accepted the order implicitly (``PENDING_NEW`` -> ``PARTIALLY_FILLED``
  or ``FILLED``); the late ack is then absorbed;
- a fill while a cancel is in flight: a partial fill stays ``PENDING_CANCEL``, a final one wins (``FILLED``)
  and the cancel's ``cancel_rejected`` that follows is absorbed;
- ``cancel_rejected`` in ``PENDING_CANCEL`` resumes the state the order would have without the cancel
  (``RESUME``): ``PARTIALLY_FILLED`` if anything filled, ``OPEN`` if accepted, else ``PENDING_NEW``. When
  several cancels are in flight (a re-sent cancel), the order stays ``PENDING_CANCEL`` until the last
  one is answered;
- a cancel before the ack (``PENDING_NEW`` -> ``PENDING_CANCEL``): a later ack is absorbed, a reject ends it;
- an unsolicited ``cancelled`` (IOC remainder, expiry, venue action) from any live state;
- a partial fill after ``cancelled``: fills and order updates often travel on separate streams, and
  ``cancelled`` carries no executed quantity, so a late partial fill is recorded (the order stays
  ``CANCELLED``). A late fill that would complete the order contradicts the cancel and raises.

Terminal states absorb late duplicates: an ack after a fill, a second ``cancelled``, a second reject,
a ``cancel_rejected`` answering a cancel that lost the race. What is truly inconsistent raises: the
venue reporting two different ends (``cancelled`` after ``FILLED``, a fill after ``REJECTED``), a reject
after the order was accepted, an overfill, a fill on the wrong side, a ``cancel_rejected`` with no
cancel in flight, a local cancel request or send on a finished order.

Exposure counts an order's remaining lots as fillable until the venue says it is gone, including
``PENDING_NEW`` and ``PENDING_CANCEL``. Fills carrying a ``trade_id`` are deduplicated per order (a
replayed fill after a reconnect is a no-op). Terminal orders move to a bounded history.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from enum import Enum
from typing import Final, NamedTuple

from mm_bot.errors import MmBotError
from mm_bot.model import (
    CancelRejected,
    OrderAccepted,
    OrderCancelled,
    OrderEvent,
    OrderRejected,
    OrderRequest,
    OrderType,
    OwnFill,
    Side,
)


class OrderState(Enum):
    PENDING_NEW = "pending_new"  # sent, not acked
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    PENDING_CANCEL = "pending_cancel"  # cancel sent, order may still fill
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"

    # Plain Enum equality is identity, so identity hashing agrees with it and is C-fast, where Enum's own
    # __hash__ is a Python-level call: states key TRANSITIONS and fill the state sets read on every event.
    __hash__ = object.__hash__

    is_terminal: bool  # set below from TERMINAL_STATES: a plain attribute, not a property (hot path)


class OrderEventKind(Enum):
    SEND = "send"  # local; creates the order
    ACK = "ack"
    REJECT = "reject"
    FILL = "fill"  # partial: remaining stays > 0
    FINAL_FILL = "final_fill"  # remaining reaches 0
    CANCEL_REQUEST = "cancel_request"  # local
    CANCELLED = "cancelled"
    CANCEL_REJECTED = "cancel_rejected"

    __hash__ = object.__hash__  # as OrderState's


class Resume(Enum):
    """Table target: back to the state before the cancel request, derived from the order's data."""

    PRE_CANCEL = "pre_cancel"


S, E = OrderState, OrderEventKind
RESUME: Final = Resume.PRE_CANCEL
TERMINAL_STATES: Final = frozenset({S.FILLED, S.CANCELLED, S.REJECTED})
INITIAL_STATE: Final = S.PENDING_NEW
for _state in OrderState:
    _state.is_terminal = _state in TERMINAL_STATES
del _state

TRANSITIONS: Final[dict[OrderState, dict[OrderEventKind, OrderState | Resume]]] = {
    S.PENDING_NEW: {
        E.ACK: S.OPEN,
        E.REJECT: S.REJECTED,
        E.FILL: S.PARTIALLY_FILLED,  # implicit acceptance
        E.FINAL_FILL: S.FILLED,
        E.CANCEL_REQUEST: S.PENDING_CANCEL,
        E.CANCELLED: S.CANCELLED,  # unsolicited: IOC remainder, expiry
    },
    S.OPEN: {
        E.ACK: S.OPEN,  # duplicate
        E.FILL: S.PARTIALLY_FILLED,
        E.FINAL_FILL: S.FILLED,
        E.CANCEL_REQUEST: S.PENDING_CANCEL,
        E.CANCELLED: S.CANCELLED,
    },
    S.PARTIALLY_FILLED: {
        E.ACK: S.PARTIALLY_FILLED,  # late ack after an implicit acceptance
        E.FILL: S.PARTIALLY_FILLED,
        E.FINAL_FILL: S.FILLED,
        E.CANCEL_REQUEST: S.PENDING_CANCEL,
        E.CANCELLED: S.CANCELLED,
    },
    S.PENDING_CANCEL: {
        E.ACK: S.PENDING_CANCEL,  # the cancel overtook the ack
        E.REJECT: S.REJECTED,  # only if never accepted (checked)
        E.FILL: S.PENDING_CANCEL,
        E.FINAL_FILL: S.FILLED,  # the fill won the race
        E.CANCEL_REQUEST: S.PENDING_CANCEL,  # re-sent cancel
        E.CANCELLED: S.CANCELLED,
        E.CANCEL_REJECTED: RESUME,
    },
    S.FILLED: {
        E.ACK: S.FILLED,
        E.CANCEL_REJECTED: S.FILLED,  # the cancel lost the race
    },
    S.CANCELLED: {
        E.ACK: S.CANCELLED,
        E.FILL: S.CANCELLED,  # late partial fill from a separate stream
        E.CANCELLED: S.CANCELLED,
        E.CANCEL_REJECTED: S.CANCELLED,
    },
    S.REJECTED: {
        E.REJECT: S.REJECTED,
        E.CANCEL_REJECTED: S.REJECTED,
    },
}
IN_FLIGHT_STATES: Final = frozenset({S.PENDING_NEW, S.PENDING_CANCEL})  # awaiting an ack or a cancel answer


def _column(kind: OrderEventKind) -> dict[OrderState, OrderState | Resume]:
    """TRANSITIONS' column for one event kind, derived once: a handler's transition is then one lookup
    naming no enum member (reading a member through its class costs ~70 ns on CPython 3.11: EnumType's
    ``__getattr__`` keeps class attribute reads off the specialised fast path)."""
    return {state: row[kind] for state, row in TRANSITIONS.items() if kind in row}


_ON_ACK: Final = _column(E.ACK)
_ON_REJECT: Final = _column(E.REJECT)
_ON_PARTIAL_FILL: Final = (E.FILL, _column(E.FILL))
_ON_FINAL_FILL: Final = (E.FINAL_FILL, _column(E.FINAL_FILL))
_ON_CANCEL_REQUEST: Final = _column(E.CANCEL_REQUEST)
_ON_CANCELLED: Final = _column(E.CANCELLED)
_ON_CANCEL_REJECTED: Final = _column(E.CANCEL_REJECTED)
# A tuple, not a set: OrderType's Enum hash is a Python-level call, `in` on a tuple compares identities.
_TAKER_TYPES: Final = (OrderType.IOC, OrderType.MARKET)
_BUY: Final = Side.BUY


class OrderStateError(MmBotError):
    """An event that does not fit the order's lifecycle; the order is left unchanged."""

    def __init__(self, client_order_id: str, state: OrderState | None, event: str, detail: str = "") -> None:
        self.client_order_id = client_order_id
        self.state = state
        self.event = event
        where = state.value if state is not None else "unknown"
        extra = f": {detail}" if detail else ""
        super().__init__(f"order {client_order_id!r} in state {where}: illegal event {event}{extra}")


class UnknownOrderId(OrderStateError):
    """No live or recent order has this client order id (not ours, or pruned): reconcile."""


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
    return _new(
        Order,
        (
            order.request,
            state,
            order.sent_ns,
            updated_ns,
            accepted_ns,
            cancel_requested_ns,
            cancels_in_flight,
            order.filled_lots,
            order.fill_notional,
            order.fees_quote,
            order.trade_ids,
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
        cid = request.client_order_id
        if cid in self._live or cid in self._done:
            existing = self._live.get(cid) or self._done[cid]
            raise OrderStateError(cid, existing.state, E.SEND.value, "duplicate client order id")
        if request.qty_lots <= 0:
            raise OrderStateError(cid, None, E.SEND.value, f"qty_lots {request.qty_lots} is not positive")
        # concatenated, not unpacked: a third cheaper
        order = _new(Order, (request, INITIAL_STATE, now_ns, now_ns) + _ORDER_DEFAULTS)  # noqa: RUF005
        self._live[cid] = order
        self._summaries = None
        self.version += 1
        return order

    def on_ack(self, event: OrderAccepted) -> Order:
        cid = event.client_order_id
        order = self._live.get(cid)
        if order is None:
            return self._settled(cid, E.ACK)  # a late ack, absorbed
        state = _ON_ACK.get(order.state)
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
        state = _ON_REJECT.get(order.state)
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
        trade_id = fill.trade_id
        if trade_id and trade_id in order.trade_ids:
            return order  # replayed fill
        request, qty = order.request, fill.qty_lots
        remaining = request.qty_lots - order.filled_lots
        kind, column = _ON_FINAL_FILL if qty >= remaining else _ON_PARTIAL_FILL
        state = column.get(order.state)
        if not isinstance(state, OrderState):
            state = _resolve(order, kind, state)
        if qty <= 0 or qty > remaining or fill.side is not request.side:
            raise OrderStateError(cid, order.state, kind.value, _fill_problem(order, fill))
        filled = _new(
            Order,
            (
                request,
                state,
                order.sent_ns,
                fill.ts_ns,  # updated_ns
                fill.ts_ns if order.accepted_ns is None else order.accepted_ns,
                order.cancel_requested_ns,
                order.cancels_in_flight,
                order.filled_lots + qty,
                order.fill_notional + fill.price_ticks * qty,
                order.fees_quote + fill.fee_quote,
                order.trade_ids | {trade_id} if trade_id else order.trade_ids,
                order.reason,
            ),
        )
        return self._store(cid, filled)

    def on_cancel_request(self, client_order_id: str, now_ns: int) -> Order:
        order = self._live.get(client_order_id)
        if order is None:
            return self._settled(client_order_id, E.CANCEL_REQUEST)  # raises: the order is finished
        state = _ON_CANCEL_REQUEST.get(order.state)
        if not isinstance(state, OrderState):
            state = _resolve(order, E.CANCEL_REQUEST, state)
        first_ns = now_ns if order.cancel_requested_ns is None else order.cancel_requested_ns
        in_flight = order.cancels_in_flight + 1
        return self._store(
            client_order_id,
            _moved(order, state, now_ns, order.accepted_ns, first_ns, in_flight, order.reason),
        )

    def on_cancelled(self, event: OrderCancelled) -> Order:
        cid = event.client_order_id
        order = self._live.get(cid)
        if order is None:
            return self._settled(cid, E.CANCELLED)  # duplicate, absorbed
        state = _ON_CANCELLED.get(order.state)
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
        state = _ON_CANCEL_REJECTED.get(order.state)
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

    def apply(self, event: OrderEvent) -> Order:
        """Dispatch a venue order event to its handler."""
        if isinstance(event, OrderAccepted):
            return self.on_ack(event)
        if isinstance(event, OrderRejected):
            return self.on_reject(event)
        if isinstance(event, OwnFill):
            return self.on_fill(event)
        if isinstance(event, OrderCancelled):
            return self.on_cancelled(event)
        return self.on_cancel_rejected(event)

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


def resume_state(order: Order) -> OrderState:
    """The state an order in PENDING_CANCEL returns to when its cancel is rejected."""
    if order.filled_lots > 0:
        return S.PARTIALLY_FILLED
    return S.OPEN if order.accepted else S.PENDING_NEW


# ---------------------------------------------------------------------- client order ids
_ALNUM = re.compile(r"[A-Za-z0-9]+")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_PAIRS: Final = tuple(a + b for a in _DIGITS for b in _DIGITS)  # base36(n).rjust(2, "0") for n < 36**2
_PAIR_SPAN: Final = len(_PAIRS)


def base36(n: int) -> str:
    if n < 0:
        raise ValueError(f"base36 of a negative number: {n}")
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = _DIGITS[r] + out
        if n == 0:
            return out


def run_prefix(started_ns: int, tag: str = "mm") -> str:
    """A prefix unique per run: ``tag`` + the start time in microseconds, base 36 (10 characters
    until the year 2085). The caller passes the start time; nothing here reads a clock."""
    return tag + base36(started_ns // 1_000)


class ClientOrderIds:
    """Deterministic client order ids: ``prefix`` + a fixed-width base-36 counter.

    Unique within a run by the counter, across runs by the prefix (see ``run_prefix``); the fixed
    width makes (prefix, counter) -> id injective. Only ASCII letters and digits, at most ``max_len``
    characters: valid on Binance (36 of ``[.A-Z:/a-z0-9_-]``) and on stricter venues such as OKX
    (32 alphanumerics).
    """

    WIDTH: Final = 7  # 36**7 = 78 billion orders per run
    _LIMIT: Final = 36**WIDTH

    def __init__(self, prefix: str, *, start: int = 0, max_len: int = 32) -> None:
        if not _ALNUM.fullmatch(prefix):
            raise ValueError(f"client order id prefix must be ASCII letters and digits, got {prefix!r}")
        if len(prefix) + self.WIDTH > max_len:
            raise ValueError(f"prefix {prefix!r} too long: ids would exceed {max_len} characters")
        self.prefix = prefix
        self._counter = start
        self._head = ""  # the id's characters but the last two digits, for _head_high and _head_prefix
        self._head_high: int | None = None
        self._head_prefix = ""

    @property
    def issued(self) -> int:
        return self._counter

    def next_id(self) -> str:
        """``prefix`` + ``base36(counter)`` zero-padded to WIDTH digits. Only the last two digits change
        from one id to the next: they come from a table, and the head before them is formatted again
        once every 36**2 ids (or when ``prefix`` is reassigned)."""
        n = self._counter
        if n >= self._LIMIT:
            raise OverflowError("client order id counter exhausted")
        high, low = divmod(n, _PAIR_SPAN)
        if high != self._head_high or self.prefix is not self._head_prefix:
            self._head = self.prefix + base36(n).rjust(self.WIDTH, "0")[:-2]
            self._head_high, self._head_prefix = high, self.prefix
        self._counter = n + 1
        return self._head + _PAIRS[low]
