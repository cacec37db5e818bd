"""Binance's order-book sync over the joined messages of a file set: which diffs apply, where the
book is unknown, and the final event and message arrays.

The rules (Binance "how to manage a local order book correctly", spot and USD-M futures docs):

- Before the first snapshot the book is unknown; diffs received meanwhile are buffered.
- At a snapshot (``lastUpdateId`` L): buffered diffs already covered by it are dropped (spot
  ``u <= L``, USD-M ``u < L``); the first remaining one must straddle it (spot ``U <= L+1 <= u``,
  USD-M ``U <= L <= u``). If it does not, the snapshot is older than the buffer (``too_old``) and the
  book stays unknown. Otherwise the snapshot is emitted and the buffered diffs are emitted right
  after it, flagged ``MSG_REPLAYED`` and stamped with the snapshot's receive time (the moment a live
  book could apply them).
- Then diffs chain: spot ``U <= previous u + 1`` (the diff starts right after the book, or overlaps
  it; quantities are absolute, so an overlap is harmless), USD-M ``pu == previous u``. A diff the book
  already covers (``u`` not beyond it: a duplicate, e.g. where two files overlap) is dropped. Any other
  diff is a break: a ``BOOK_GAP_EVENT`` row is emitted, the book is unknown and diffs are buffered
  again until a snapshot catches it up.
- A snapshot that arrives while the book is known and is not newer than it is ``stale`` and dropped;
  a newer one restarts the sync from it (no gap: the book was right until then).
- Trades and tickers are kept wherever they fall. ``aggTrade`` messages are dropped when the set has
  a ``trade`` stream, which already carries each trade.

Sans-IO and pure: arrays in, arrays out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

import numpy as np

from sim.data.binance import ParsedFile
from sim.data.events import (
    BOOK_GAP_EVENT,
    EVENT_DTYPE,
    EXCH_EVENT,
    LOCAL_EVENT,
    MESSAGE_DTYPE,
    MSG_AGG_TRADE,
    MSG_DEPTH,
    MSG_EXCH_TS_FILLED,
    MSG_GAP,
    MSG_REPLAYED,
    MSG_SNAPSHOT,
    MSG_TRADE,
    EventArray,
    MessageArray,
)
from sim.data.report import Gap, SnapshotUse

__all__ = ["Synced", "synchronize"]

_OLD: Final = 0
_APPLY: Final = 1
_BREAK: Final = 2


@dataclass(slots=True)
class Synced:
    events: EventArray
    messages: MessageArray
    gaps: list[Gap]
    snapshots: list[SnapshotUse]
    counters: dict[str, int]


class _Book:
    """The sync state of one book: which update id it is at, and whether it is known."""

    def __init__(self, usdm: bool, first: list[int], last: list[int], prev: list[int]) -> None:
        self.usdm = usdm
        self.first, self.last, self.prev = first, last, prev
        self.known = False
        self.at_id = -1
        self.fresh = False
        """Just (re)started from a snapshot: the next diff must straddle ``at_id``."""

    def covered(self, i: int, snapshot_id: int) -> bool:
        return self.last[i] < snapshot_id if self.usdm else self.last[i] <= snapshot_id

    def verdict(self, i: int) -> int:
        first, last = self.first[i], self.last[i]
        if self.usdm and not self.fresh:
            if self.prev[i] == self.at_id:
                return _APPLY
            return _OLD if last <= self.at_id else _BREAK
        if self.covered(i, self.at_id):
            return _OLD
        limit = self.at_id if self.usdm else self.at_id + 1
        return _APPLY if first <= limit else _BREAK

    def apply(self, i: int) -> None:
        self.at_id = self.last[i]
        self.fresh = False

    def restart(self, snapshot_id: int) -> None:
        self.known, self.at_id, self.fresh = True, snapshot_id, True


def _join(files: Sequence[ParsedFile]) -> tuple[EventArray, MessageArray]:
    if len(files) == 1:
        events = files[0].events  # only read: the output is gathered into a new array
    else:
        events = np.concatenate([f.events for f in files]) if files else np.zeros(0, EVENT_DTYPE)
    parts, offset = [], 0
    for number, parsed in enumerate(files):
        part = parsed.messages.copy()
        part["file"] = number
        part["start"] += offset
        part["stop"] += offset
        offset += len(parsed.events)
        parts.append(part)
    messages = np.concatenate(parts) if parts else np.zeros(0, MESSAGE_DTYPE)
    return events, messages


def synchronize(files: Sequence[ParsedFile], market: str) -> Synced:
    """Join the parsed files in the order given and apply the sync rules for ``market``."""
    events, messages = _join(files)
    names = [f.report.name for f in files]
    n = len(messages)
    kinds = messages["kind"]
    keep = np.ones(n, bool)
    primary = np.arange(n, dtype=np.int64)
    secondary = np.zeros(n, np.int64)
    counters: dict[str, int] = {}
    if (kinds == MSG_TRADE).any() and (kinds == MSG_AGG_TRADE).any():
        keep[kinds == MSG_AGG_TRADE] = False
        counters["agg_trades_dropped"] = int((kinds == MSG_AGG_TRADE).sum())

    kind, first, last = kinds.tolist(), messages["first_id"].tolist(), messages["last_id"].tolist()
    local, exch = messages["local_ts"].tolist(), messages["exch_ts"].tolist()
    line, file = messages["line"].tolist(), messages["file"].tolist()
    book = _Book(market == "usdm", first, last, messages["prev_id"].tolist())
    local_new = messages["local_ts"].copy()
    flags = messages["flags"].copy()
    markers: list[tuple[int, int, int, int]] = []  # breaking diff, primary, secondary, local_ts
    gaps: list[Gap] = []
    snapshots: list[SnapshotUse] = []
    buffer: list[int] = []
    applied = replayed = stale = 0

    def brk(i: int, at_primary: int, at_secondary: int, at_local: int) -> None:
        markers.append((i, at_primary, at_secondary, at_local))
        gap = Gap(at_local, exch[i], book.at_id, first[i], last[i], book.prev[i], names[file[i]], line[i])
        gaps.append(gap)
        book.known = False

    def snapshot(i: int, outcome: str) -> None:
        snapshots.append(SnapshotUse(local[i], last[i], names[file[i]], line[i], outcome))

    for i in np.flatnonzero((kinds == MSG_DEPTH) | (kinds == MSG_SNAPSHOT)).tolist():
        if kind[i] == MSG_DEPTH:
            if not book.known:
                keep[i] = False
                buffer.append(i)
                continue
            verdict = book.verdict(i)
            if verdict == _APPLY:
                book.apply(i)
                applied += 1
            elif verdict == _OLD:
                keep[i] = False
                stale += 1
            else:
                keep[i] = False
                brk(i, i, 0, local[i])
                buffer = [i]
            continue
        snapshot_id = last[i]
        if book.known:
            if snapshot_id <= book.at_id:
                keep[i] = False
                snapshot(i, "stale")
            else:
                book.restart(snapshot_id)
                snapshot(i, "applied")
            continue
        pending = [j for j in buffer if not book.covered(j, snapshot_id)]
        stale += len(buffer) - len(pending)
        book.restart(snapshot_id)
        if pending and book.verdict(pending[0]) == _BREAK:
            book.known = False
            keep[i] = False
            buffer = pending
            snapshot(i, "too_old")
            continue
        snapshot(i, "applied")
        if gaps and gaps[-1].resynced_local_ts is None:
            gaps[-1] = replace(gaps[-1], resynced_local_ts=local[i])
        buffer = []
        for k, j in enumerate(pending, 1):
            verdict = book.verdict(j)
            if verdict == _APPLY:
                book.apply(j)
                keep[j], primary[j], secondary[j] = True, i, k
                local_new[j] = max(local[i], local[j])
                flags[j] |= MSG_REPLAYED
                replayed += 1
            elif verdict == _OLD:
                stale += 1
            else:
                brk(j, i, k, local[i])
                buffer = pending[k - 1 :]
                break

    diffs = int((kinds == MSG_DEPTH).sum())
    counters.update(
        diffs_applied=applied,
        diffs_replayed=replayed,
        diffs_dropped_stale=stale,
        diffs_dropped_unknown=diffs - applied - replayed - stale,
    )
    out_events, out_messages = _assemble(
        events, messages, keep, primary, secondary, local_new, flags, markers, counters
    )
    return Synced(out_events, out_messages, gaps, snapshots, counters)


def _assemble(
    events: EventArray,
    messages: MessageArray,
    keep: np.ndarray,
    primary: np.ndarray,
    secondary: np.ndarray,
    local_new: np.ndarray,
    flags: np.ndarray,
    markers: list[tuple[int, int, int, int]],
    counters: dict[str, int],
) -> tuple[EventArray, MessageArray]:
    """The kept messages in output order, gap markers included, with their rows gathered."""
    messages = messages.copy()
    messages["local_ts"] = local_new
    messages["flags"] = flags
    if markers:
        breaking = np.array([m[0] for m in markers], np.int64)
        gap = np.zeros(len(markers), MESSAGE_DTYPE)
        for name in ("file", "line", "exch_ts", "first_id", "last_id", "prev_id"):
            gap[name] = messages[name][breaking]
        gap["kind"] = MSG_GAP
        gap["local_ts"] = [m[3] for m in markers]
        gap["start"] = np.arange(len(events), len(events) + len(markers))
        gap["stop"] = gap["start"] + 1
        rows = np.zeros(len(markers), EVENT_DTYPE)
        rows["ev"] = BOOK_GAP_EVENT | EXCH_EVENT | LOCAL_EVENT
        rows["order_id"] = gap["last_id"]
        events = np.concatenate([events, rows])
        messages = np.concatenate([messages, gap])
        keep = np.concatenate([keep, np.ones(len(markers), bool)])
        primary = np.concatenate([primary, [m[1] for m in markers]])
        secondary = np.concatenate([secondary, [m[2] for m in markers]])
    lengths_all = messages["stop"] - messages["start"]
    chosen = np.flatnonzero(keep & (lengths_all > 0))
    chosen = chosen[np.lexsort((secondary[chosen], primary[chosen]))]
    out = messages[chosen]
    lengths = lengths_all[chosen]
    stops = np.cumsum(lengths)
    starts = stops - lengths
    total = int(stops[-1]) if len(stops) else 0
    index = np.repeat(out["start"] - starts, lengths) + np.arange(total)
    out["start"], out["stop"] = starts, stops

    local = out["local_ts"]
    monotone = np.maximum.accumulate(local) if len(local) else local
    counters["local_ts_clamped"] = int((local < monotone).sum())
    out["local_ts"] = monotone
    _fill_exch_ts(out)

    rows = events[index]
    rows["local_ts"] = np.repeat(out["local_ts"], lengths)
    rows["exch_ts"] = np.repeat(out["exch_ts"], lengths)
    rows["ival"] = np.repeat(np.arange(len(out)), lengths)
    return rows, out


def _fill_exch_ts(messages: MessageArray) -> None:
    """A message without a venue time takes the previous timestamped message's (the next one's at
    the start; its own receive time if no message has one)."""
    exch = messages["exch_ts"]
    missing = exch < 0
    if not missing.any():
        return
    messages["flags"][missing] |= MSG_EXCH_TS_FILLED
    have = np.flatnonzero(~missing)
    if not len(have):
        messages["exch_ts"] = messages["local_ts"]
        return
    source = np.where(~missing, np.arange(len(exch)), 0)
    source = np.maximum.accumulate(source)
    source[: have[0]] = have[0]
    messages["exch_ts"] = exch[source]
