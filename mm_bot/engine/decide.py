"""``decide``: from targets, resting orders, lockouts and gates to one action per side, with a reason.

Pure and allocation-light: it runs on every book update. Inputs are what the strategy wants
(``SideTarget``: a price and size, or a reason it must not quote) and what we have resting
(``Resting``). Rules, per side, first match wins:

1. Global gates (kill switch, stale book, no book, warm-up, horizon end): cancel a resting order,
   otherwise do nothing; the gate is the reason.
2. The target is blocked (e.g. ``max_position``): cancel a resting order / do nothing, with that reason.
3. An order on this side has an ack or cancel outstanding: nothing (``order_in_flight``); we
   never stack a second order on a side whose first one's fate is unknown.
4. A resting order:
   - older than the maximum order age: replace (``max_order_age``);
   - larger than the allowed size (inventory near the limit): replace (``size_change``);
   - within the tolerance band of the new optimal price: keep (``within_tolerance``);
   - otherwise the price moved: replace (``optimal_price``).
   A replace needs a new order, so lockouts apply: under an order lockout (a rate limit) the old
   order is kept (``order_lockout``); under a fill or reject lockout it is cancelled and nothing
   new is sent (the lockout is the reason).
5. No resting order: send (``optimal_price``), unless a lockout is active (nothing, lockout reason).

The tolerance band is in basis points of the mid, converted to ticks by the caller.

The value types here are NamedTuples rather than frozen dataclasses: as immutable, and several
times cheaper to build, which matters on a path that runs on every book update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from mm_bot.engine.lockouts import Lockouts
from mm_bot.engine.reasons import (
    CANCEL,
    KEEP,
    MAX_ORDER_AGE,
    NOTHING,
    OPTIMAL_PRICE,
    ORDER_IN_FLIGHT,
    ORDER_LOCKOUT,
    REPLACE,
    SEND,
    SIZE_CHANGE,
    WITHIN_TOLERANCE,
    Action,
    Reason,
)
from mm_bot.model import BUY, SELL, Side


class SideTarget(NamedTuple):
    """What the strategy wants on one side. ``blocked`` set means "do not quote", with why."""

    price_ticks: int
    qty_lots: int
    blocked: Reason | None = None


class Resting(NamedTuple):
    """Our live order on one side, as the order table sees it."""

    client_order_id: str
    price_ticks: int
    remaining_lots: int
    created_ns: int
    in_flight: bool  # pending new (no ack yet) or pending cancel


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
        return LABELS[self.action][self.reason]


# "<action>(<reason>)" for every pair, built once: the key counted in summaries, metrics and logs.
LABELS: dict[Action, dict[Reason, str]] = {a: {r: f"{a.value}({r.value})" for r in Reason} for a in Action}
ALL_LABELS: tuple[str, ...] = tuple(label for row in LABELS.values() for label in row.values())


@dataclass(frozen=True, slots=True)
class DecideParams:
    max_order_age_ns: int


# NamedTuple(...) runs a Python-level __new__ (~220 ns); tuple.__new__ builds the same immutable
# value in ~100 ns. Used where a value is built on every update; every field is passed (no defaults).
_new = tuple.__new__

# A decision that carries no order (keep, nothing) is a plain value: built once per (side, action,
# reason) and shared, which is safe because NamedTuples are immutable and cheaper than building one.
_PLAIN: dict[Side, dict[Action, dict[Reason, SideDecision]]] = {
    s: {a: {r: SideDecision(s, a, r) for r in Reason} for a in (Action.KEEP, Action.NOTHING)} for s in Side
}


def decide_side(
    side: Side,
    target: SideTarget,
    resting: Resting | None,
    gate: Reason | None,
    lockouts: Lockouts,
    tolerance_ticks: float,
    params: DecideParams,
    now_ns: int,
) -> SideDecision:
    """One side's decision; see the module docstring for the rules."""
    # Fields are unpacked, not read by name: a NamedTuple attribute read is not specialised by
    # CPython 3.11 and costs about twice a tuple unpack per field (this runs twice per update).
    price_ticks, qty_lots, blocked = target
    if gate is not None:
        blocked = gate
    if resting is None:
        if blocked is not None:
            return _PLAIN[side][NOTHING][blocked]
        lock = lockouts.active(side, now_ns)
        if lock is not None:
            return _PLAIN[side][NOTHING][lock]
        return _new(SideDecision, (side, SEND, OPTIMAL_PRICE, price_ticks, qty_lots, ""))
    cid, resting_ticks, remaining_lots, created_ns, in_flight = resting
    if blocked is not None:
        if not in_flight:
            return _new(SideDecision, (side, CANCEL, blocked, 0, 0, cid))
        return _PLAIN[side][NOTHING][blocked]
    if in_flight:
        return _PLAIN[side][NOTHING][ORDER_IN_FLIGHT]
    if now_ns - created_ns >= params.max_order_age_ns:
        reason = MAX_ORDER_AGE
    elif remaining_lots > qty_lots:
        reason = SIZE_CHANGE
    elif abs(price_ticks - resting_ticks) <= tolerance_ticks:
        return _PLAIN[side][KEEP][WITHIN_TOLERANCE]
    else:
        reason = OPTIMAL_PRICE
    lock = lockouts.active(side, now_ns)
    if lock is ORDER_LOCKOUT:
        return _PLAIN[side][KEEP][lock]
    if lock is not None:
        return _new(SideDecision, (side, CANCEL, lock, 0, 0, cid))
    return _new(SideDecision, (side, REPLACE, reason, price_ticks, qty_lots, cid))


def decide(
    bid: SideTarget,
    ask: SideTarget,
    resting_bid: Resting | None,
    resting_ask: Resting | None,
    gate: Reason | None,
    lockouts: Lockouts,
    tolerance_ticks: float,
    params: DecideParams,
    now_ns: int,
) -> tuple[SideDecision, SideDecision]:
    """Both sides' decisions, bid first."""
    return (
        decide_side(BUY, bid, resting_bid, gate, lockouts, tolerance_ticks, params, now_ns),
        decide_side(SELL, ask, resting_ask, gate, lockouts, tolerance_ticks, params, now_ns),
    )
