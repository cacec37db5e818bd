"""Client order ids: deterministic, unique per run, ASCII letters and digits only (sans-IO).

``run_prefix`` makes a per-run prefix from a start time the caller passes (nothing here reads a clock);
``ClientOrderIds`` appends a fixed-width base-36 counter to it.
"""

from __future__ import annotations

import re
from typing import Final

_ALNUM = re.compile(r"[A-Za-z0-9]+")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def base36(n: int) -> str:
    if n < 0:
        raise ValueError(f"base36 of a negative number: {n}")
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = _DIGITS[r] + out
        if n == 0:
            return out


def run_prefix(started_ns: int, tag: str = "mm") -> str:
    """A prefix unique per run: ``tag`` + the start time in microseconds, base 36 (10 characters
    until the year 2085). The caller passes the start time; nothing here reads a clock."""
    return tag + base36(started_ns // 1_000)


class ClientOrderIds:
    """Deterministic client order ids: ``prefix`` + a fixed-width base-36 counter.

    Unique within a run by the counter, across runs by the prefix (see ``run_prefix``); the fixed
    width makes (prefix, counter) -> id injective. Only ASCII letters and digits, at most ``max_len``
    characters: valid on Binance (36 of ``[.A-Z:/a-z0-9_-]``) and on stricter venues such as OKX
    (32 alphanumerics).
    """

    WIDTH: Final = 7  # 36**7 = 78 billion orders per run

    def __init__(self, prefix: str, *, start: int = 0, max_len: int = 32) -> None:
        if not _ALNUM.fullmatch(prefix):
            raise ValueError(f"client order id prefix must be ASCII letters and digits, got {prefix!r}")
        if len(prefix) + self.WIDTH > max_len:
            raise ValueError(f"prefix {prefix!r} too long: ids would exceed {max_len} characters")
        self.prefix = prefix
        self._counter = start

    @property
    def issued(self) -> int:
        return self._counter

    def next_id(self) -> str:
        n = self._counter
        if n >= 36**self.WIDTH:
            raise OverflowError("client order id counter exhausted")
        self._counter = n + 1
        return self.prefix + base36(n).rjust(self.WIDTH, "0")
