"""The fault engine every emulator shares: which faults it knows, how often each is injected, the
count of each one injected. Each emulator names its own faults (``FaultNames``) and states what they
do; ``sim.servers.binance.faults`` and ``sim.servers.grpc.faults`` are the two plans.

Request faults have a probability per request (0..1); stream faults a rate per second, checked by
the emulator's clock task. Rates come from ``--faults name=rate,...`` (``parse_faults``);
``set_rate`` changes one at run time and ``trigger`` makes the next ``count`` chances of a fault hit
it for sure (requests that the fault applies to, or the next stream checks), whatever the rate.
Random draws come from one ``random.Random(seed)`` and are made only for faults whose rate is > 0, so
a seed and a spec fix the sequence of draws.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["FaultError", "FaultNames", "Faults", "parse_faults"]


class FaultError(ValueError):
    """A fault spec, name, rate or count that cannot be used; the message names the problem."""


@dataclass(frozen=True, slots=True)
class FaultNames:
    """The faults of one emulator: ``request`` ones (a probability per request) and ``stream`` ones
    (a rate per second)."""

    request: tuple[str, ...]
    stream: tuple[str, ...]

    @property
    def all(self) -> tuple[str, ...]:
        return self.request + self.stream

    def check(self, name: str, rate: float) -> None:
        """FaultError unless ``name`` is one of these faults and ``rate`` a rate it may have."""
        if name not in self.all:
            raise FaultError(f"unknown fault {name!r} (known: {', '.join(self.all)})")
        if not (math.isfinite(rate) and rate >= 0):
            raise FaultError(f"{name}: rate must be a finite number >= 0, got {rate!r}")
        if name in self.request and rate > 1:
            raise FaultError(f"{name}: a request fault's rate is a probability in [0, 1], got {rate!r}")


def parse_faults(spec: str, names: FaultNames) -> dict[str, float]:
    """``"http_429=0.01,ws_drop=0.05"`` -> ``{"http_429": 0.01, "ws_drop": 0.05}``; "" -> {}."""
    rates: dict[str, float] = {}
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep:
            raise FaultError(f"{item!r}: expected name=rate")
        if name in rates:
            raise FaultError(f"fault {name!r} given twice")
        try:
            rate = float(text)
        except ValueError:
            raise FaultError(f"{name}: rate {text.strip()!r} is not a number") from None
        names.check(name, rate)
        rates[name] = rate
    return rates


class Faults:
    """The fault plan of one emulator and the count of faults injected (``injected``)."""

    def __init__(
        self,
        names: FaultNames,
        rates: Mapping[str, float] | None = None,
        *,
        seed: int = 0,
        timeout_delay_s: float = 15.0,
    ) -> None:
        if not (math.isfinite(timeout_delay_s) and timeout_delay_s > 0):
            raise FaultError(f"timeout_delay_s must be > 0, got {timeout_delay_s!r}")
        self.names = names
        self.timeout_delay_s = timeout_delay_s  # how long a held reply (timeout_after_commit) waits
        self._rates = dict.fromkeys(names.all, 0.0)
        for name, rate in (rates or {}).items():
            self.set_rate(name, rate)
        self._triggered = dict.fromkeys(names.all, 0)
        self._trigger_on: dict[str, str] = {}  # a triggered request fault kept for one kind of request
        self._last_check_ns: dict[str, int] = {}
        self._rng = random.Random(seed)
        self.injected = dict.fromkeys(names.all, 0)

    def set_rate(self, name: str, rate: float) -> None:
        self.names.check(name, rate)
        self._rates[name] = float(rate)

    def rate(self, name: str) -> float:
        self.names.check(name, 0.0)
        return self._rates[name]

    def trigger(self, name: str, count: int = 1, *, on: str | None = None) -> None:
        """The next ``count`` chances of ``name`` inject it; with ``on`` (a kind of request, as the
        emulator names it to ``request_hit``), only chances of such requests, so that a test's fault
        is not taken by a background request of the client."""
        self.names.check(name, 0.0)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise FaultError(f"trigger count must be an integer >= 1, got {count!r}")
        if on is not None and self._trigger_on.get(name, on) != on:
            raise FaultError(f"{name} is already triggered for {self._trigger_on[name]!r}")
        self._triggered[name] += count
        if on is not None:
            self._trigger_on[name] = on

    def request_hit(self, name: str, request: str | None = None) -> bool:
        """Whether this request (of the kind ``request`` where known) gets fault ``name`` (a request
        fault); counts it if so."""
        if name not in self.names.request:
            raise FaultError(f"{name!r} is not a request fault")
        on = self._trigger_on.get(name)
        if on is not None and on != request:
            return self._random_hit(name, self._rates[name])
        hit = self._hit(name, self._rates[name])
        if not self._triggered[name]:
            self._trigger_on.pop(name, None)
        return hit

    def stream_hit(self, name: str, now_ns: int) -> bool:
        """Whether the stream fault ``name`` happens now: probability 1 - exp(-rate * dt) for the
        time dt since the last check of it; counts it if so."""
        dt_s = self._since_last_check_s(name, now_ns)
        return self._hit(name, -math.expm1(-self._rates[name] * dt_s) if dt_s > 0 else 0.0)

    def stream_skip(self, name: str, now_ns: int) -> None:
        """The stream fault ``name`` has nothing to act on now: no draw, no trigger used, and the time
        since the last check is not counted towards the next one."""
        self._since_last_check_s(name, now_ns)

    def _since_last_check_s(self, name: str, now_ns: int) -> float:
        if name not in self.names.stream:
            raise FaultError(f"{name!r} is not a stream fault")
        last = self._last_check_ns.get(name, now_ns)
        self._last_check_ns[name] = now_ns
        return max(now_ns - last, 0) / 1e9

    def _hit(self, name: str, probability: float) -> bool:
        if self._triggered[name]:
            self._triggered[name] -= 1
            self.injected[name] += 1
            return True
        return self._random_hit(name, probability)

    def _random_hit(self, name: str, probability: float) -> bool:
        if probability <= 0 or self._rng.random() >= probability:
            return False
        self.injected[name] += 1
        return True
