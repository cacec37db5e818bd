"""The L2 book rebuilt from normalized events, in integer ticks and lots.

``L2Book`` is price -> quantity per side plus a ``known`` flag. ``BookReplay`` applies a recording's
messages to it, one whole message at a time, so the book is never seen half-way through a diff:

- ``DEPTH_EVENT`` and ``DEPTH_SNAPSHOT_EVENT`` rows set a level's absolute quantity (0 deletes it);
- a sided ``DEPTH_CLEAR_EVENT`` removes that side's levels from the best through ``px`` (inclusive),
  as hftbacktest does; an unsided one, and our ``BOOK_GAP_EVENT``, empty the whole book;
- after a snapshot message the book is known; after a gap marker it is unknown (and empty) until the
  next snapshot. Before the first snapshot it is unknown;
- ``DEPTH_BBO_EVENT`` (the venue's own top of book) and trades do not change the L2 book.

Prices become ticks as ``rint(px / tick)`` and quantities lots as ``rint(qty / lot)``. The loader
has checked that every price lies on the tick grid; a quantity off the lot grid (Binance spot has a
few far-away levels finer than its lot) is rounded to the nearest lot and counted by the loader
(``qty_off_lot_grid``). Pure: no IO.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Final

import numpy as np

from sim.data.events import (
    BOOK_GAP_EVENT,
    BUY_EVENT,
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    KIND_MASK,
    MSG_BBO,
    MSG_SNAPSHOT,
    MSG_TRADE,
    SELL_EVENT,
)
from sim.data.meta import Recording

__all__ = ["BookReplay", "L2Book"]

_PASSIVE: Final = frozenset({MSG_BBO, MSG_TRADE})
_LEVEL_KINDS: Final = frozenset({DEPTH_EVENT, DEPTH_SNAPSHOT_EVENT})


class L2Book:
    """Levels as ``{price_ticks: qty_lots}`` per side. ``update_id`` is the venue id of the last book
    message applied; ``local_ts``/``exch_ts`` are those of the last message of any kind."""

    __slots__ = ("_best_ask", "_best_bid", "asks", "bids", "exch_ts", "known", "local_ts", "update_id")

    def __init__(self) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.known = False
        self.update_id = -1
        self.local_ts = 0
        self.exch_ts = 0
        self._best_bid: int | None = None  # None: look it up again
        self._best_ask: int | None = None

    def best_bid(self) -> tuple[int, int] | None:
        """(price ticks, qty lots) of the best bid, None for an empty side."""
        if self._best_bid is None:
            if not self.bids:
                return None
            self._best_bid = max(self.bids)
        return self._best_bid, self.bids[self._best_bid]

    def best_ask(self) -> tuple[int, int] | None:
        if self._best_ask is None:
            if not self.asks:
                return None
            self._best_ask = min(self.asks)
        return self._best_ask, self.asks[self._best_ask]

    def top(self, depth: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The best ``depth`` levels of each side, best first."""
        bids = heapq.nlargest(depth, self.bids.items())
        asks = heapq.nsmallest(depth, self.asks.items())
        return bids, asks

    def set_bid(self, price: int, qty: int) -> None:
        if qty:
            self.bids[price] = qty
            if self._best_bid is not None and price > self._best_bid:
                self._best_bid = price
        elif self.bids.pop(price, None) is not None and price == self._best_bid:
            self._best_bid = None

    def set_ask(self, price: int, qty: int) -> None:
        if qty:
            self.asks[price] = qty
            if self._best_ask is not None and price < self._best_ask:
                self._best_ask = price
        elif self.asks.pop(price, None) is not None and price == self._best_ask:
            self._best_ask = None

    def clear_bids_from(self, price: int) -> None:
        """Remove the bids at ``price`` and better."""
        self.bids = {p: q for p, q in self.bids.items() if p < price}
        self._best_bid = None

    def clear_asks_from(self, price: int) -> None:
        self.asks = {p: q for p, q in self.asks.items() if p > price}
        self._best_ask = None

    def clear(self) -> None:
        self.bids, self.asks = {}, {}
        self._best_bid = self._best_ask = None


class BookReplay:
    """A recording's messages applied in order to an ``L2Book``."""

    def __init__(self, recording: Recording) -> None:
        events, messages = recording.events, recording.messages
        self.messages = messages
        self._kind = (events["ev"] & np.uint64(KIND_MASK)).astype(np.int64)
        self._bid = (events["ev"] & np.uint64(BUY_EVENT)) != 0
        self._sided = (events["ev"] & np.uint64(BUY_EVENT | SELL_EVENT)) != 0
        self._ticks = np.rint(events["px"] / recording.meta.tick).astype(np.int64)
        self._lots = np.rint(events["qty"] / recording.meta.lot).astype(np.int64)
        self._m_kind = messages["kind"].tolist()
        self._m_start = messages["start"].tolist()
        self._m_stop = messages["stop"].tolist()
        self._m_id = messages["last_id"].tolist()
        self._m_local = messages["local_ts"].tolist()
        self._m_exch = messages["exch_ts"].tolist()

    def __len__(self) -> int:
        return len(self._m_kind)

    def apply(self, book: L2Book, index: int) -> None:
        """Apply message ``index`` to ``book``."""
        book.local_ts, book.exch_ts = self._m_local[index], self._m_exch[index]
        message_kind = self._m_kind[index]
        if message_kind in _PASSIVE:
            return
        start, stop = self._m_start[index], self._m_stop[index]
        kinds = self._kind[start:stop].tolist()
        bids = self._bid[start:stop].tolist()
        ticks = self._ticks[start:stop].tolist()
        lots = self._lots[start:stop].tolist()
        for row, (kind, bid, price, qty) in enumerate(zip(kinds, bids, ticks, lots, strict=True), start):
            if kind in _LEVEL_KINDS:
                if bid:
                    book.set_bid(price, qty)
                else:
                    book.set_ask(price, qty)
            elif kind == DEPTH_CLEAR_EVENT:
                self._clear(book, row, bid, price)
            elif kind == BOOK_GAP_EVENT:
                book.clear()
                book.known = False
        if message_kind == MSG_SNAPSHOT:
            book.known = True
        book.update_id = self._m_id[index]

    def _clear(self, book: L2Book, row: int, bid: bool, price: int) -> None:
        if not self._sided[row]:
            book.clear()
        elif bid:
            book.clear_bids_from(price)
        else:
            book.clear_asks_from(price)

    def books(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, L2Book]]:
        """``(message index, book)`` after each message; the same ``L2Book`` is updated in place."""
        book = L2Book()
        end = len(self) if stop is None else stop
        for index in range(end):
            self.apply(book, index)
            if index >= start:
                yield index, book

    def last_message_at(self, ts_ns: int) -> int:
        """The index of the last message received (``local_ts``) at or before ``ts_ns``; -1 if none."""
        return int(np.searchsorted(self.messages["local_ts"], ts_ns, side="right")) - 1

    def at(self, ts_ns: int) -> L2Book:
        """A new book holding every message received at or before ``ts_ns``."""
        book = L2Book()
        for index in range(self.last_message_at(ts_ns) + 1):
            self.apply(book, index)
        return book
