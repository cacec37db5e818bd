"""The trading horizon: how much time the A-S/GLFT models see left (tau), and when quoting ends.

- ``infinite``: a rolling horizon, tau = ``tau_s`` at all times (stationary quotes); never ends.
- ``session``: one session of ``session_length_s`` from the start of the run; tau = T - t, so the
  inventory skew fades towards the end as in the paper; ends at T.
- ``daily``: a UTC window [start, end) every day (it may wrap midnight, e.g. 22:00-06:00); tau is
  the time to the window's end; outside the window quoting has ended until it reopens.

What happens at the end is ``at_end``: ``cancel_only`` (cancel quotes, keep the position),
``flatten`` (cancel, then unwind the position with taker orders), ``stop_quoting`` (send nothing
new; resting orders stay until they reach the maximum order age). Pure: time is injected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

NS = 1_000_000_000
DAY_NS = 86_400 * NS

HorizonKind = Literal["infinite", "session", "daily"]
AtEnd = Literal["cancel_only", "flatten", "stop_quoting"]


@dataclass(frozen=True, slots=True)
class HorizonParams:
    kind: HorizonKind
    tau_s: float  # the rolling horizon for ``infinite``
    session_length_s: float = 0.0
    daily_start_s: int = 0  # seconds after 00:00 UTC
    daily_end_s: int = 0
    at_end: AtEnd = "cancel_only"


class HorizonState:
    __slots__ = ("_end_ns", "params")

    def __init__(self, params: HorizonParams, start_ns: int) -> None:
        self.params = params
        self._end_ns = start_ns + int(params.session_length_s * NS)

    def _daily_left_ns(self, now_ns: int) -> int:
        """Time to the end of the daily window if inside it, else 0."""
        p = self.params
        t = now_ns % DAY_NS
        start, end = p.daily_start_s * NS, p.daily_end_s * NS
        if start < end:
            return end - t if start <= t < end else 0
        # wraps midnight: [start, 24h) + [0, end)
        if t >= start:
            return DAY_NS - t + end
        return end - t if t < end else 0

    def tau_s(self, now_ns: int) -> float:
        kind = self.params.kind
        if kind == "infinite":
            return self.params.tau_s
        if kind == "session":
            return max(self._end_ns - now_ns, 0) / NS
        return self._daily_left_ns(now_ns) / NS

    def ended(self, now_ns: int) -> bool:
        kind = self.params.kind
        if kind == "infinite":
            return False
        if kind == "session":
            return now_ns >= self._end_ns
        return self._daily_left_ns(now_ns) == 0
