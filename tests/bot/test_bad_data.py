"""Bad market data through the whole core: every kind of implausible book is dropped, counted, never
quoted on, and pulls the resting quotes until a good book arrives."""

from __future__ import annotations

import math

import pytest

from mm_bot.engine.core_types import Cancel, Place
from mm_bot.model import BookSnapshot
from tests.bot.test_market import ASK, BID, MS, T0, Harness

NOW = T0 + 100 * MS


def book(seq: int, bid: object = BID, ask: object = ASK, *, ts: int = NOW, qty: object = 5) -> BookSnapshot:
    return BookSnapshot(ts, ts, seq, ((bid, qty),), ((ask, qty),))  # type: ignore[arg-type]


BAD = {
    "nan_price": (book(2, bid=math.nan), "book_levels"),
    "inf_price": (book(2, ask=math.inf), "book_levels"),
    "float_qty": (book(2, qty=2.5), "book_levels"),
    "negative_price": (book(2, bid=-5), "book_levels"),
    "crossed": (book(2, bid=ASK, ask=BID), "book_crossed"),
    "from_the_future": (book(2, ts=NOW + 60_000 * MS), "book_future"),
    "mid_100x_off": (book(2, bid=BID * 100, ask=ASK * 100), "mid_out_of_range"),
    "mid_below_verified_range": (book(2, bid=99_990, ask=100_010), "mid_out_of_range"),
    "mid_jump_10pct": (book(2, bid=6_599_990, ask=6_600_010), "mid_jump"),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_book_is_counted_never_quoted_and_pulls_the_quotes(name: str) -> None:
    """The bad book sends no order, cancels both resting quotes, is counted by kind; a good book after
    it quotes again around the good mid."""
    bad, kind = BAD[name]
    h = Harness()
    bid, ask = h.start()
    cmds = h.core.on_event(bad, NOW)  # our clock at NOW, whatever the book claims
    assert not [c for c in cmds if isinstance(c, Place)]
    assert sorted(c.client_order_id for c in cmds if isinstance(c, Cancel)) == sorted(
        [bid.client_order_id, ask.client_order_id]
    )
    assert h.core.book.dropped[kind] == 1 and h.core.book.mid == 60_000.0
    h.settle(cmds, NOW + MS)
    assert (
        h.core.on_event(BookSnapshot(bad.ts_ns, bad.exchange_ts_ns, 3, bad.bids, bad.asks), NOW + 2 * MS)
        == []
    )
    again = h.settle(h.book(NOW + 3 * MS), NOW + 4 * MS) or h.core.table.live_orders()
    assert again and len(h.core.table.live_orders()) == 2
    prices = sorted(o.request.price_ticks for o in h.core.table.live_orders())
    assert prices[0] < 6_000_000 < prices[1]  # quoted around the good mid, not the bad one
