"""The fill rules on hand-built books: the queue ahead, partial fills, trades and books through our
price, marketable orders on arrival, and the unknown book."""

from __future__ import annotations

import pytest

from sim.events import (
    BookSnapshot,
    CancelRejected,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderType,
    PublicTrade,
)
from sim.replay import BookKnown, BookUnknown, Probabilistic, power
from tests.sim.replay.builder import MS, Book
from tests.sim.replay.harness import BUY, SELL, Venue, ms

BID, ASK = 10_000, 10_010


def test_an_order_behind_5_lots_fills_only_after_5_lots_trade() -> None:
    """5 lots ahead: trades of 2 and 3 lots fill nothing; the next lot traded fills one lot of ours."""
    book = Book().snapshot(0, [(BID, 5)], [(ASK, 5)])
    book.trade(10, BID, 2, buy=False).trade(20, BID, 3, buy=False).trade(30, BID, 1, buy=False)
    book.trade(40, BID, 1, buy=False)
    v = Venue(book)
    cid = v.place(1, BUY, BID, 2)
    v.at(25)
    assert v.fills() == [] and v.venue.queue_ahead("me", cid) == 0
    v.finish()
    fills = v.fills()
    assert [(ms(f.exchange_ts_ns), f.qty_lots, f.remaining_lots) for f in fills] == [(30, 1, 1), (40, 1, 0)]
    assert all(f.price_ticks == BID and f.liquidity == "maker" for f in fills)
    assert [f.trade_id for f in fills] == [3, 4]  # the recorded trades' ids


def test_a_trade_larger_than_the_queue_ahead_fills_the_excess_partially() -> None:
    """2 lots ahead, 3 of ours: a trade of 4 fills 2 (one remains), the next trade the last one."""
    book = (
        Book().snapshot(0, [(BID, 2)], [(ASK, 5)]).trade(10, BID, 4, buy=False).trade(20, BID, 5, buy=False)
    )
    v = Venue(book)
    v.place(1, BUY, BID, 3)
    v.finish()
    assert [(f.qty_lots, f.remaining_lots) for f in v.fills()] == [(2, 1), (1, 0)]


def test_a_trade_through_our_price_fills_all_of_it_at_our_price() -> None:
    """A sell printing below our bid fills our whole order at our price, however small the print."""
    book = Book().snapshot(0, [(BID, 50)], [(ASK, 5)]).trade(10, BID - 1, 1, buy=False)
    v = Venue(book)
    v.place(1, BUY, BID, 7)
    v.finish()
    [fill] = v.fills()
    assert (fill.price_ticks, fill.qty_lots, fill.remaining_lots, fill.trade_id) == (BID, 7, 0, 1)


def test_a_buy_at_our_ask_goes_through_the_queue_and_a_buy_above_it_fills_us() -> None:
    """Our ask behind 3 lots: a buy of 3 at our price fills nothing, a buy printing above fills all."""
    book = (
        Book().snapshot(0, [(BID, 5)], [(ASK, 3)]).trade(10, ASK, 3, buy=True).trade(20, ASK + 2, 1, buy=True)
    )
    v = Venue(book)
    v.place(1, SELL, ASK, 4)
    v.finish()
    assert [(ms(f.exchange_ts_ns), f.qty_lots, f.side) for f in v.fills()] == [(20, 4, SELL)]


def test_the_opposite_best_reaching_our_price_fills_us_fully() -> None:
    """Book through: a diff puts the best ask at our bid (and the best bid at our ask): both fill fully
    at our prices, with ids of the venue's own (negative: no recorded trade)."""
    book = Book().snapshot(0, [(BID, 5)], [(ASK, 5)])
    book.diff(10, asks=[(ASK, 0), (BID, 1)])  # the asks come down to our bid
    book.diff(20, bids=[(BID, 0), (ASK + 1, 2)], asks=[(BID, 0), (ASK + 2, 1)])  # the bids go up past our ask
    v = Venue(book)
    v.place(1, BUY, BID, 3)
    v.place(1, SELL, ASK + 1, 2)
    v.finish()
    fills = v.fills()
    assert [(ms(f.exchange_ts_ns), f.side, f.price_ticks, f.qty_lots) for f in fills] == [
        (10, BUY, BID, 3),
        (20, SELL, ASK + 1, 2),
    ]
    assert all(f.trade_id < 0 and f.liquidity == "maker" for f in fills)


