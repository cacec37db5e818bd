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

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES


class OrderEventKind(Enum):
    SEND = "send"  # local; creates the order
    ACK = "ack"
    REJECT = "reject"
    FILL = "fill"  # partial: remaining stays > 0
    FINAL_FILL = "final_fill"  # remaining reaches 0
    CANCEL_REQUEST = "cancel_request"  # local
    CANCELLED = "cancelled"
    CANCEL_REJECTED = "cancel_rejected"


class Resume(Enum):
    """Table target: back to the state before the cancel request, derived from the order's data."""

    PRE_CANCEL = "pre_cancel"


S, E = OrderState, OrderEventKind
RESUME: Final = Resume.PRE_CANCEL
TERMINAL_STATES: Final = frozenset({S.FILLED, S.CANCELLED, S.REJECTED})
INITIAL_STATE: Final = S.PENDING_NEW

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
IN_FLIGHT_STATES: Final = frozenset({S.PENDING_NEW, S.PENDING_CANCEL})
_TAKER_TYPES: Final = frozenset({OrderType.IOC, OrderType.MARKET})  # awaiting an ack or a cancel answer


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
    """One order as we know it. Immutable: each event produces a new snapshot (a NamedTuple:
    ``_replace`` is several times cheaper than ``dataclasses.replace`` on this hot path).

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


class OrderTable:
    """Our orders by client order id: live ones, plus the last ``history`` terminal ones."""

    def __init__(self, history: int = 1000) -> None:
        self._live: dict[str, Order] = {}
        self.version = 0  # bumped on every change: lets callers skip work when nothing changed
        self._done: OrderedDict[str, Order] = OrderedDict()
        self._history = history

    # ------------------------------------------------------------------ events
    def on_send(self, request: OrderRequest, now_ns: int) -> Order:
        cid = request.client_order_id
        existing = self.get(cid)
        if existing is not None:
            raise OrderStateError(cid, existing.state, E.SEND.value, "duplicate client order id")
        if request.qty_lots <= 0:
            raise OrderStateError(cid, None, E.SEND.value, f"qty_lots {request.qty_lots} is not positive")
        order = Order(request=request, state=INITIAL_STATE, sent_ns=now_ns, updated_ns=now_ns)
        self._live[cid] = order
        self.version += 1
        return order

    def on_ack(self, event: OrderAccepted) -> Order:
        order, state = self._step(event.client_order_id, E.ACK)
        if order.state.is_terminal:
            return order  # late ack, absorbed
        accepted_ns = event.ts_ns if order.accepted_ns is None else order.accepted_ns
        return self._store(order._replace(state=state, accepted_ns=accepted_ns, updated_ns=event.ts_ns))

    def on_reject(self, event: OrderRejected) -> Order:
        order, state = self._step(event.client_order_id, E.REJECT)
        if order.state.is_terminal:
            return order  # duplicate, absorbed
        if order.accepted:
            raise OrderStateError(order.client_order_id, order.state, E.REJECT.value, "already accepted")
        return self._store(order._replace(state=state, reason=event.reason, updated_ns=event.ts_ns))

    def on_fill(self, fill: OwnFill) -> Order:
        order = self._find(fill.client_order_id, E.FILL)
        if fill.trade_id and fill.trade_id in order.trade_ids:
            return order  # replayed fill
        kind = E.FINAL_FILL if fill.qty_lots >= order.remaining_lots else E.FILL
        state = self._next(order, kind)
        if problem := _fill_problem(order, fill):
            raise OrderStateError(order.client_order_id, order.state, kind.value, problem)
        return self._store(
            order._replace(
                state=state,
                accepted_ns=fill.ts_ns if order.accepted_ns is None else order.accepted_ns,
                filled_lots=order.filled_lots + fill.qty_lots,
                fill_notional=order.fill_notional + fill.price_ticks * fill.qty_lots,
                fees_quote=order.fees_quote + fill.fee_quote,
                trade_ids=order.trade_ids | {fill.trade_id} if fill.trade_id else order.trade_ids,
                updated_ns=fill.ts_ns,
            )
        )

    def on_cancel_request(self, client_order_id: str, now_ns: int) -> Order:
        order, state = self._step(client_order_id, E.CANCEL_REQUEST)
        first_ns = now_ns if order.cancel_requested_ns is None else order.cancel_requested_ns
        in_flight = order.cancels_in_flight + 1
        return self._store(
            order._replace(
                state=state,
                cancel_requested_ns=first_ns,
                cancels_in_flight=in_flight,
                updated_ns=now_ns,
            )
        )

    def on_cancelled(self, event: OrderCancelled) -> Order:
        order, state = self._step(event.client_order_id, E.CANCELLED)
        if order.state.is_terminal:
            return order  # duplicate, absorbed
        return self._store(
            order._replace(state=state, cancels_in_flight=0, reason=event.reason, updated_ns=event.ts_ns)
        )

    def on_cancel_rejected(self, event: CancelRejected) -> Order:
        order, state = self._step(event.client_order_id, E.CANCEL_REJECTED)
        if order.state.is_terminal:
            return order  # the cancel lost the race, absorbed
        in_flight = order.cancels_in_flight - 1
        if in_flight > 0:
            state = S.PENDING_CANCEL  # a re-sent cancel is still unanswered
        return self._store(
            order._replace(
                state=state, cancels_in_flight=in_flight, reason=event.reason, updated_ns=event.ts_ns
            )
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
        return [o for o in self._live.values() if side is None or o.side is side]

    def exposure_lots(self, side: Side) -> int:
        """Lots that may still fill on ``side``: the remaining quantity of every non-terminal order."""
        return sum(o.remaining_lots for o in self._live.values() if o.side is side)

    def resting(self, side: Side) -> Order | None:
        """Our quote on ``side``: the newest live order there (None if there is none).

        After a replace (cancel + new) that is the new order. Pair it with ``in_flight(side)``: while
        any order on the side awaits an ack or a cancel answer, the quoting logic must not stack another.
        """
        for order in reversed(self._live.values()):
            if order.side is side:
                return order
        return None

    def side_summary(self, side: Side) -> tuple[Order | None, bool, int]:
        """One pass for the quoting logic: the side's newest resting QUOTE (limit or post-only; an
        IOC or market order is not a quote), whether any quote there awaits the venue, and the
        exposure of every live order on the side (IOCs included: they may still fill)."""
        newest: Order | None = None
        in_flight = False
        exposure = 0
        for order in self._live.values():
            request = order.request
            if request.side is side:
                exposure += request.qty_lots - order.filled_lots
                if request.order_type in _TAKER_TYPES:
                    continue
                newest = order
                if order.state in IN_FLIGHT_STATES:
                    in_flight = True
        return newest, in_flight, exposure

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
    def _find(self, client_order_id: str, kind: OrderEventKind) -> Order:
        order = self.get(client_order_id)
        if order is None:
            raise UnknownOrderId(client_order_id, None, kind.value, "no live or recent order has this id")
        return order

    def _step(self, client_order_id: str, kind: OrderEventKind) -> tuple[Order, OrderState]:
        order = self._find(client_order_id, kind)
        return order, self._next(order, kind)

    @staticmethod
    def _next(order: Order, kind: OrderEventKind) -> OrderState:
        target = TRANSITIONS[order.state].get(kind)
        if target is None:
            raise OrderStateError(order.client_order_id, order.state, kind.value)
        if isinstance(target, OrderState):
            return target
        return resume_state(order)

    def _store(self, order: Order) -> Order:
        self.version += 1
        cid = order.client_order_id
        if not order.state.is_terminal:
            self._live[cid] = order
            return order
        self._live.pop(cid, None)
        self._done[cid] = order
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


def resume_state(order: Order) -> OrderState:
    """The state an order in PENDING_CANCEL returns to when its cancel is rejected."""
    if order.filled_lots > 0:
        return S.PARTIALLY_FILLED
    return S.OPEN if order.accepted else S.PENDING_NEW


# ---------------------------------------------------------------------- client order ids
_ALNUM = re.compile(r"[A-Za-z0-9]+")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


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

    def __init__(self, prefix: str, *, start: int = 0, max_len: int = 32) -> None:
        if not _ALNUM.fullmatch(prefix):
            raise ValueError(f"client order id prefix must be ASCII letters and digits, got {prefix!r}")
        if len(prefix) + self.WIDTH > max_len:
            raise ValueError(f"prefix {prefix!r} too long: ids would exceed {max_len} characters")
        self.prefix = prefix
        self._counter = start

    @property
    def issued(self) -> int:
        return self._counter

    def next_id(self) -> str:
        if self._counter >= 36**self.WIDTH:
            raise OverflowError("client order id counter exhausted")
        cid = self.prefix + base36(self._counter).rjust(self.WIDTH, "0")
        self._counter += 1
        return cid
