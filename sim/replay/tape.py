"""A recording prepared for replay: which messages play, when, and their rows laid out for the book.

``Tape(recording, feed=...)`` does the work that does not depend on our orders, vectorized, once:

Messages played: diffs, snapshots, gap markers and trades (``aggTrade`` messages only when the
recording has no ``trade`` messages: they are the same trades, aggregated). ``bookTicker`` rows
are not played: the live bot decides on the order-book stream, and the L2 book is the diffs'.

Times (integer ns; ``sim/data/events.py`` for the recorded fields):

- the recorder's clock is corrected as hftbacktest's ``correct_local_timestamp`` does: when any
  message was received before the venue stamped it, every receive time is raised by the most
  negative ``local_ts - exch_ts`` plus ``base_latency_ns`` (the Binance test data's clock runs about
  1.27 s behind the venue's). The offsets ``local - exch`` after that are the recorded latencies;
- ``venue_ns``: when the venue applies the message: its ``exch_ts``. The recording has two streams,
  the book's (diffs, snapshots, gap markers) and the trades; each is applied in the order it was
  recorded (a diff sequence stays in order), never before that stream's previous message. A message
  without a venue time of its own (``MSG_EXCH_TS_FILLED``: Binance spot's REST snapshot) is placed
  at its receive time minus the latest recorded latency. The tape plays the messages by
  ``venue_ns`` (ties: recorded order), as hftbacktest's exchange side does: a trade the recorder
  received after a diff the venue stamped later is applied before that diff;
- ``local_ns``: when the strategy receives it: with ``feed="recorded"`` its corrected receive time,
  with a constant ``feed`` (ns) ``venue_ns + feed``; never before ``venue_ns`` nor its stream's
  previous message. Across streams it is not in played order (the venue delivers by it);
- ``latency_ns``: the recorded latency of the latest diff or trade played at or before the message
  (those carry the venue's own time on every Binance market), for order latency "recorded".

Rows: every row has the key of the level it is about (``sim/replay/depth.py``: ``-ticks`` for a bid,
``ticks`` for an ask; a trade's is the level it took: ``ticks`` for a buy, which takes asks, and
``-ticks`` for a sell), so the key's sign is the side. A diff message's rows are sorted into four
runs, bids with quantity, bids deleted, asks with quantity, asks deleted, each by key, bounded by
``start``, ``b1``, ``b2``, ``b3``, ``stop``. Other messages keep their rows in order; a diff naming
one price twice is replayed row by row like a snapshot (kind ``ROWS``).
Prices become ticks as ``rint(px / tick)``, quantities lots as ``rint(qty / lot)``.

``chunks()`` hands the messages out as Python lists, a bounded number of rows at a time, so a long
recording is never held as Python objects whole. Pure: no IO.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from sim.data.events import (
    BUY_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    KIND_MASK,
    MSG_AGG_TRADE,
    MSG_DEPTH,
    MSG_EXCH_TS_FILLED,
    MSG_GAP,
    MSG_SNAPSHOT,
    MSG_TRADE,
    SELL_EVENT,
    TRADE_EVENT,
)
from sim.data.meta import Recording

__all__ = ["DEPTH", "GAP", "ROWS", "SNAPSHOT", "TRADE", "Chunk", "Tape"]

# Tape message kinds.
DEPTH: Final = 0  # a diff: the four sorted runs
SNAPSHOT: Final = 1  # rows in order (clears, levels); the book is known afterwards
ROWS: Final = 2  # rows in order, nothing else (a diff that names a price twice)
GAP: Final = 3  # the book is unknown until the next snapshot
TRADE: Final = 4  # one trade: key = the level it took (+price: a buy took asks; -price: a sell)

CHUNK_ROWS: Final = 1 << 18
_KEY_SPAN: Final = 1 << 31  # |key| < this: prices up to 2**31 ticks (21 million at a 0.01 tick)
I64 = npt.NDArray[np.int64]


@dataclass(slots=True)
class Chunk:
    """Consecutive messages as lists. Per message: ``kind``, ``venue_ns``, ``local_ns``, ``due_ns``
    (the earliest ``local_ns`` from this message on), ``latency_ns``, row bounds ``start``/``b1``/
    ``b2``/``b3``/``stop`` (into this chunk's rows). Per row: ``key`` (its sign is the side: < 0 a
    bid, or a trade that took bids; > 0 an ask, or a trade that took asks; 0 unsided), ``lots``, and
    as arrays ``row_kind`` (``ev & KIND_MASK``) and ``ident`` (trade or update id)."""

    kind: list[int]
    venue_ns: list[int]
    local_ns: list[int]
    due_ns: list[int]
    latency_ns: list[int]
    start: list[int]
    b1: list[int]
    b2: list[int]
    b3: list[int]
    stop: list[int]
    key: list[int]
    lots: list[int]
    row_kind: I64
    ident: I64


class Tape:
    def __init__(
        self,
        recording: Recording,
        *,
        feed: int | Literal["recorded"] = "recorded",
        base_latency_ns: int = 0,
        chunk_rows: int = CHUNK_ROWS,
    ) -> None:
        if feed != "recorded" and (not isinstance(feed, int) or feed < 0):
            raise ValueError(f"feed latency must be 'recorded' or a non-negative int (ns), got {feed!r}")
        if base_latency_ns < 0 or chunk_rows < 1:
            raise ValueError("base_latency_ns must be >= 0 and chunk_rows >= 1")
        self.meta = recording.meta
        self.feed = feed
        self._chunk_rows = chunk_rows
        messages, events = recording.messages, recording.events
        self._select(messages)
        self._times(messages, base_latency_ns)
        self._rows(events, messages)

    # ------------------------------------------------------------------------------ preparation
    def _select(self, messages: npt.NDArray[Any]) -> None:
        kinds = messages["kind"]
        played = [MSG_DEPTH, MSG_SNAPSHOT, MSG_GAP, MSG_TRADE]
        if not np.any(kinds == MSG_TRADE):
            played.append(MSG_AGG_TRADE)
        self._sel = np.flatnonzero(np.isin(kinds, played))
        self.message_index: I64 = self._sel
        """The recording's message number of each played message."""
        mk = kinds[self._sel]
        kind = np.full(len(mk), TRADE, np.int64)
        kind[mk == MSG_DEPTH] = DEPTH
        kind[mk == MSG_SNAPSHOT] = SNAPSHOT
        kind[mk == MSG_GAP] = GAP
        self._kind = kind

    def _rows(self, events: npt.NDArray[Any], messages: npt.NDArray[Any]) -> None:
        sel, kind = self._sel, self._kind
        starts, stops = messages["start"][sel], messages["stop"][sel]
        counts = stops - starts
        total = int(counts.sum())
        first = np.cumsum(counts) - counts  # each message's first row in the played rows
        msg = np.repeat(np.arange(len(sel), dtype=np.int64), counts)
        at = np.repeat(starts - first, counts) + np.arange(total)  # the played rows in the recording
        ev = events["ev"][at]
        row_kind = (ev & np.uint64(KIND_MASK)).astype(np.int64)
        buy = (ev & np.uint64(BUY_EVENT)) != 0
        sided = (ev & np.uint64(BUY_EVENT | SELL_EVENT)) != 0
        ticks = np.rint(events["px"][at] / self.meta.tick).astype(np.int64)
        lots = np.rint(events["qty"][at] / self.meta.lot).astype(np.int64)
        # The key of the level a row is about, on its side: a trade's is the level it takes (a buy
        # takes the asks), so the key's sign tells the side everywhere; unsided rows get 0.
        takes_asks = np.where(kind[msg] == TRADE, buy, ~buy)
        key = np.where(sided, np.where(takes_asks, ticks, -ticks), 0)
        in_diff = kind[msg] == DEPTH
        kind[np.unique(msg[in_diff & ((row_kind != DEPTH_EVENT) | (lots < 0))])] = ROWS
        if total and int(np.abs(key).max()) >= _KEY_SPAN:
            raise ValueError(f"prices up to {int(np.abs(key).max())} ticks: beyond what the tape sorts")
        kind[_twice(msg, key, in_diff)] = ROWS  # a price twice in one diff: row by row
        in_diff = kind[msg] == DEPTH
        # Diff rows: bids with quantity, bids deleted, asks with quantity, asks deleted, each by key;
        # other rows keep their order. One stable sort of a nearly sorted combined key.
        group = np.where(in_diff, np.where(key < 0, 0, 2) + (lots == 0), 0)
        within = np.where(in_diff, key + _KEY_SPAN, np.arange(total) - np.repeat(first, counts))
        order = np.argsort((msg << 34) | (group << 32) | within, kind="stable")
        per_group = np.bincount(msg * 4 + group, minlength=4 * len(sel)).reshape(-1, 4)
        bounds = np.concatenate([[0], np.cumsum(per_group.ravel())])[:-1].reshape(-1, 4)
        self._bounds = np.column_stack([bounds, first + counts])  # start, b1, b2, b3, stop
        self._key, self._lots = key[order], lots[order]
        self._row_kind = row_kind[order]
        self._ident = events["order_id"][at][order].astype(np.int64)
        self._counts = counts
        level_rows = (
            (row_kind == DEPTH_EVENT) | (row_kind == DEPTH_SNAPSHOT_EVENT) | (row_kind == TRADE_EVENT)
        )
        self.events = int(level_rows.sum())
        """Rows replayed: one per level change, per snapshot level and per trade."""
        self.rows_skipped = len(events) - total
        """Rows of messages not replayed (``bookTicker``, kinds we do not interpret)."""

    def _times(self, messages: npt.NDArray[Any], base_latency_ns: int) -> None:
        """The clocks, and the played messages put in the order the venue applies them."""
        sel, kind = self._sel, self._kind  # in recorded order
        exch = messages["exch_ts"][sel].astype(np.int64)
        local = messages["local_ts"][sel].astype(np.int64)
        stamped = (messages["flags"][sel] & MSG_EXCH_TS_FILLED) == 0
        offset = local - exch
        shift = 0
        if np.any(stamped):
            shift = max(0, base_latency_ns - int(offset[stamped].min()))
        local = local + shift
        offset = offset + shift
        self.clock_shift_ns = shift
        """Added to every recorded receive time (the recorder's clock correction)."""
        source = stamped & ((kind == DEPTH) | (kind == TRADE))
        venue = np.where(stamped, exch, local - _latest(offset, source))
        trade = kind == TRADE
        streams = (trade, ~trade)  # each stream keeps its recorded order
        for stream in streams:
            venue[stream] = np.maximum.accumulate(venue[stream]) if stream.any() else venue[stream]
        if self.feed == "recorded":
            arrive = np.maximum(local, venue)
            for stream in streams:
                arrive[stream] = np.maximum.accumulate(arrive[stream]) if stream.any() else arrive[stream]
        else:
            arrive = venue + int(self.feed)
        order = np.lexsort((np.arange(len(sel)), venue))  # by venue time; ties: recorded order
        self._sel, self._kind = sel[order], kind[order]
        self.message_index = self._sel
        venue, arrive = venue[order], arrive[order]
        self.venue_ns: I64 = venue
        """Per played message, in the played order: when the venue applies it."""
        self.local_ns: I64 = arrive
        """Per played message: when the strategy receives it (not in order across streams)."""
        self._due = np.minimum.accumulate(arrive[::-1])[::-1] if len(sel) else arrive
        self._latency = _latest(offset[order], source[order])
        self.start_ns = int(self._due[0]) if len(sel) else 0
        self.end_ns = int(arrive.max()) if len(sel) else 0

    # ------------------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return len(self._sel)

    def chunks(self) -> Iterator[Chunk]:
        """The messages in order, in chunks of about ``chunk_rows`` rows (at least one message)."""
        n = len(self._sel)
        cum = np.cumsum(self._counts)
        m0 = 0
        while m0 < n:
            base = int(cum[m0 - 1]) if m0 else 0
            m1 = max(m0 + 1, int(np.searchsorted(cum, base + self._chunk_rows, side="right")))
            m1 = min(m1, n)
            r1 = int(cum[m1 - 1])
            b = (self._bounds[m0:m1] - base).T.tolist()
            yield Chunk(
                kind=self._kind[m0:m1].tolist(),
                venue_ns=self.venue_ns[m0:m1].tolist(),
                local_ns=self.local_ns[m0:m1].tolist(),
                due_ns=self._due[m0:m1].tolist(),
                latency_ns=self._latency[m0:m1].tolist(),
                start=b[0],
                b1=b[1],
                b2=b[2],
                b3=b[3],
                stop=b[4],
                key=self._key[base:r1].tolist(),
                lots=self._lots[base:r1].tolist(),
                row_kind=self._row_kind[base:r1],
                ident=self._ident[base:r1],
            )
            m0 = m1


def _twice(msg: I64, key: I64, in_diff: npt.NDArray[np.bool_]) -> I64:
    """The diffs that name one level twice."""
    combined = np.sort((msg[in_diff] << 32) | (key[in_diff] + _KEY_SPAN), kind="stable")
    repeated = combined[1:][combined[1:] == combined[:-1]]
    return np.unique(repeated >> 32)


def _latest(values: I64, valid: npt.NDArray[np.bool_]) -> I64:
    """Each position's latest valid value at or before it (the first valid one before any; 0 if
    none is valid)."""
    if not np.any(valid):
        return np.zeros(len(values), np.int64)
    index = np.where(valid, np.arange(len(values)), -1)
    index = np.maximum.accumulate(index)
    index[index < 0] = int(np.flatnonzero(valid)[0])
    return values[index]
