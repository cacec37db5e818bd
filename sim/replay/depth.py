"""One side of the replayed L2 book, built for applying whole messages cheaply and reading the top.

Levels live in *key space*: the key of a price is ``price_ticks`` on the ask side and
``-price_ticks`` on the bid side, so on both sides the best level is the smallest key and "better
than" is "smaller than". ``levels`` maps key -> lots (absent: empty). ``top`` holds, in ascending
order, exactly the keys of the levels whose key is at most ``floor`` (the best few dozen levels),
so the best level and the top N are read without sorting the book:

- a message's rows come sorted by key (``sim/replay/tape.py``), so the rows that touch ``top`` are a
  prefix of them and only those need per-row work; the rest go into ``levels`` through
  ``dict.update`` and ``dict.pop``;
- ``top`` is trimmed back to ``keep`` keys when it grows past twice that, and rebuilt from
  ``levels`` (``numpy.partition``) when fewer than ``need`` keys remain in it while deeper levels
  exist. ``floor`` is ``FAR`` when ``top`` holds every level.

Pure: no IO.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Iterator
from typing import Final

import numpy as np

__all__ = ["FAR", "SideBook"]

FAR: Final = 1 << 62
"""A key beyond every price."""


class SideBook:
    __slots__ = ("floor", "keep", "levels", "need", "top")

    def __init__(self, need: int, keep: int | None = None) -> None:
        if need < 1:
            raise ValueError(f"need at least one level, got {need}")
        self.need = need  # levels the top must hold whenever the side has that many
        self.keep = keep if keep is not None else need + 32
        self.levels: dict[int, int] = {}
        self.top: list[int] = []
        self.floor = FAR

    # ------------------------------------------------------------------------------ updates
    def apply(self, keys: list[int], lots: list[int], a: int, b: int, c: int, d: int) -> None:
        """Set the levels of rows ``[a, b)`` (positive lots) and delete those of rows ``[c, d)`` (zero
        lots); each range sorted by key."""
        levels, top, floor = self.levels, self.top, self.floor
        near = bisect_right(keys, floor, a, b)  # rows [a, near) are inside the top
        if near > a:
            for key in [k for k in keys[a:near] if k not in levels]:
                insort(top, key)
        near = bisect_right(keys, floor, c, d)
        if near > c:
            for key in [k for k in keys[c:near] if k in levels]:
                top.remove(key)
        if b > a:
            levels.update(zip(keys[a:b], lots[a:b], strict=True))
        if d > c:
            pop = levels.pop
            for key in keys[c:d]:
                pop(key, None)
        n = len(top)
        if n > 2 * self.keep:
            del top[self.keep :]
            self.floor = top[-1]
        elif n < self.need and floor != FAR:
            self._retop()

    def set(self, key: int, qty: int) -> None:
        """One level (any key, any order): a snapshot row."""
        levels = self.levels
        if key <= self.floor:
            present = key in levels
            if qty and not present:
                insort(self.top, key)
            elif not qty and present:
                self.top.remove(key)
        if qty:
            levels[key] = qty
        else:
            levels.pop(key, None)

    def clear_through(self, key: int) -> None:
        """Delete every level from the best through ``key`` (inclusive)."""
        self.levels = {k: q for k, q in self.levels.items() if k > key}
        self._retop()

    def clear(self) -> None:
        self.levels = {}
        self.top = []
        self.floor = FAR

    def settle(self) -> None:
        """Restore the top's bounds after a run of ``set`` calls."""
        top = self.top
        if len(top) > 2 * self.keep:
            del top[self.keep :]
            self.floor = top[-1]
        elif len(top) < self.need and self.floor != FAR:
            self._retop()

    def _retop(self) -> None:
        levels, keep = self.levels, self.keep
        if len(levels) <= keep:
            self.top = sorted(levels)
            self.floor = FAR
        else:  # the keep smallest keys: numpy's partition is about twice heapq.nsmallest's speed here
            keys = np.fromiter(levels, np.int64, len(levels))
            smallest = np.partition(keys, keep - 1)[:keep]
            smallest.sort()
            self.top = smallest.tolist()
            self.floor = self.top[-1]

    # ------------------------------------------------------------------------------ reads
    def best(self) -> int | None:
        """The best key, None for an empty side."""
        return self.top[0] if self.top else None

    def lots_at(self, key: int) -> int:
        return self.levels.get(key, 0)

    def walk(self) -> Iterator[tuple[int, int]]:
        """Every level, best first, as (key, lots): for an order taking liquidity (rare)."""
        levels = self.levels
        for key in self.top:
            yield key, levels[key]
        if self.floor != FAR:
            for key in sorted(k for k in levels if k > self.floor):
                yield key, levels[key]