def _cancels_ahead(model_name: str) -> Venue:
    """10 lots at our bid when we join; 10 more join behind; 6 leave; then 8 trade."""
    book = Book().snapshot(0, [(BID, 10)], [(ASK, 5)])
    book.diff(10, bids=[(BID, 20)]).diff(20, bids=[(BID, 14)]).trade(30, BID, 8, buy=False)
    model = Probabilistic(power(2.0)) if model_name == "probabilistic" else None
    v = Venue(book, model)
    v.place(1, BUY, BID, 5, cid="q")
    return v


def test_cancellations_never_move_us_forward_in_the_conservative_model() -> None:
    """Conservative: the 6 lots left from behind us; 10 still ahead, 8 trade, 2 remain ahead."""
    v = _cancels_ahead("conservative")
    v.at(25)
    assert v.venue.queue_ahead("me", "q") == 10
    v.finish()
    assert v.fills() == [] and v.venue.queue_ahead("me", "q") == 2


def test_cancellations_move_us_forward_by_the_fronts_share_in_the_probabilistic_model() -> None:
    """power(2) with 10 ahead and 10 behind: half the 6 lots came from ahead (7 ahead), so 8 traded
    fill 1 lot of ours."""
    v = _cancels_ahead("probabilistic")
    v.at(25)
    assert v.venue.queue_ahead("me", "q") == pytest.approx(7.0)
    v.finish()
    assert [(f.qty_lots, f.remaining_lots) for f in v.fills()] == [(1, 4)]


def test_a_decrease_that_trades_explain_is_not_counted_again() -> None:
    """Probabilistic: a trade of 4 at our price, then the diff showing those 4 lots gone: 6 ahead."""
    book = Book().snapshot(0, [(BID, 10)], [(ASK, 5)]).diff(10, bids=[(BID, 20)])
    book.trade(20, BID, 4, buy=False).diff(30, bids=[(BID, 16)])
    v = Venue(book, Probabilistic(power(2.0)))
    v.place(1, BUY, BID, 5, cid="q")
    v.finish()
    assert v.venue.queue_ahead("me", "q") == pytest.approx(6.0)


def test_a_post_only_order_that_would_cross_is_rejected_on_arrival() -> None:
    """POST_ONLY at the best ask: rejected ``post_only_would_cross``, nothing fills."""
    v = Venue(Book().snapshot(0, [(BID, 5)], [(ASK, 5)]).diff(50, bids=[(BID, 6)]))
    v.place(1, BUY, ASK, 1)
    v.place(1, SELL, BID, 1)
    v.finish()
    assert [e.reason for e in v.of(OrderRejected)] == ["post_only_would_cross"] * 2
    assert v.fills() == []


def test_a_marketable_order_takes_the_recorded_depth_as_taker() -> None:
    """IOC buy of 8 through two ask levels (5 at 10010, 2 at 10011): 7 lots taken at each level's price
    with the taker fee, 1 cancelled; a LIMIT buy of 3 takes 3 and rests nothing; MARKET sells take bids."""
    v = Venue(
        Book().snapshot(0, [(BID, 4), (BID - 1, 9)], [(ASK, 5), (ASK + 1, 2)]).diff(50, bids=[(BID, 5)]),
        maker_fee_bps=-1.0,
        taker_fee_bps=10.0,
    )
    v.place(1, BUY, ASK + 1, 8, OrderType.IOC)
    v.place(2, BUY, ASK, 3, OrderType.LIMIT)
    v.place(3, SELL, 0, 6, OrderType.MARKET)
    v.finish()
    fills = [(f.side, f.price_ticks, f.qty_lots, f.liquidity) for f in v.fills()]
    assert fills == [
        (BUY, ASK, 5, "taker"),
        (BUY, ASK + 1, 2, "taker"),
        (BUY, ASK, 3, "taker"),
        (SELL, BID, 4, "taker"),
        (SELL, BID - 1, 2, "taker"),
    ]
    first = v.fills()[0]
    assert first.fee_quote == pytest.approx(ASK * 0.01 * 5 * 10 / 1e4)
    assert [(e.reason, e.cancelled_qty_lots) for e in v.of(OrderCancelled)] == [("ioc_remainder", 1)]
    assert v.venue.open_orders("me") == []


