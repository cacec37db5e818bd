"""The tape's clocks and row layout, and the book side against a plain dict."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.data import MSG_EXCH_TS_FILLED
from sim.events import BookSnapshot
from sim.replay import Tape
from sim.replay.depth import SideBook
from sim.replay.tape import DEPTH, ROWS, SNAPSHOT, TRADE
from tests.sim.replay.builder import MS, T0, Book
from tests.sim.replay.harness import BUY, SELL, Venue


def test_a_recorder_clock_behind_the_venue_is_corrected() -> None:
    """Received 30 ms before the venue stamped it (at worst): every receive time moves 30 ms later,
    plus the base latency."""
    book = (
        Book()
        .snapshot(0, [(100, 1)], [(101, 1)], feed_ns=-20 * MS)
        .diff(10, bids=[(100, 2)], feed_ns=-30 * MS)
    )
    tape = Tape(book.recording(), base_latency_ns=MS)
    assert tape.clock_shift_ns == 31 * MS
    [chunk] = tape.chunks()
    assert [t - T0 for t in chunk.venue_ns] == [0, 10 * MS]
    assert [t - T0 for t in chunk.local_ns] == [11 * MS, 11 * MS]
    assert chunk.latency_ns == [MS, MS]


def test_a_message_without_a_venue_time_is_placed_by_the_latest_latency() -> None:
    """A snapshot whose exchange time was filled in from the previous message is applied at its
    receive time minus the latest recorded latency, never before what came before it."""
    book = Book(feed_ns=5 * MS).diff(0, bids=[(100, 1)]).snapshot(0, [(100, 1)], [(101, 1)], feed_ns=25 * MS)
    recording = book.recording()
    recording.messages["flags"][1] = MSG_EXCH_TS_FILLED
    [chunk] = Tape(recording).chunks()
    assert [t - T0 for t in chunk.venue_ns] == [0, 20 * MS]


def test_a_diff_is_sorted_into_four_runs_and_a_repeated_price_is_replayed_row_by_row() -> None:
    """Bids with quantity, bids deleted, asks with quantity, asks deleted, each by key; a diff naming
    one price twice is kind ROWS, its rows in order."""
    book = Book().snapshot(0, [(100, 1)], [(110, 1)])
    book.diff(1, bids=[(99, 0), (100, 3), (98, 2)], asks=[(112, 0), (111, 4)])
    book.diff(2, bids=[(100, 3), (100, 0)])
    [chunk] = Tape(book.recording()).chunks()
    assert chunk.kind[1:] == [DEPTH, ROWS]
    s, b1, b2, b3, e = chunk.start[1], chunk.b1[1], chunk.b2[1], chunk.b3[1], chunk.stop[1]
    assert chunk.key[s:b1] == [-100, -98] and chunk.key[b1:b2] == [-99]
    assert chunk.key[b2:b3] == [111] and chunk.key[b3:e] == [112]
    assert chunk.lots[s:b1] == [3, 2]
    assert chunk.key[chunk.start[2] : chunk.stop[2]] == [-100, -100]
    assert chunk.lots[chunk.start[2] : chunk.stop[2]] == [3, 0]


def _busy_book(n: int = 300) -> Book:
    rng = np.random.default_rng(3)
    book = Book(feed_ns=2 * MS).snapshot(
        0, [(1000 - i, 5) for i in range(30)], [(1001 + i, 5) for i in range(30)]
    )
    for k in range(1, n):
        t = k * 10
        if k % 3:
            mid = 1000 + int(rng.integers(-4, 5))
            bids = [
                (mid - int(d), int(q))
                for d, q in zip(rng.integers(0, 12, 4), rng.integers(0, 4, 4), strict=True)
            ]
            asks = [
                (mid + 1 + int(d), int(q))
                for d, q in zip(rng.integers(0, 12, 4), rng.integers(0, 4, 4), strict=True)
            ]
            book.diff(t, bids=list(dict(bids).items()), asks=list(dict(asks).items()))
        else:
            book.trade(
                t, 1000 + int(rng.integers(-3, 4)), int(rng.integers(1, 6)), buy=bool(rng.integers(0, 2))
            )
    return book


def _run(book: Book, chunk_rows: int) -> list[object]:
    v = Venue(book, chunk_rows=chunk_rows, book_levels=3)
    for k in range(1, 40):
        v.place(k * 70 + 3, BUY if k % 2 else SELL, 1000 - 3 + (k % 7), 2)
    return v.finish()


def test_the_same_recording_gives_the_same_events_whatever_the_chunks() -> None:
    """Determinism: two runs give equal event lists, and so does a tape handed out 7 rows at a time."""
    book = _busy_book()
    first = _run(book, 1 << 18)
    assert first == _run(book, 1 << 18)
    assert first == _run(book, 7)
    assert any(type(e).__name__ == "OwnFill" for e in first)


def test_the_books_sent_are_the_recorded_book() -> None:
    """Every BookSnapshot equals the top of a plain dict book fed the same diffs."""
    book = _busy_book()
    v = Venue(book, book_levels=4)
    v.finish()
    snapshots = v.of(BookSnapshot)
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    k = 0
    recording = book.recording()
    for m in recording.messages:
        if m["kind"] not in (1, 2):
            continue
        for row in recording.events[m["start"] : m["stop"]]:
            price, qty, buy = round(row["px"] / 0.01), round(row["qty"]), bool(row["ev"] & (1 << 29))
            if (row["ev"] & 0xFF) in (1, 4):
                side = bids if buy else asks
                if qty:
                    side[price] = qty
                else:
                    side.pop(price, None)
        top_bids = tuple(sorted(bids.items(), reverse=True)[:4])
        top_asks = tuple(sorted(asks.items())[:4])
        assert (snapshots[k].bids, snapshots[k].asks) == (top_bids, top_asks)
        k += 1
    assert k == len(snapshots)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.integers(0, 60), st.integers(0, 3)), max_size=12, unique_by=lambda r: r[0]),
        max_size=40,
    ),
    st.integers(1, 6),
)
def test_a_side_keeps_its_top_through_any_diffs(diffs: list[list[tuple[int, int]]], need: int) -> None:
    """SideBook's best and top match a sorted dict after every diff, however the top is rebuilt."""
    side = SideBook(need, keep=need + 2)
    reference: dict[int, int] = {}
    for diff in diffs:
        rows = sorted(diff)
        keys = [k for k, q in rows if q] + [k for k, q in rows if not q]
        lots = [q for k, q in rows if q] + [0 for k, q in rows if not q]
        n = sum(1 for _, q in rows if q)
        side.apply(keys, lots, 0, n, n, len(keys))
        for k, q in rows:
            if q:
                reference[k] = q
            else:
                reference.pop(k, None)
        want = sorted(reference)
        assert side.best() == (want[0] if want else None)
        assert side.top[:need] == want[:need]
        assert side.top == [k for k in want if k <= side.floor]
        assert dict(side.walk()) == reference


def test_the_venue_applies_trades_at_their_exchange_time_and_the_book_in_recorded_order() -> None:
    """Two streams: the book's messages keep their recorded order (a diff stamped earlier than the
    one before it is applied after it, at that one's time); a trade received late goes before the
    diff the venue stamped after it, and keeps its receive time."""
    book = Book().snapshot(0, [(100, 1)], [(101, 1)]).diff(50, bids=[(100, 2)]).diff(40, bids=[(100, 3)])
    book.trade(20, 100, 1, buy=False, feed_ns=45 * MS)
    [chunk] = Tape(book.recording()).chunks()
    assert chunk.kind == [SNAPSHOT, TRADE, DEPTH, DEPTH]
    assert [t - T0 for t in chunk.venue_ns] == [0, 20 * MS, 50 * MS, 50 * MS]
    assert [t - T0 for t in chunk.local_ns] == [0, 65 * MS, 50 * MS, 50 * MS]
