"""Per-side lockouts: quiet periods after a fill, after a reject, and between orders.

A lockout blocks *sending* on its side until its deadline; it never blocks a cancel (cancelling
only reduces risk). Pure: times are injected integer nanoseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from mm_bot.engine.reasons import FILL_LOCKOUT, ORDER_LOCKOUT, REJECT_LOCKOUT, Reason
from mm_bot.model import Side


@dataclass(frozen=True, slots=True)
class LockoutParams:
    after_fill_ns: int
    after_reject_ns: int
    between_orders_ns: int


class Lockouts:
    """Deadlines per side and kind. ``active`` reports the most serious one still running."""

    __slots__ = ("_any_until", "_fill_until", "_order_until", "_params", "_reject_until")

    def __init__(self, params: LockoutParams) -> None:
        self._params = params
        self._fill_until = {Side.BUY: 0, Side.SELL: 0}
        self._reject_until = {Side.BUY: 0, Side.SELL: 0}
        self._order_until = {Side.BUY: 0, Side.SELL: 0}
        # The latest of the three per side: ``active`` answers "none" with one lookup (most calls).
        self._any_until = {Side.BUY: 0, Side.SELL: 0}

    def on_fill(self, side: Side, now_ns: int) -> None:
        until = now_ns + self._params.after_fill_ns
        if until > self._fill_until[side]:
            self._fill_until[side] = until
            if until > self._any_until[side]:
                self._any_until[side] = until

    def on_reject(self, side: Side, now_ns: int) -> None:
        until = now_ns + self._params.after_reject_ns
        if until > self._reject_until[side]:
            self._reject_until[side] = until
            if until > self._any_until[side]:
                self._any_until[side] = until

    def on_order_sent(self, side: Side, now_ns: int) -> None:
        until = now_ns + self._params.between_orders_ns  # every send: a comparison, not a max() call
        if until > self._order_until[side]:
            self._order_until[side] = until
            if until > self._any_until[side]:
                self._any_until[side] = until

    def active(self, side: Side, now_ns: int) -> Reason | None:
        """The lockout in force on ``side`` at ``now_ns``: reject, then fill, then order; or None."""
        if now_ns >= self._any_until[side]:
            return None
        if now_ns < self._reject_until[side]:
            return REJECT_LOCKOUT
        if now_ns < self._fill_until[side]:
            return FILL_LOCKOUT
        if now_ns < self._order_until[side]:
            return ORDER_LOCKOUT
        return None

    def next_change_ns(self, side: Side, now_ns: int) -> int:
        """The next deadline on ``side`` after ``now_ns`` (when ``active`` may change), or 0 if none."""
        later = [
            t
            for t in (self._fill_until[side], self._reject_until[side], self._order_until[side])
            if t > now_ns
        ]
        return min(later) if later else 0

    def next_deadline_ns(self, now_ns: int) -> int:
        """The first deadline after ``now_ns`` on either side, or 0 if none (one call per update)."""
        nxt = 0
        for deadlines in (self._fill_until, self._reject_until, self._order_until):
            for t in deadlines.values():
                if t > now_ns and (nxt == 0 or t < nxt):
                    nxt = t
        return nxt

    def until_ns(self, side: Side) -> int:
        """When every lockout on ``side`` has ended (0 if none ever ran)."""
        return self._any_until[side]
