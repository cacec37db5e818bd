"""Fault injection: which faults the Binance emulator injects, how often, and a count of each one
injected (the engine, with triggers and seeded draws, is ``sim.servers.faults``).

Request faults (a probability per request, 0..1): ``timeout_after_commit`` (an order or cancel takes
effect but its reply is held ``timeout_delay_s``, past the client's timeout; dropped if the client
goes away), ``late_arrival`` (an order or cancel reaches the venue ``timeout_delay_s`` late, as if
held up in the network: its timestamp is checked against its ``recvWindow`` only then, and if the
window still allows, it takes effect then, whether or not the client still waits; REST only),
``http_429`` (429, code -1003, ``Retry-After``), ``http_418`` (418 and a ban: every request gets 418
until ``ban_s`` have passed), ``http_503`` (the request is NOT executed; a plain text "Service
Unavailable"), ``clock_skew`` (-1021 on a signed request), ``reject`` (-2010 insufficient balance on
an order). The ``http_*`` faults are REST's; the others also apply to the
WebSocket API.

Stream faults (a rate per second): ``ws_drop`` (close every market-stream and WebSocket API socket),
``depth_gap`` (the next depth update skips update ids), ``price_spike`` (one depth update adds a
level 50% through the book; the next update removes it).

``trigger(name, on=...)`` keeps a triggered request fault for one REST request line such as
``"POST /api/v3/order"``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Final

from sim.servers import faults as engine
from sim.servers.faults import FaultError, FaultNames

__all__ = ["FAULTS", "NAMES", "REQUEST_FAULTS", "STREAM_FAULTS", "FaultError", "Faults", "parse_faults"]

REQUEST_FAULTS: Final = (
    "timeout_after_commit", "late_arrival", "http_429", "http_418", "http_503", "clock_skew", "reject",
)  # fmt: skip
STREAM_FAULTS: Final = ("ws_drop", "depth_gap", "price_spike")
FAULTS: Final = REQUEST_FAULTS + STREAM_FAULTS
NAMES: Final = FaultNames(REQUEST_FAULTS, STREAM_FAULTS)


def parse_faults(spec: str) -> dict[str, float]:
    """``"http_429=0.01,ws_drop=0.05"`` -> ``{"http_429": 0.01, "ws_drop": 0.05}``; "" -> {}."""
    return engine.parse_faults(spec, NAMES)


class Faults(engine.Faults):
    """The Binance emulator's fault plan, and the 418 ban it is serving (if any)."""

    def __init__(
        self,
        rates: Mapping[str, float] | None = None,
        *,
        seed: int = 0,
        timeout_delay_s: float = 15.0,
        ban_s: float = 2.0,
    ) -> None:
        super().__init__(NAMES, rates, seed=seed, timeout_delay_s=timeout_delay_s)
        if not (math.isfinite(ban_s) and ban_s > 0):
            raise FaultError(f"ban_s must be > 0, got {ban_s!r}")
        self.ban_s = ban_s
        self._ban_until_ns = 0
        self.refused_in_ban = 0  # REST requests that arrived while a ban ran (418 again)
        self.refused_in_ban_lines: Counter[str] = Counter()  # ... by request line

    def start_ban(self, now_ns: int) -> None:
        self._ban_until_ns = now_ns + int(self.ban_s * 1e9)

    def ban_left_s(self, now_ns: int) -> float:
        """Seconds the current 418 ban still lasts (0: not banned)."""
        return max(self._ban_until_ns - now_ns, 0) / 1e9

    def ban_until_ns(self) -> int:
        return self._ban_until_ns
