"""The lifecycle of our own orders as a transition table (sans-IO).

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

The table of orders that applies these transitions is ``mm_bot.engine.orders.OrderTable``.
"""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Final

from mm_bot.errors import MmBotError

if TYPE_CHECKING:
    from mm_bot.engine.orders import Order


class OrderState(StrEnum):
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


class OrderEventKind(StrEnum):
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
IN_FLIGHT_STATES: Final = frozenset({S.PENDING_NEW, S.PENDING_CANCEL})  # awaiting an ack or a cancel answer


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


def next_state(order: Order, kind: OrderEventKind) -> OrderState:
    """The state ``order`` moves to on ``kind``; raises ``OrderStateError`` if the table has no entry."""
    target = TRANSITIONS[order.state].get(kind)
    if target is None:
        raise OrderStateError(order.client_order_id, order.state, kind.value)
    return resume_state(order) if target is RESUME else target


def resume_state(order: Order) -> OrderState:
    """The state an order in PENDING_CANCEL returns to when its cancel is rejected."""
    if order.filled_lots > 0:
        return S.PARTIALLY_FILLED
    return S.OPEN if order.accepted else S.PENDING_NEW
