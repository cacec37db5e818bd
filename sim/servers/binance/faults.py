"""Fault injection: which faults the emulator injects, how often, and a count of each one injected.

Request faults (a probability per request, 0..1): ``timeout_after_commit`` (an order or cancel takes
effect but its reply is held ``timeout_delay_s``, past the client's timeout; dropped if the client
goes away), ``http_429`` (429, code -1003, ``Retry-After``), ``http_418`` (418 and a ban: every
request gets 418 until ``ban_s`` have passed), ``http_503`` (the request is NOT executed; a plain
text "Service Unavailable"), ``clock_skew`` (-1021 on a signed request), ``reject`` (-2010
insufficient balance on an order). The ``http_*`` faults are REST's; the others also apply to the
WebSocket API.

Stream faults (a rate per second): ``ws_drop`` (close every market-stream and WebSocket API socket),
``depth_gap`` (the next depth update skips update ids), ``price_spike`` (one depth update adds a
level 50% through the book; the next update removes it).

Rates come from ``--faults name=rate,...``; ``set_rate`` changes one at run time and ``trigger``
makes the next ``count`` chances of a fault hit it for sure (requests that the fault applies to, or
the next stream checks), whatever the rate. Random draws come from one ``random.Random(seed)`` and
are made only for faults whose rate is > 0, so a seed and a spec fix the sequence of draws.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Final

__all__ = ["FAULTS", "REQUEST_FAULTS", "STREAM_FAULTS", "FaultError", "Faults", "parse_faults"]

REQUEST_FAULTS: Final = ("timeout_after_commit", "http_429", "http_418", "http_503", "clock_skew", "reject")
STREAM_FAULTS: Final = ("ws_drop", "depth_gap", "price_spike")
FAULTS: Final = REQUEST_FAULTS + STREAM_FAULTS


class FaultError(ValueError):
    """A fault spec, name, rate or count that cannot be used; the message names the problem."""


def parse_faults(spec: str) -> dict[str, float]:
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
        _check(name, rate)
        rates[name] = rate
    return rates


def _check(name: str, rate: float) -> None:
    if name not in FAULTS:
        raise FaultError(f"unknown fault {name!r} (known: {', '.join(FAULTS)})")
    if not (math.isfinite(rate) and rate >= 0):
        raise FaultError(f"{name}: rate must be a finite number >= 0, got {rate!r}")
    if name in REQUEST_FAULTS and rate > 1:
        raise FaultError(f"{name}: a request fault's rate is a probability in [0, 1], got {rate!r}")


class Faults:
    """The fault plan of one emulator and the count of faults injected (``injected``)."""

    def __init__(
        self,
        rates: Mapping[str, float] | None = None,
        *,
        seed: int = 0,
        timeout_delay_s: float = 15.0,
        ban_s: float = 2.0,
    ) -> None:
        if not (math.isfinite(timeout_delay_s) and timeout_delay_s > 0):
            raise FaultError(f"timeout_delay_s must be > 0, got {timeout_delay_s!r}")
        if not (math.isfinite(ban_s) and ban_s > 0):
            raise FaultError(f"ban_s must be > 0, got {ban_s!r}")
        self.timeout_delay_s = timeout_delay_s
        self.ban_s = ban_s
        self._rates = dict.fromkeys(FAULTS, 0.0)
        for name, rate in (rates or {}).items():
            self.set_rate(name, rate)
        self._triggered = dict.fromkeys(FAULTS, 0)
        self._trigger_on: dict[str, str] = {}  # a triggered request fault kept for one request line
        self._last_check_ns: dict[str, int] = {}
        self._rng = random.Random(seed)
        self._ban_until_ns = 0
        self.injected = dict.fromkeys(FAULTS, 0)

    def set_rate(self, name: str, rate: float) -> None:
        _check(name, rate)
        self._rates[name] = float(rate)

    def rate(self, name: str) -> float:
        _check(name, 0.0)
        return self._rates[name]

    def trigger(self, name: str, count: int = 1, *, on: str | None = None) -> None:
        """The next ``count`` chances of ``name`` inject it; with ``on`` (a REST request line such as
        ``"POST /api/v3/order"``), only chances of requests to it, so that a test's fault is not taken
        by a background request of the client."""
        _check(name, 0.0)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise FaultError(f"trigger count must be an integer >= 1, got {count!r}")
        if on is not None and self._trigger_on.get(name, on) != on:
            raise FaultError(f"{name} is already triggered for {self._trigger_on[name]!r}")
        self._triggered[name] += count
        if on is not None:
            self._trigger_on[name] = on

    def request_hit(self, name: str, request: str | None = None) -> bool:
        """Whether this request (``"METHOD /path"`` where known) gets fault ``name`` (a request fault);
        counts it if so."""
        if name not in REQUEST_FAULTS:
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
        if name not in STREAM_FAULTS:
            raise FaultError(f"{name!r} is not a stream fault")
        last = self._last_check_ns.get(name, now_ns)
        self._last_check_ns[name] = now_ns
        dt_s = max(now_ns - last, 0) / 1e9
        return self._hit(name, -math.expm1(-self._rates[name] * dt_s) if dt_s > 0 else 0.0)

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

    def start_ban(self, now_ns: int) -> None:
        self._ban_until_ns = now_ns + int(self.ban_s * 1e9)

    def ban_left_s(self, now_ns: int) -> float:
        """Seconds the current 418 ban still lasts (0: not banned)."""
        return max(self._ban_until_ns - now_ns, 0) / 1e9

    def ban_until_ns(self) -> int:
        return self._ban_until_ns
