"""Fault injection of the gRPC venue: which faults it injects, how often, and the outages they start
(the engine, with triggers and seeded draws, is ``sim.servers.faults``).

Request faults (a probability per call, 0..1; ``trigger(name, on="Place")`` keeps a triggered one
for one rpc, named as in the proto):
- ``timeout_after_commit`` (Place and Cancel): the action takes effect, its reply is held
  ``timeout_delay_s`` (longer than a client's deadline) and dropped if the client has gone away.
- ``unavailable`` (every call, streams' subscriptions included): starts a burst: this call and every
  call for ``burst_s`` after it is answered UNAVAILABLE without being executed.

Stream faults (a rate per second, checked by the clock task):
- ``restart``: the gateway restarts: every stream ends UNAVAILABLE, a new session id starts and every
  call is answered UNAVAILABLE for ``restart_down_s``; the exchanges behind it keep their state.
- ``stream_gap``: the next message of one live stream (market or orders, picked by a seeded draw) is
  dropped and its seq skipped. Checked only while a stream is live.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

from sim.servers import faults as engine
from sim.servers.faults import FaultError, FaultNames

__all__ = ["FAULTS", "NAMES", "REQUEST_FAULTS", "STREAM_FAULTS", "FaultError", "Faults", "parse_faults"]

REQUEST_FAULTS: Final = ("timeout_after_commit", "unavailable")
STREAM_FAULTS: Final = ("restart", "stream_gap")
FAULTS: Final = REQUEST_FAULTS + STREAM_FAULTS
NAMES: Final = FaultNames(REQUEST_FAULTS, STREAM_FAULTS)


def parse_faults(spec: str) -> dict[str, float]:
    """``"restart=0.01,unavailable=0.001"`` -> ``{"restart": 0.01, "unavailable": 0.001}``; "" -> {}."""
    return engine.parse_faults(spec, NAMES)


class Faults(engine.Faults):
    """The gRPC venue's fault plan, and the ``unavailable`` burst it is serving (if any)."""

    def __init__(
        self,
        rates: Mapping[str, float] | None = None,
        *,
        seed: int = 0,
        timeout_delay_s: float = 15.0,
        burst_s: float = 0.5,
        restart_down_s: float = 0.3,
    ) -> None:
        super().__init__(NAMES, rates, seed=seed, timeout_delay_s=timeout_delay_s)
        for name, value in (("burst_s", burst_s), ("restart_down_s", restart_down_s)):
            if not (math.isfinite(value) and value > 0):
                raise FaultError(f"{name} must be > 0, got {value!r}")
        self.burst_s = burst_s
        self.restart_down_s = restart_down_s
        self._burst_until_ns = 0

    def start_burst(self, now_ns: int) -> None:
        self._burst_until_ns = now_ns + int(self.burst_s * 1e9)

    def burst_left_s(self, now_ns: int) -> float:
        """Seconds the current ``unavailable`` burst still lasts (0: none)."""
        return max(self._burst_until_ns - now_ns, 0) / 1e9
