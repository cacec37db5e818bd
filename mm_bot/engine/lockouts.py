"""Per-side lockouts: quiet periods after a fill, after a reject, and between orders.

A lockout blocks *sending* on its side until its deadline; it never blocks a cancel (cancelling
only reduces risk). Pure: times are injected integer nanoseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from mm_bot.engine.reasons import Reason
from mm_bot.model import Side


@dataclass(frozen=True, slots=True)
class LockoutParams:
    after_fill_ns: int
    after_reject_ns: int
    between_orders_ns: int


class Lockouts:
    """Deadlines per side and kind. ``active`` reports the most serious one still running."""

    def __init__(self, params: LockoutParams) -> None:
        self._params = params
        # kind -> side -> the time the lockout ends; ordered by seriousness for ``active``
        self._until: dict[Reason, dict[Side, int]] = {
            kind: {Side.BUY: 0, Side.SELL: 0}
            for kind in (Reason.REJECT_LOCKOUT, Reason.FILL_LOCKOUT, Reason.ORDER_LOCKOUT)
        }
        self._latest = {Side.BUY: 0, Side.SELL: 0}  # when every lockout of the side has ended

    def on_fill(self, side: Side, now_ns: int) -> None:
        self._extend(Reason.FILL_LOCKOUT, side, now_ns + self._params.after_fill_ns)

    def on_reject(self, side: Side, now_ns: int) -> None:
        self._extend(Reason.REJECT_LOCKOUT, side, now_ns + self._params.after_reject_ns)

    def on_order_sent(self, side: Side, now_ns: int) -> None:
        self._extend(Reason.ORDER_LOCKOUT, side, now_ns + self._params.between_orders_ns)

    def active(self, side: Side, now_ns: int) -> Reason | None:
        """The lockout in force on ``side`` at ``now_ns``: reject, then fill, then order; or None."""
        if now_ns >= self._latest[side]:
            return None
        for kind, until in self._until.items():
            if now_ns < until[side]:
                return kind
        return None

    def next_deadline_ns(self, now_ns: int) -> int | None:
        """The first deadline after ``now_ns`` on either side (when ``active`` may change), or None."""
        later = [t for until in self._until.values() for t in until.values() if t > now_ns]
        return min(later) if later else None

    def until_ns(self, side: Side) -> int:
        """When every lockout on ``side`` has ended (0 if none ever ran)."""
        return self._latest[side]

    def _extend(self, kind: Reason, side: Side, until_ns: int) -> None:
        if until_ns > self._until[kind][side]:
            self._until[kind][side] = until_ns
            self._latest[side] = max(self._latest[side], until_ns)
