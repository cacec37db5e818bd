"""Client order ids: deterministic, unique per run, ASCII letters and digits only (sans-IO).

``run_prefix`` makes a per-run prefix from a start time the caller passes (nothing here reads a clock);
``ClientOrderIds`` appends a fixed-width base-36 counter to it.
"""

from __future__ import annotations

import re
from typing import Final

_ALNUM = re.compile(r"[A-Za-z0-9]+")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_PAIRS: Final = tuple(a + b for a in _DIGITS for b in _DIGITS)  # base36(n).rjust(2, "0") for n < 36**2
_PAIR_SPAN: Final = len(_PAIRS)


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
    _LIMIT: Final = 36**WIDTH

    def __init__(self, prefix: str, *, start: int = 0, max_len: int = 32) -> None:
        if not _ALNUM.fullmatch(prefix):
            raise ValueError(f"client order id prefix must be ASCII letters and digits, got {prefix!r}")
        if len(prefix) + self.WIDTH > max_len:
            raise ValueError(f"prefix {prefix!r} too long: ids would exceed {max_len} characters")
        self.prefix = prefix
        self._counter = start
        self._head = ""  # the id's characters but the last two digits, for _head_high and _head_prefix
        self._head_high: int | None = None
        self._head_prefix = ""

    @property
    def issued(self) -> int:
        return self._counter

    def next_id(self) -> str:
        """``prefix`` + ``base36(counter)`` zero-padded to WIDTH digits. Only the last two digits change
        from one id to the next: they come from a table, and the head before them is formatted again
        once every 36**2 ids (or when ``prefix`` is reassigned)."""
        n = self._counter
        if n >= self._LIMIT:
            raise OverflowError("client order id counter exhausted")
        high, low = divmod(n, _PAIR_SPAN)
        if high != self._head_high or self.prefix is not self._head_prefix:
            self._head = self.prefix + base36(n).rjust(self.WIDTH, "0")[:-2]
            self._head_high, self._head_prefix = high, self.prefix
        self._counter = n + 1
        return self._head + _PAIRS[low]
