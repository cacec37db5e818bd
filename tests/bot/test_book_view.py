"""The book view: every kind of bad market data is dropped, counted by kind, and leaves the book
untrusted until a good book arrives; good data is taken."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mm_bot.engine.book import BookLimits, BookView
from mm_bot.engine.reasons import Reason
from mm_bot.model import BookSnapshot, PublicTrade, Side

NOW = 1_700_000_000 * 1_000_000_000
LIMITS = BookLimits(
    tick_size=0.01,
    mid_min=10_000.0,
    mid_max=200_000.0,
    max_jump_bps=500.0,
    jump_confirm_books=3,
    max_clock_skew_ns=5_000_000_000,
)
BID, ASK = 5_999_990, 6_000_010  # mid 60000.00


def book(seq: int, bid: object = BID, ask: object = ASK, *, ts: int = NOW, qty: object = 5) -> BookSnapshot:
    return BookSnapshot(ts, ts, seq, ((bid, qty),), ((ask, qty),))  # type: ignore[arg-type]


def good_view() -> BookView:
    view = BookView(LIMITS)
    assert view.on_book(book(1), NOW)
    return view


def test_a_good_book_is_taken_and_trusted() -> None:
    """A sane book moves the view: best prices, mid, time, trust."""
    view = BookView(LIMITS)
    assert view.problem is Reason.NO_BOOK
    assert view.on_book(book(1), NOW)
    assert (view.best_bid, view.best_ask, view.mid, view.last_book_ns) == (BID, ASK, 60_000.0, NOW)
    assert view.trusted and view.first_mid == 60_000.0


BAD_BOOKS = {
    "nan_price": (book(2, bid=math.nan), "book_levels"),
    "inf_price": (book(2, ask=math.inf), "book_levels"),
    "float_price": (book(2, bid=5_999_990.5), "book_levels"),
    "nan_qty": (book(2, qty=math.nan), "book_levels"),
    "zero_price": (book(2, bid=0), "book_levels"),
    "negative_qty": (book(2, qty=-5), "book_levels"),
    "bool_qty": (book(2, qty=True), "book_levels"),
    "unsorted": (BookSnapshot(NOW, NOW, 2, ((BID, 5), (BID + 1, 5)), ((ASK, 5),)), "book_levels"),
    "crossed": (book(2, bid=ASK, ask=BID), "book_crossed"),
    "locked": (book(2, bid=BID, ask=BID), "book_crossed"),
    "future": (book(2, ts=NOW + 10_000_000_000), "book_future"),
    "mid_100x_off": (book(2, bid=BID * 100, ask=ASK * 100), "mid_out_of_range"),
    "mid_below_range": (book(2, bid=99_990, ask=100_010), "mid_out_of_range"),
    "mid_jump_10pct": (book(2, bid=6_599_990, ask=6_600_010), "mid_jump"),
}


@pytest.mark.parametrize("name", BAD_BOOKS)
def test_bad_book_is_dropped_counted_and_distrusted(name: str) -> None:
    """Each kind of bad book: not taken (the view keeps the last good book), counted by its kind,
    and the book is untrusted until a good one arrives."""
    bad, kind = BAD_BOOKS[name]
    view = good_view()
    assert not view.on_book(bad, NOW)
    assert view.dropped == {kind: 1}
    assert (view.best_bid, view.best_ask, view.mid) == (BID, ASK, 60_000.0)
    assert view.problem is Reason.UNTRUSTED_BOOK
    assert view.on_book(book(3), NOW)
    assert view.trusted


def test_old_sequence_is_dropped_without_distrust() -> None:
    """A repeated or older sequence number is dropped and counted; the newer book stays trusted."""
    view = good_view()
    assert not view.on_book(book(1, bid=BID - 10), NOW)
    assert view.dropped == {"book_sequence": 1} and view.trusted and view.best_bid == BID


def test_one_sided_book_is_no_book_not_malformed() -> None:
    """An empty side is a market state: no mid (no_book), counted apart from bad data."""
    view = good_view()
    assert not view.on_book(BookSnapshot(NOW, NOW, 2, ((BID, 5),), ()), NOW)
    assert view.problem is Reason.NO_BOOK and view.one_sided == 1 and not view.dropped


def test_a_jump_confirmed_by_consecutive_books_is_taken() -> None:
    """A real move beyond the jump limit: dropped until three consecutive books agree, then taken."""
    view = good_view()
    moved = (6_599_990, 6_600_010)
    assert not view.on_book(book(2, *moved), NOW)
    assert not view.on_book(book(3, moved[0] + 10, moved[1] + 10), NOW)
    assert view.on_book(book(4, *moved), NOW)
    assert view.mid == 66_000.0 and view.trusted and view.dropped == {"mid_jump": 2}


def test_jumps_that_disagree_with_each_other_are_never_taken() -> None:
    """Spikes in both directions never confirm each other."""
    view = good_view()
    for seq, (b, a) in enumerate([(6_599_990, 6_600_010), (5_399_990, 5_400_010)] * 3, start=2):
        assert not view.on_book(book(seq, b, a), NOW)
    assert view.mid == 60_000.0 and view.problem is Reason.UNTRUSTED_BOOK


def test_disconnect_distrusts_until_connected_and_a_fresh_book() -> None:
    """Down: untrusted whatever arrives; back: sequence numbers may restart, a good book is needed."""
    view = good_view()
    view.on_disconnected()
    assert view.problem is Reason.DISCONNECTED
    view.on_book(book(2), NOW)
    assert view.problem is Reason.DISCONNECTED
    view.on_connected()
    assert view.problem is Reason.UNTRUSTED_BOOK
    assert view.on_book(book(1), NOW)  # the venue restarted its sequence
    assert view.trusted


@pytest.mark.parametrize(
    "trade",
    [
        PublicTrade(NOW, NOW, 0, 5, Side.BUY),
        PublicTrade(NOW, NOW, BID, -1, Side.BUY),
        PublicTrade(NOW, NOW, math.nan, 5, Side.BUY),  # type: ignore[arg-type]
        PublicTrade(NOW, NOW + 10_000_000_000, BID, 5, Side.SELL),
    ],
)
def test_bad_trade_is_dropped_and_counted(trade: PublicTrade) -> None:
    """Non-positive, non-integer and future trades are not used."""
    view = good_view()
    assert not view.on_trade(trade, NOW)
    assert view.dropped == {"trade": 1} and view.trades == 0


@given(
    bids=st.lists(st.tuples(st.integers(-5, 10**9), st.integers(-5, 10**6)), min_size=1, max_size=6),
    asks=st.lists(st.tuples(st.integers(-5, 10**9), st.integers(-5, 10**6)), min_size=1, max_size=6),
)
def test_any_book_taken_is_sane(bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> None:
    """Whatever arrives, a book the view takes has sorted positive levels, is uncrossed, and its mid
    lies in the verified range."""
    view = BookView(LIMITS)
    snapshot = BookSnapshot(NOW, NOW, 1, tuple(bids), tuple(asks))
    if view.on_book(snapshot, NOW):
        assert all(p > 0 and q > 0 for p, q in bids + asks)
        assert [p for p, _ in bids] == sorted({p for p, _ in bids}, reverse=True)
        assert [p for p, _ in asks] == sorted({p for p, _ in asks})
        assert bids[0][0] < asks[0][0]
        assert LIMITS.mid_min <= view.mid <= LIMITS.mid_max
    else:
        assert not view.trusted