def test_cancels_and_unknown_orders() -> None:
    """A resting order is cancelled (``user``); cancelling it again is ``unknown_order``."""
    v = Venue(Book().snapshot(0, [(BID, 5)], [(ASK, 5)]).diff(50, bids=[(BID, 6)]))
    cid = v.place(1, BUY, BID, 1)
    v.cancel(3, cid)
    v.cancel(5, cid)
    v.finish()
    assert [e.reason for e in v.of(OrderCancelled)] == ["user"]
    assert [e.reason for e in v.of(CancelRejected)] == ["unknown_order"]


def test_an_order_beyond_the_funds_is_rejected() -> None:
    """Funds as SimExchange checks them: 1 BTC cannot back a sell of 2 lots of 1 BTC."""
    v = Venue(Book().snapshot(0, [(BID, 5)], [(ASK, 5)]), balances={"USDT": 1e6, "BTC": 1.0})
    v.place(1, SELL, ASK, 2)
    v.finish()
    assert [e.reason for e in v.of(OrderRejected)] == ["insufficient_funds"]


def test_nothing_is_sent_or_filled_before_the_first_snapshot() -> None:
    """Trades before the first snapshot fill nothing and no book is sent; after it, our order waits
    behind the snapshot's level."""
    book = Book().trade(0, BID, 9, buy=False).trade(5, BID - 5, 9, buy=False)
    book.snapshot(10, [(BID, 3)], [(ASK, 5)]).trade(20, BID, 3, buy=False).trade(30, BID, 1, buy=False)
    v = Venue(book)
    cid = v.place(1, BUY, BID, 1)
    v.at(9)
    assert v.of(BookSnapshot) == [] and v.fills() == [] and v.venue.queue_ahead("me", cid) is None
    v.finish()
    assert [ms(f.exchange_ts_ns) for f in v.fills()] == [30]
    assert not v.of(BookUnknown) and not v.of(BookKnown)  # the book was never known before


def test_a_gap_stops_the_book_and_the_fills_until_the_next_snapshot() -> None:
    """From the gap: BookUnknown, no book, a trade through our price fills nothing, a taker order is
    cancelled unfilled; the snapshot after it: BookKnown, then its book, our order at the back of its
    level again (and filled at once when that snapshot crosses it)."""
    book = Book().snapshot(0, [(BID, 5)], [(ASK, 5)]).gap(10).trade(15, BID - 3, 5, buy=False)
    book.snapshot(20, [(BID, 4)], [(BID + 2, 1), (ASK, 5)]).trade(30, BID, 4, buy=False).trade(
        40, BID, 1, buy=False
    )
    v = Venue(book)
    rest = v.place(1, BUY, BID, 2)
    crossed = v.place(1, BUY, BID + 3, 1)  # the resync's asks start below it
    v.place(12, BUY, ASK, 1, OrderType.IOC)
    v.at(19)
    assert v.fills() == [] and len(v.of(BookSnapshot)) == 1 and len(v.of(BookUnknown)) == 1
    assert [(e.reason, e.cancelled_qty_lots) for e in v.of(OrderCancelled)] == [("ioc_remainder", 1)]
    v.at(21)
    kinds = [type(e).__name__ for e in v.events]
    assert kinds.index("BookKnown") < len(kinds) - 1 - kinds[::-1].index("BookSnapshot")
    assert v.venue.queue_ahead("me", rest) == 4
    v.finish()
    fills = [(ms(f.exchange_ts_ns), f.client_order_id, f.qty_lots) for f in v.fills()]
    assert fills == [(20, crossed, 1), (40, rest, 1)]


