"""Machine-readable decision vocabulary: what was done on a side, and why; and why a kill switch fired.

These strings are stable: they are metric labels, log fields and keys of the run summary's
``decision_reasons`` (``"<action>(<reason>)"``) and ``kill_reason``. Add freely; rename none.
"""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    SEND = "send"  # place a new order
    KEEP = "keep"  # leave the resting order as it is
    CANCEL = "cancel"  # cancel the resting order, place nothing
    REPLACE = "replace"  # cancel the resting order and place a new one
    NOTHING = "nothing"  # no order and none placed


class Reason(StrEnum):
    OPTIMAL_PRICE = "optimal_price"  # the model's price moved (or there was no order)
    WITHIN_TOLERANCE = "within_tolerance"  # resting order close enough to the new optimum
    FILL_LOCKOUT = "fill_lockout"
    REJECT_LOCKOUT = "reject_lockout"
    ORDER_LOCKOUT = "order_lockout"
    MAX_POSITION = "max_position"  # a fill on this side would breach the position limit
    STALE_BOOK = "stale_book"  # no fresh book within the stale-book limit
    NO_BOOK = "no_book"  # no book yet, or one side of it is empty: no mid
    UNTRUSTED_BOOK = "untrusted_book"  # the last book failed validation; no good one since
    WARM_UP = "warm_up"  # estimators not ready yet
    NO_POLICY = "no_policy"  # quoting from outside depths (a Gymnasium agent), none given yet
    KILL_SWITCH = "kill_switch"
    MAX_ORDER_AGE = "max_order_age"
    ORDER_IN_FLIGHT = "order_in_flight"  # an ack or a cancel confirmation is outstanding
    HORIZON_END = "horizon_end"  # outside the trading session / daily window
    SIZE_CHANGE = "size_change"  # resting size no longer fits the allowed size
    SUPERSEDED = "superseded"  # an older order on a side that has a newer quote
    SHUTDOWN = "shutdown"  # the run is ending: cancel everything
    HARD_POSITION = "hard_position"  # taker unwind beyond the hard position limit
    DISCONNECTED = "disconnected"  # the venue's streams are down
    RATE_LIMITED = "rate_limited"  # the venue limits our request rate or banned us for a while
    RECONCILING = "reconciling"  # our state and the venue's have not been compared yet
    RECONCILE_MISMATCH = "reconcile_mismatch"  # the venue disagrees with us: quotes pulled
    ORPHAN = "orphan"  # an order of ours the venue holds that we were not tracking
    CANCEL_RETRY = "cancel_retry"  # a cancel got no answer: sent again
    JOURNAL_FAILED = "journal_failed"  # the journal cannot be written: stop trading


class KillReason(StrEnum):
    """Every reason the kill switch can fire with: the ``reason`` label of ``mm_kill_switch_total``,
    whose series exist at 0 from the start (so an alert sees the first trip as an increase)."""

    DAILY_LOSS_LIMIT = "daily_loss_limit"  # the day's marked-to-market loss passed the limit
