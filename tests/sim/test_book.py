"""The limit order book: order types, queries, and Hypothesis invariants over random order streams."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.book import (
    BookError,
    DuplicateOrderId,
    OrderBook,
    PostOnlyWouldCross,
    Side,
    TimeInForce,
    UnknownOrderId,
)

BUY, SELL = Side.BUY, Side.SELL


def fills_of(fills: list) -> list[tuple[int, int, int, int]]:
    return [(f.maker_oid, f.taker_oid, f.price, f.qty) for f in fills]


def test_limit_rests_and_reports_top_of_book() -> None:
    """Non-crossing limits rest; best bid/ask and depth reflect them best-first with summed qty."""
    book = OrderBook()
    assert book.limit(1, BUY, 99, 5) == []
    book.limit(2, BUY, 98, 3)
    book.limit(3, BUY, 99, 2)
    book.limit(4, SELL, 101, 7)
    assert (book.best_bid(), book.best_ask()) == (99, 101)
    assert book.depth(BUY, 5) == [(99, 7), (98, 3)]
    assert book.depth(SELL, 1) == [(101, 7)]
    book.check_invariants()


def test_reduce_keeps_the_queue_place_and_all_of_it_cancels() -> None:
    """A partial cancel leaves the order where it was in the queue; reducing by all of it cancels."""
    book = OrderBook()
    book.limit(1, BUY, 99, 5)
    book.limit(2, BUY, 99, 4)
    assert book.reduce(1, 3) == 3
    assert book.queue_ahead(2) == 2 and book.depth(BUY, 1) == [(99, 6)]
    book.check_invariants()
    assert fills_of(book.limit(3, SELL, 99, 3, 0, TimeInForce.IOC)) == [(1, 3, 99, 2), (2, 3, 99, 1)]
    assert book.reduce(2, 10) == 3 and book.order(2) is None and book.best_bid() is None
    book.check_invariants()
    with pytest.raises(UnknownOrderId):
        book.reduce(2, 1)


def test_taker_walks_levels_at_maker_prices_in_fifo_order() -> None:
    """A marketable limit fills best price first, FIFO within a level, at the resting prices."""
    book = OrderBook()
    book.limit(1, SELL, 101, 2)
    book.limit(2, SELL, 101, 3)
    book.limit(3, SELL, 102, 4)
    fills = book.limit(10, BUY, 102, 6)
    assert fills_of(fills) == [(1, 10, 101, 2), (2, 10, 101, 3), (3, 10, 102, 1)]
    assert all(f.aggressor == BUY for f in fills)
    assert [f.maker_remaining for f in fills] == [0, 0, 3]
    assert book.best_ask() == 102 and book.best_bid() is None
    book.check_invariants()


def test_remainder_of_marketable_gtc_rests_at_its_limit() -> None:
    """A GTC order that exhausts the opposite side within its limit rests the rest at its price."""
    book = OrderBook()
    book.limit(1, BUY, 100, 2)
    fills = book.limit(2, SELL, 99, 5)
    assert fills_of(fills) == [(1, 2, 100, 2)]
    assert book.best_ask() == 99 and book.order(2) is not None and book.order(2).qty == 3  # type: ignore[union-attr]


def test_ioc_never_rests() -> None:
    """IOC trades what it can and the rest disappears."""
    book = OrderBook()
    book.limit(1, SELL, 100, 2)
    fills = book.limit(2, BUY, 100, 5, tif=TimeInForce.IOC)
    assert fills_of(fills) == [(1, 2, 100, 2)]
    assert book.order(2) is None and book.best_bid() is None
    assert book.limit(3, BUY, 90, 1, tif=TimeInForce.IOC) == [] and len(book) == 0


def test_post_only_rejected_when_it_would_take_and_book_unchanged() -> None:
    """A post-only order that would trade raises and leaves the book as it was."""
    book = OrderBook()
    book.limit(1, SELL, 100, 2)
    with pytest.raises(PostOnlyWouldCross):
        book.limit(2, BUY, 100, 1, tif=TimeInForce.POST_ONLY)
    assert book.order(2) is None and book.order(1).qty == 2  # type: ignore[union-attr]
    assert book.limit(3, BUY, 99, 1, tif=TimeInForce.POST_ONLY) == []
    assert book.best_bid() == 99


def test_market_order_takes_available_and_cancels_rest() -> None:
    """A market order sweeps the opposite side regardless of price; nothing of it rests."""
    book = OrderBook()
    book.limit(1, BUY, 100, 1)
    book.limit(2, BUY, 50, 1)
    fills = book.market(3, SELL, 5)
    assert fills_of(fills) == [(1, 3, 100, 1), (2, 3, 50, 1)]
    assert len(book) == 0 and book.market(4, BUY, 1) == []


def test_cancel_and_cancel_all_by_owner() -> None:
    """Cancel removes remaining qty; cancel-all removes only that owner's orders."""
    book = OrderBook()
    book.limit(1, BUY, 100, 3, owner=7)
    book.limit(2, BUY, 100, 4, owner=8)
    book.limit(3, SELL, 105, 1, owner=7)
    assert book.cancel(2) == 4
    with pytest.raises(UnknownOrderId):
        book.cancel(2)
    assert book.cancel_all(7) == [1, 3]
    assert len(book) == 0 and book.best_bid() is None
    assert book.cancelled_qty == 8
    book.check_invariants()