def test_the_latencies_delay_arrival_and_answers() -> None:
    """Entry 5 ms, response 7 ms, feed 3 ms: placed at 4 ms, at the venue at 9, accepted by us at 16;
    a trade at 20 ms fills it, we learn at 27; the trade itself we see at 23."""
    book = Book(feed_ns=3_000_000).snapshot(0, [(BID, 1)], [(ASK, 5)]).trade(20, BID, 2, buy=False)
    v = Venue(book, entry=5_000_000, response=7_000_000)
    v.place(4, BUY, BID, 1)
    v.finish()
    [ack] = v.of(OrderAccepted)
    assert (ms(ack.exchange_ts_ns), ms(ack.ts_ns)) == (9, 16)
    [fill] = v.fills()
    assert (ms(fill.exchange_ts_ns), ms(fill.ts_ns)) == (20, 27)
    [trade] = v.of(PublicTrade)
    assert (ms(trade.exchange_ts_ns), ms(trade.ts_ns)) == (20, 23)


def test_recorded_latency_takes_the_latest_feed_latency() -> None:
    """Order latency "recorded": the latest diff's or trade's receive time minus its venue time."""
    book = Book(feed_ns=4_000_000).snapshot(0, [(BID, 1)], [(ASK, 5)]).diff(2, bids=[(BID, 2)])
    book.diff(60, bids=[(BID, 3)])
    v = Venue(book, entry="recorded", response="recorded")
    v.place(10, BUY, BID - 1, 1)
    v.finish()
    [ack] = v.of(OrderAccepted)
    assert (ms(ack.exchange_ts_ns), ms(ack.ts_ns)) == (14, 18)


def test_a_constant_feed_latency_replaces_the_recorded_receive_times() -> None:
    """feed=2 ms: every message is seen 2 ms after the venue applied it, whatever was recorded."""
    book = Book(feed_ns=9_000_000).snapshot(0, [(BID, 1)], [(ASK, 5)]).diff(10, bids=[(BID, 2)])
    v = Venue(book, feed=2_000_000)
    v.finish()
    assert [(ms(b.exchange_ts_ns), ms(b.ts_ns)) for b in v.of(BookSnapshot)] == [(0, 2), (10, 12)]


def test_a_trade_received_late_is_applied_at_its_exchange_time() -> None:
    """A sell through our bid stamped at 20 ms that the recorder received at 60 ms, after a diff the
    venue stamped at 50: it happened before our order reached the venue (26 ms), so it fills
    nothing, and we still see it at 60 ms, after the diff's book."""
    book = Book().snapshot(0, [(BID, 5)], [(ASK, 5)]).diff(50, asks=[(ASK, 6)])
    book.trade(20, BID - 1, 1, buy=False, feed_ns=40 * MS)
    v = Venue(book)
    v.place(25, BUY, BID, 1)
    v.finish()
    assert v.fills() == []
    seen = [(type(e).__name__, ms(e.exchange_ts_ns), ms(e.ts_ns)) for e in v.events]
    assert [s for s in seen if s[0] in ("BookSnapshot", "PublicTrade")] == [
        ("BookSnapshot", 0, 0),
        ("BookSnapshot", 50, 50),
        ("PublicTrade", 20, 60),
    ]


def test_a_trade_stamped_after_our_arrival_but_received_late_still_fills_us() -> None:
    """The same late print stamped at 30 ms, after our order arrived at 26: it fills us at 30 ms, and
    we learn of the fill a response latency later."""
    book = Book().snapshot(0, [(BID, 5)], [(ASK, 5)]).diff(50, asks=[(ASK, 6)])
    book.trade(30, BID - 1, 1, buy=False, feed_ns=30 * MS)
    v = Venue(book)
    v.place(25, BUY, BID, 1)
    v.finish()
    [fill] = v.fills()
    assert (ms(fill.exchange_ts_ns), ms(fill.ts_ns)) == (30, 31)
