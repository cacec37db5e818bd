"""Machine-readable decision vocabulary: what was done on a side, and why.

These strings are stable: they are metric labels, log fields and keys of the run summary's
``decision_reasons`` (``"<action>(<reason>)"``). Add freely; rename none.
"""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    __hash__ = str.__hash__  # as fast as a str key (Enum's __hash__ is a Python-level call)

    SEND = "send"  # place a new order
    KEEP = "keep"  # leave the resting order as it is
    CANCEL = "cancel"  # cancel the resting order, place nothing
    REPLACE = "replace"  # cancel the resting order and place a new one
    NOTHING = "nothing"  # no order and none placed


class Reason(StrEnum):
    __hash__ = str.__hash__

    OPTIMAL_PRICE = "optimal_price"  # the model's price moved (or there was no order)
    WITHIN_TOLERANCE = "within_tolerance"  # resting order close enough to the new optimum
    FILL_LOCKOUT = "fill_lockout"
    REJECT_LOCKOUT = "reject_lockout"
    ORDER_LOCKOUT = "order_lockout"
    MAX_POSITION = "max_position"  # a fill on this side would breach the position limit
    STALE_BOOK = "stale_book"  # no fresh book within the stale-book limit
    NO_BOOK = "no_book"  # the book lacks a side, so no mid
    WARM_UP = "warm_up"  # estimators not ready yet
    KILL_SWITCH = "kill_switch"
    MAX_ORDER_AGE = "max_order_age"
    ORDER_IN_FLIGHT = "order_in_flight"  # an ack or a cancel confirmation is outstanding
    HORIZON_END = "horizon_end"  # outside the trading session / daily window
    SIZE_CHANGE = "size_change"  # resting size no longer fits the allowed size
    SUPERSEDED = "superseded"  # an older order on a side that has a newer quote (its cancel was refused)
    SHUTDOWN = "shutdown"  # the run is ending: cancel everything
    HARD_POSITION = "hard_position"  # taker unwind beyond the hard position limit


# Every member as a module global. On Python 3.11 reading ``Action.SEND`` costs ~70 ns
# (``EnumType.__getattr__`` keeps class attribute reads off the interpreter's fast path), a global
# ~6 ns: the per-update code (``decide``, ``MarketCore``) imports these.
SEND = Action.SEND
KEEP = Action.KEEP
CANCEL = Action.CANCEL
REPLACE = Action.REPLACE
NOTHING = Action.NOTHING
OPTIMAL_PRICE = Reason.OPTIMAL_PRICE
WITHIN_TOLERANCE = Reason.WITHIN_TOLERANCE
FILL_LOCKOUT = Reason.FILL_LOCKOUT
REJECT_LOCKOUT = Reason.REJECT_LOCKOUT
ORDER_LOCKOUT = Reason.ORDER_LOCKOUT
MAX_POSITION = Reason.MAX_POSITION
STALE_BOOK = Reason.STALE_BOOK
NO_BOOK = Reason.NO_BOOK
WARM_UP = Reason.WARM_UP
KILL_SWITCH = Reason.KILL_SWITCH
MAX_ORDER_AGE = Reason.MAX_ORDER_AGE
ORDER_IN_FLIGHT = Reason.ORDER_IN_FLIGHT
HORIZON_END = Reason.HORIZON_END
SIZE_CHANGE = Reason.SIZE_CHANGE
SUPERSEDED = Reason.SUPERSEDED
SHUTDOWN = Reason.SHUTDOWN
HARD_POSITION = Reason.HARD_POSITION
