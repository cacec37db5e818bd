"""``decide_side``: from a target, our resting order, lockouts and gates to one action, with a reason.

Pure. Inputs are what the strategy wants (``SideTarget``: a price and size, or a reason it must not
quote) and what we have on the side (the order table's ``SideSummary``: its newest live quote, and
whether any quote there awaits the venue). Rules, per side, first match wins:

1. A global gate (kill switch, stale or untrusted book, no book, disconnected, rate limited,
   reconciling, warm-up, horizon end) or a blocked target (e.g. ``max_position``): cancel the
   resting order unless its cancel is already on the way (then nothing); with no resting order,
   nothing. The gate or the block is the reason. A gate cancels an order even while its ack is
   outstanding: a quote we must not have is pulled as soon as possible.
2. An order on this side has an ack or cancel outstanding: nothing (``order_in_flight``); we
   never stack a second order on a side whose first one's fate is unknown.
3. A resting order:
   - older than the maximum order age: replace (``max_order_age``);
   - larger than the allowed size (inventory near the limit): replace (``size_change``);
   - within the tolerance band of the new optimal price: keep (``within_tolerance``);
   - otherwise the price moved: replace (``optimal_price``).
   A replace needs a new order, so lockouts apply: under an order lockout (a rate limit) the old
   order is kept (``order_lockout``); under a fill or reject lockout it is cancelled and nothing
   new is sent (the lockout is the reason).
4. No resting order: send (``optimal_price``), unless a lockout is active (nothing, lockout reason).

The tolerance band is in basis points of the mid, converted to ticks by the caller. Older live
orders on a side (a replaced order whose cancel was refused) are the order manager's business, not
this function's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from mm_bot.engine.lockouts import Lockouts
from mm_bot.engine.order_states import OrderState
from mm_bot.engine.orders import SideSummary
from mm_bot.engine.reasons import Action, Reason
from mm_bot.model import Side


# The per-update values are NamedTuples: as immutable as frozen dataclasses and a third of their cost
# to build (about 0.4 against 1.1 us, several of them on every update).
class SideTarget(NamedTuple):
    """What the strategy wants on one side. ``blocked`` set means "do not quote", with why."""

    price_ticks: int
    qty_lots: int
    blocked: Reason | None = None


class SideDecision(NamedTuple):
    side: Side
    action: Action
    reason: Reason
    price_ticks: int = 0  # for send / replace
    qty_lots: int = 0  # for send / replace
    cancel_client_order_id: str = ""  # for cancel / replace

    @property
    def label(self) -> str:
        """``"send(optimal_price)"``: the key counted in the run summary and logs."""
        return label(self.action, self.reason)


LABELS: dict[tuple[Action, Reason], str] = {(a, r): f"{a.value}({r.value})" for a in Action for r in Reason}


def label(action: Action, reason: Reason) -> str:
    return LABELS[action, reason]


@dataclass(frozen=True, slots=True)
class DecideParams:
    max_order_age_ns: int


def decide_side(
    side: Side,
    target: SideTarget,
    summary: SideSummary,
    gate: Reason | None,
    lockouts: Lockouts,
    tolerance_ticks: float,
    params: DecideParams,
    now_ns: int,
) -> SideDecision:
    """One side's decision; see the module docstring for the rules."""
    blocked = gate if gate is not None else target.blocked
    resting = summary.newest
    if resting is None:
        if blocked is not None:
            return SideDecision(side, Action.NOTHING, blocked)
        lock = lockouts.active(side, now_ns)
        if lock is not None:
            return SideDecision(side, Action.NOTHING, lock)
        return SideDecision(side, Action.SEND, Reason.OPTIMAL_PRICE, target.price_ticks, target.qty_lots)
    request = resting.request
    cid = request.client_order_id
    if blocked is not None:
        if resting.state is OrderState.PENDING_CANCEL:
            return SideDecision(side, Action.NOTHING, blocked)
        return SideDecision(side, Action.CANCEL, blocked, cancel_client_order_id=cid)
    if summary.in_flight:
        return SideDecision(side, Action.NOTHING, Reason.ORDER_IN_FLIGHT)
    if now_ns - resting.sent_ns >= params.max_order_age_ns:
        reason = Reason.MAX_ORDER_AGE
    elif request.qty_lots - resting.filled_lots > target.qty_lots:
        reason = Reason.SIZE_CHANGE
    elif abs(target.price_ticks - request.price_ticks) <= tolerance_ticks:
        return SideDecision(side, Action.KEEP, Reason.WITHIN_TOLERANCE)
    else:
        reason = Reason.OPTIMAL_PRICE
    lock = lockouts.active(side, now_ns)
    if lock is Reason.ORDER_LOCKOUT:
        return SideDecision(side, Action.KEEP, lock)
    if lock is not None:
        return SideDecision(side, Action.CANCEL, lock, cancel_client_order_id=cid)
    return SideDecision(side, Action.REPLACE, reason, target.price_ticks, target.qty_lots, cid)


def decide_stop_quoting(side: Side, summary: SideSummary, params: DecideParams, now_ns: int) -> SideDecision:
    """After the horizon's end with ``at_end: stop_quoting``: nothing new is sent; a resting order stays
    until it reaches the maximum order age, then it is cancelled."""
    resting = summary.newest
    if resting is None or summary.in_flight:
        return SideDecision(side, Action.NOTHING, Reason.HORIZON_END)
    if now_ns - resting.sent_ns >= params.max_order_age_ns:
        return SideDecision(
            side, Action.CANCEL, Reason.MAX_ORDER_AGE, cancel_client_order_id=resting.client_order_id
        )
    return SideDecision(side, Action.KEEP, Reason.HORIZON_END)
