"""The L2 book: levels, best prices, clears and the known/unknown state, and replay by time."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.data import BookReplay, L2Book, load
from tests.sim.data.helpers import snapshot, spot_diff, trade, write_gz

T, MS = 1_723_161_254_000_000_000, 1_000_000


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(90, 110), st.integers(0, 3)), max_size=60))
def test_best_prices_follow_every_level_change(ops: list[tuple[bool, int, int]]) -> None:
    """Whatever levels are set and deleted, best bid/ask equal the max/min of the live levels and
    ``top`` lists them best first."""
    book = L2Book()
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    for is_bid, price, qty in ops:
        (book.set_bid if is_bid else book.set_ask)(price, qty)
        side = bids if is_bid else asks
        if qty:
            side[price] = qty
        else:
            side.pop(price, None)
        assert book.best_bid() == (max(bids.items()) if bids else None)
        assert book.best_ask() == (min(asks.items()) if asks else None)
    top_bids, top_asks = book.top(3)
    assert top_bids == sorted(bids.items(), reverse=True)[:3]
    assert top_asks == sorted(asks.items())[:3]


def test_clearing_a_side_removes_its_levels_from_the_best_through_the_price() -> None:
    """As hftbacktest's clear_depth: bids at the price and above go, asks at the price and below."""
    book = L2Book()
    for price in (95, 96, 97):
        book.set_bid(price, 1)
    for price in (101, 102, 103):
        book.set_ask(price, 1)
    book.clear_bids_from(96)
    book.clear_asks_from(102)
    assert book.bids == {95: 1} and book.asks == {103: 1}
    assert book.best_bid() == (95, 1) and book.best_ask() == (103, 1)


def test_replay_by_time_snapshot_then_diffs_then_a_gap(tmp_path: Path) -> None:
    """Unknown before the snapshot; after it, the snapshot's levels, then each diff's; trades change
    nothing; after a gap the book is unknown and empty."""
    book = ([("100.00", "1.0"), ("99.99", "2.0")], [("100.01", "3.0")])
    lines = [
        trade(T, 1, "100.00", "0.1", buyer_is_maker=True),
        snapshot(T + MS, 10, *book),
        spot_diff(T + 2 * MS, 11, 11, [("100.00", "0.0")], [("100.02", "1.5")]),
        trade(T + 3 * MS, 2, "100.00", "0.1", buyer_is_maker=True),
        spot_diff(T + 4 * MS, 15, 16),
    ]
    recording = load([write_gz(tmp_path / "b.gz", lines)], cache=False)
    assert (recording.meta.tick_size, recording.meta.lot_size) == ("0.01", "0.1")
    replay = BookReplay(recording)
    assert not replay.at(T).known and not replay.at(T - 1).known
    at_snapshot = replay.at(T + MS)
    assert at_snapshot.known and at_snapshot.top(5) == ([(10000, 10), (9999, 20)], [(10001, 30)])
    after_diff = replay.at(T + 3 * MS)
    assert after_diff.top(5) == ([(9999, 20)], [(10001, 30), (10002, 15)])
    assert after_diff.update_id == 11 and after_diff.local_ts == T + 3 * MS
    after_gap = replay.at(T + 4 * MS)
    assert not after_gap.known and after_gap.bids == {} and after_gap.asks == {}