def test_queue_ahead_counts_live_quantity_in_front() -> None:
    """Queue position: quantity ahead shrinks as orders in front fill or cancel."""
    book = OrderBook()
    book.limit(1, BUY, 100, 5)
    book.limit(2, BUY, 100, 3)
    book.limit(3, BUY, 100, 2)
    assert [book.queue_ahead(i) for i in (1, 2, 3)] == [0, 5, 8]
    book.cancel(2)
    assert book.queue_ahead(3) == 5
    book.market(9, SELL, 4)
    assert book.queue_ahead(3) == 1


def test_bad_orders_are_refused() -> None:
    """Non-positive qty/price and duplicate resting ids are errors with no side effects."""
    book = OrderBook()
    with pytest.raises(BookError):
        book.limit(1, BUY, 100, 0)
    with pytest.raises(BookError):
        book.limit(1, BUY, 0, 1)
    book.limit(1, BUY, 100, 1)
    with pytest.raises(DuplicateOrderId):
        book.limit(1, SELL, 200, 1)
    assert len(book) == 1 and book.added_qty == 1


# --------------------------------------------------------------- reference model and properties
@dataclass
class RefOrder:
    oid: int
    side: int
    price: int
    qty: int
    seq: int


class ReferenceBook:
    """A deliberately naive engine: a flat list, re-sorted on every match. Slow and obviously right."""

    def __init__(self) -> None:
        self.resting: list[RefOrder] = []
        self.seq = 0

    def submit(
        self, oid: int, side: int, price: int | None, qty: int, tif: str
    ) -> list[tuple[int, int, int, int]]:
        def crosses(o: RefOrder) -> bool:
            if o.side == side:
                return False
            if price is None:
                return True
            return o.price <= price if side > 0 else o.price >= price

        if tif == "post" and any(crosses(o) for o in self.resting):
            raise PostOnlyWouldCross("ref")
        fills = []
        while qty:
            candidates = [o for o in self.resting if crosses(o)]
            if not candidates:
                break
            best = min(candidates, key=lambda o: (o.price * side, o.seq))
            trade = min(qty, best.qty)
            fills.append((best.oid, oid, best.price, trade))
            best.qty -= trade
            qty -= trade
            if best.qty == 0:
                self.resting.remove(best)
        if qty and price is not None and tif in ("gtc", "post"):
            self.seq += 1
            self.resting.append(RefOrder(oid, side, price, qty, self.seq))
        return fills

    def cancel(self, oid: int) -> None:
        self.resting = [o for o in self.resting if o.oid != oid]


actions = st.lists(
    st.one_of(
        st.tuples(
            st.just("order"),
            st.sampled_from([1, -1]),
            st.integers(95, 105),
            st.integers(1, 6),
            st.sampled_from(["gtc", "gtc", "ioc", "post", "market"]),
        ),
        st.tuples(st.just("cancel"), st.integers(0, 200)),
    ),
    max_size=150,
)


@settings(max_examples=300, deadline=None)
@given(actions)
def test_random_streams_match_reference_and_keep_invariants(stream: list[tuple]) -> None:
    """Over random streams: same fills as the naive engine, book never crossed, FIFO, qty conserved."""
    book, ref = OrderBook(), ReferenceBook()
    oid = 0
    for action in stream:
        if action[0] == "cancel":
            live = [o.oid for o in book.open_orders()]
            if live:
                victim = live[action[1] % len(live)]
                book.cancel(victim)
                ref.cancel(victim)
        else:
            _, side, price, qty, tif = action
            oid += 1
            if tif == "market":
                got = fills_of(book.market(oid, side, qty))
                want = ref.submit(oid, side, None, qty, tif)
            else:
                book_tif = {"gtc": TimeInForce.GTC, "ioc": TimeInForce.IOC, "post": TimeInForce.POST_ONLY}[
                    tif
                ]
                try:
                    got = fills_of(book.limit(oid, side, price, qty, tif=book_tif))
                except PostOnlyWouldCross:
                    got = ["rejected"]  # type: ignore[list-item]
                try:
                    want = ref.submit(oid, side, price, qty, tif)
                except PostOnlyWouldCross:
                    want = ["rejected"]  # type: ignore[list-item]
            assert got == want
        book.check_invariants()
        # FIFO inside each level and identical resting state, order by order.
        mine = sorted((o.side, o.price, o.oid, o.qty) for o in book.open_orders())
        theirs = sorted((o.side, o.price, o.oid, o.qty) for o in ref.resting)
        assert mine == theirs
        for o in book.open_orders():
            same_level_older = [
                r
                for r in ref.resting
                if r.side == o.side
                and r.price == o.price
                and r.seq < next(x.seq for x in ref.resting if x.oid == o.oid)
            ]
            assert book.queue_ahead(o.oid) == sum(r.qty for r in same_level_older)
    assert book.resting_qty() == book.added_qty - book.filled_qty - book.cancelled_qty
