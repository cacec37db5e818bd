"""``BookMirror``: an external L2 book and its trades as background liquidity, with our order's queue
position: it fills only once what was ahead of it has traded, or when the price trades through it."""

from __future__ import annotations

from sim.book import Side
from sim.events import ExchangeConfig, Instrument, OrderType, OwnFill, PlaceOrder
from sim.exchange import SimExchange
from sim.mirror import BookMirror

T = 1_000_000_000
BIDS = [(1000, 50), (999, 30)]
ASKS = [(1002, 40), (1003, 20)]


def setup() -> tuple[SimExchange, BookMirror]:
    config = ExchangeConfig(
        instrument=Instrument("BTC", "USDT", 0.01, 0.00001), order_latency_ns=0, md_latency_ns=0,
        snapshot_interval_ns=None,
    )  # fmt: skip
    ex = SimExchange(config, None, seed=0, accounts={"me": {"BTC": 10.0, "USDT": 1e6}}, start_ns=T)
    mirror = BookMirror(ex)
    mirror.on_book(BIDS, ASKS, T)
    return ex, mirror


def our_bid(ex: SimExchange, price: int = 1000, qty: int = 10, now: int = T + 1) -> list[object]:
    events = ex.submit(PlaceOrder("me", "b1", Side.BUY, price, qty, OrderType.LIMIT), now)
    return [*events, *ex.advance(now)]  # the engine takes it at ``now`` (no latency)


def fills(events: list[object]) -> list[int]:
    return [e.qty_lots for e in events if isinstance(e, OwnFill)]


def test_the_background_book_is_the_external_book() -> None:
    ex, mirror = setup()
    assert ex.depth(5) == (tuple(BIDS), tuple(ASKS))
    mirror.on_book([(1001, 5), (1000, 45)], [(1002, 40)], T + 1)
    assert ex.depth(5) == (((1001, 5), (1000, 45)), ((1002, 40),))


def test_we_queue_behind_the_level_and_fill_only_once_it_has_traded() -> None:
    ex, mirror = setup()
    our_bid(ex)
    assert ex.queue_ahead("me", "b1") == 50
    assert fills(mirror.on_trade(1000, 30, Side.SELL, T + 2)) == []
    assert ex.queue_ahead("me", "b1") == 20
    mirror.on_book([(1000, 20), (999, 30)], ASKS, T + 3)  # the snapshot reflecting the trade
    assert ex.queue_ahead("me", "b1") == 20 and ex.depth(1)[0] == ((1000, 30),)  # 20 theirs + our 10
    assert fills(mirror.on_trade(1000, 24, Side.SELL, T + 4)) == [4]
    assert ex.order_status("me", "b1").filled_lots == 4  # type: ignore[union-attr]


def test_cancels_come_from_behind_us_first() -> None:
    """The level grows behind us, then shrinks by more than grew: first what is behind us goes, then
    what is ahead (in place); we never move back."""
    ex, mirror = setup()
    our_bid(ex)
    mirror.on_book([(1000, 80), (999, 30)], ASKS, T + 2)  # 30 more, behind us
    assert ex.queue_ahead("me", "b1") == 50
    mirror.on_book([(1000, 35), (999, 30)], ASKS, T + 3)  # 45 less: 30 behind, then 15 ahead
    assert ex.queue_ahead("me", "b1") == 35
    assert ex.depth(1)[0] == ((1000, 45),)


def test_a_trade_through_our_price_fills_us_whole() -> None:
    ex, mirror = setup()
    our_bid(ex, price=1001, qty=10)
    assert fills(mirror.on_trade(999, 100, Side.SELL, T + 2)) == [10]


def test_the_market_moving_through_our_order_fills_it_at_our_price() -> None:
    ex, mirror = setup()
    our_bid(ex, price=1001, qty=10)
    events = mirror.on_book([(1000, 50)], [(1001, 25), (1002, 40)], T + 2)  # asks down to our bid
    got = [e for e in events if isinstance(e, OwnFill)]
    assert [(f.qty_lots, f.price_ticks, f.liquidity) for f in got] == [(10, 1001, "maker")]
    assert ex.depth(1)[1] == ((1001, 15),)  # the rest of that ask rests; the next snapshot tops it up
