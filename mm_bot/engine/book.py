"""The book as the core trusts it: every market-data event is checked here before anything reads it.

``BookView.on_book`` accepts a snapshot only if all of these hold, and otherwise drops it, counts it by
kind and marks the book untrusted (no quoting) until a good one arrives:

- ``book_fields``: its sequence number and timestamps are integers;
- ``book_sequence``: its sequence number is above the last accepted one (an old or repeated
  message; the only kind that does not distrust the book: a newer book was already accepted);
- ``book_levels``: prices and quantities are positive integers (ticks, lots: NaN, inf and floats
  are refused), bids strictly descending, asks strictly ascending;
- ``book_crossed``: best bid below best ask;
- ``book_future``: neither timestamp is more than ``max_clock_skew_ns`` ahead of our clock;
- ``mid_out_of_range``: the mid lies in the range the quote proofs cover (``verify.mid_min`` ..
  ``mid_max``): outside it no proof says what the quote does;
- ``mid_jump``: the mid is within ``max_jump_bps`` of the last trusted mid. A jump is dropped
  unless ``jump_confirm_books`` consecutive books agree with each other within that limit: then the
  market really moved, and the last of them is accepted.

A book with an empty side is a real market state, not bad data (counted as ``one_sided``): there is
no mid, so nothing is quoted (``no_book``) until both sides are back. A disconnect makes the book
unknown until the venue is connected again and a good book arrives; after a resync the sequence may
start again. Trades are checked the same way (positive integer price and quantity, no future time).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from mm_bot.engine.reasons import Reason
from mm_bot.model import BookSnapshot, PublicTrade

Levels = tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class BookLimits:
    tick_size: float  # price units per tick
    mid_min: float  # price units: the verified mid range
    mid_max: float
    max_jump_bps: float
    jump_confirm_books: int
    max_clock_skew_ns: int


class BookView:
    def __init__(self, limits: BookLimits) -> None:
        self.limits = limits
        self.best_bid: int | None = None
        self.best_ask: int | None = None
        self.mid = math.nan  # price units; NaN until a book is accepted
        self.first_mid = math.nan  # of the first accepted book (session PnL marks from it)
        self.last_book_ns: int | None = None  # receive time of the last accepted book
        self.last_seq = -1
        self.problem: Reason | None = Reason.NO_BOOK  # why the book cannot be quoted on now, or None
        self.connected = True
        self.dropped: Counter[str] = Counter()  # market-data events refused, by kind
        self.one_sided = 0
        self.accepted = 0
        self.trades = 0
        self._jump: list[float] = []  # mids of the consecutive books dropped as jumps

    @property
    def trusted(self) -> bool:
        return self.problem is None

    def on_book(self, book: BookSnapshot, now_ns: int) -> bool:
        """Check and take ``book``; True if it was accepted (the view moved to it)."""
        if not (type(book.seq) is int and type(book.ts_ns) is int and type(book.exchange_ts_ns) is int):
            self.dropped["book_fields"] += 1
            return self._distrust(Reason.UNTRUSTED_BOOK)
        if book.seq <= self.last_seq:
            self.dropped["book_sequence"] += 1
            return False
        if not book.bids or not book.asks:
            self.one_sided += 1
            return self._distrust(Reason.NO_BOOK)
        kind = self._problem(book, now_ns)
        if kind is not None:
            self.dropped[kind] += 1
            return self._distrust(Reason.UNTRUSTED_BOOK)
        self.last_seq = book.seq
        self.best_bid, self.best_ask = book.bids[0][0], book.asks[0][0]
        self.mid = self._mid(book)
        if self.accepted == 0:
            self.first_mid = self.mid
        self.last_book_ns = book.ts_ns
        self.problem = None if self.connected else Reason.DISCONNECTED
        self.accepted += 1
        return True

    def on_trade(self, trade: PublicTrade, now_ns: int) -> bool:
        """True if the trade is usable (positive integer price and size, not from the future)."""
        ok = (
            _positive_int(trade.price_ticks)
            and _positive_int(trade.qty_lots)
            and type(trade.ts_ns) is int
            and type(trade.exchange_ts_ns) is int
            and max(trade.ts_ns, trade.exchange_ts_ns) <= now_ns + self.limits.max_clock_skew_ns
        )
        if not ok:
            self.dropped["trade"] += 1
            return False
        self.trades += 1
        return True

    def on_disconnected(self) -> None:
        self.connected = False
        self.problem = Reason.DISCONNECTED

    def on_connected(self) -> None:
        """Streams are back (a reconnect, or a new venue session): sequence numbers may restart, and
        nothing is trusted until the next good book."""
        self.connected = True
        self.last_seq = -1
        self.problem = Reason.UNTRUSTED_BOOK

    # ------------------------------------------------------------------------------ internals
    def _mid(self, book: BookSnapshot) -> float:
        return (book.bids[0][0] + book.asks[0][0]) * 0.5 * self.limits.tick_size

    def _problem(self, book: BookSnapshot, now_ns: int) -> str | None:
        if not (_descending(book.bids) and _ascending(book.asks)):
            return "book_levels"
        if book.bids[0][0] >= book.asks[0][0]:
            return "book_crossed"
        lim = self.limits
        if max(book.ts_ns, book.exchange_ts_ns) > now_ns + lim.max_clock_skew_ns:
            return "book_future"
        mid = self._mid(book)
        if not lim.mid_min <= mid <= lim.mid_max:
            return "mid_out_of_range"
        if self.accepted and not _within(mid, self.mid, lim.max_jump_bps):
            # Confirmed when enough consecutive jumped books agree with each other.
            if self._jump and not _within(mid, self._jump[-1], lim.max_jump_bps):
                self._jump.clear()
            self._jump.append(mid)
            if len(self._jump) < lim.jump_confirm_books:
                return "mid_jump"
        self._jump.clear()
        return None

    def _distrust(self, reason: Reason) -> bool:
        self.problem = reason if self.connected else Reason.DISCONNECTED
        return False


def _positive_int(x: object) -> bool:
    return type(x) is int and x > 0


def _descending(levels: Levels) -> bool:
    """Positive integer prices and quantities, prices strictly descending."""
    prev = levels[0][0] + 1 if type(levels[0][0]) is int else 0
    for price, qty in levels:
        if type(price) is not int or type(qty) is not int or not 0 < price < prev or qty <= 0:
            return False
        prev = price
    return True


def _ascending(levels: Levels) -> bool:
    """Positive integer prices and quantities, prices strictly ascending."""
    prev = 0
    for price, qty in levels:
        if type(price) is not int or type(qty) is not int or price <= prev or qty <= 0:
            return False
        prev = price
    return True


def _within(mid: float, ref: float, bps: float) -> bool:
    return abs(mid - ref) <= ref * bps * 1e-4
