"""SimExchange: latency, order types and rejects, funds and fees, races, queue position, determinism,
conservation, and the virtual-clock contract."""

from __future__ import annotations

import pytest

from sim.events import (
    BACKGROUND,
    AssetBalance,
    BookSnapshot,
    CancelAll,
    CancelOrder,
    CancelRejected,
    Command,
    Event,
    ExchangeConfig,
    Instrument,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderType,
    OwnFill,
    PlaceOrder,
    PublicTrade,
    Side,
)
from sim.exchange import SimExchange, TimeWentBackwards
from sim.flow import MarketParams

BUY, SELL = Side.BUY, Side.SELL
MS = 1_000_000
L, MD = 5 * MS, 2 * MS
INST = Instrument(base="BTC", quote="USDT", tick_size=0.5, lot_size=0.01)
MAKER_BPS, TAKER_BPS = -1.0, 5.0


class Taped(SimExchange):
    """Keeps every event any call returned, so a test also sees what earlier calls delivered."""

    tape: list[Event]

    def submit(self, command: Command, now_ns: int) -> list[Event]:
        return self._record(super().submit(command, now_ns))

    def advance(self, now_ns: int) -> list[Event]:
        return self._record(super().advance(now_ns))

    def apply_background(self, command: Command, now_ns: int) -> list[Event]:
        return self._record(super().apply_background(command, now_ns))

    def _record(self, events: list[Event]) -> list[Event]:
        self.tape = [*getattr(self, "tape", []), *events]
        return events


def make(**accounts: dict[str, float]) -> Taped:
    """An exchange without a synthetic market: the tests place background liquidity themselves."""
    cfg = ExchangeConfig(
        instrument=INST,
        order_latency_ns=L,
        md_latency_ns=MD,
        maker_fee_bps=MAKER_BPS,
        taker_fee_bps=TAKER_BPS,
    )
    accounts = accounts or {"me": {"BTC": 10.0, "USDT": 100_000.0}}
    return Taped(cfg, None, seed=0, accounts=accounts)


def bg(
    ex: SimExchange, cid: str, side: Side, price: int, qty: int, t: int, kind: str = "limit"
) -> list[Event]:
    return ex.apply_background(PlaceOrder(BACKGROUND, cid, side, price, qty, OrderType(kind)), t)


def place(cid: str, side: Side, price: int, qty: int, kind: str = "limit", account: str = "me") -> PlaceOrder:
    return PlaceOrder(account, cid, side, price, qty, OrderType(kind))


def private(events: list[Event]) -> list[Event]:
    return [e for e in events if not isinstance(e, PublicTrade | BookSnapshot)]


def test_ack_is_seen_two_order_latencies_after_submit() -> None:
    """An order submitted at t reaches the engine at t + L and its ack is delivered at t + 2L."""
    ex = make()
    t = 1 * MS
    assert private(ex.submit(place("a", BUY, 100, 1), t)) == []
    assert private(ex.advance(t + 2 * L - 1)) == []
    (ack,) = private(ex.advance(t + 2 * L))
    assert isinstance(ack, OrderAccepted)
    assert (ack.ts_ns, ack.exchange_ts_ns, ack.client_order_id) == (t + 2 * L, t + L, "a")


def test_snapshots_are_periodic_and_delivered_md_latency_late() -> None:
    """Snapshots happen every interval from the start, with seq 1, 2, ..., delivered md latency later."""
    ex = make()
    bg(ex, "b", BUY, 99, 4, 0)
    bg(ex, "s", SELL, 101, 6, 0)
    snaps = [e for e in ex.advance(250 * MS) if isinstance(e, BookSnapshot)]
    assert [(s.seq, s.exchange_ts_ns, s.ts_ns) for s in snaps] == [
        (1, 0, MD),
        (2, 100 * MS, 100 * MS + MD),
        (3, 200 * MS, 200 * MS + MD),
    ]
    assert snaps[0].bids == snaps[0].asks == ()  # taken at 0 before the orders applied at 0
    assert snaps[1].bids == ((99, 4),) and snaps[1].asks == ((101, 6),)


def test_post_only_that_would_cross_is_rejected_whole() -> None:
    """A post-only buy at or above the best ask is rejected with post_only_would_cross; below it rests."""
    ex = make()
    bg(ex, "s", SELL, 101, 3, 0)
    ex.submit(place("x", BUY, 101, 1, "post_only"), 0)
    ex.submit(place("y", BUY, 100, 1, "post_only"), 0)
    events = private(ex.advance(20 * MS))
    assert [type(e).__name__ for e in events] == ["OrderRejected", "OrderAccepted"]
    assert isinstance(events[0], OrderRejected) and events[0].reason == "post_only_would_cross"
    assert [o.client_order_id for o in ex.open_orders("me")] == ["y"]
    assert ex.best_bid_ask() == (100, 101)


def test_duplicate_client_id_rejected_while_open_and_reusable_after() -> None:
    """An id of an OPEN order is rejected; after cancel or full fill the id may be used again."""
    ex = make()
    ex.submit(place("a", BUY, 100, 1), 0)
    ex.submit(place("a", BUY, 99, 1), 1 * MS)
    ex.submit(CancelOrder("me", "a"), 2 * MS)
    ex.submit(place("a", BUY, 98, 2), 3 * MS)
    events = private(ex.advance(20 * MS))
    assert [type(e).__name__ for e in events] == [
        "OrderAccepted",
        "OrderRejected",
        "OrderCancelled",
        "OrderAccepted",
    ]
    assert isinstance(events[1], OrderRejected) and events[1].reason == "duplicate_client_order_id"
    assert [(o.client_order_id, o.price_ticks) for o in ex.open_orders("me")] == [("a", 98)]
    bg(ex, "m", SELL, 0, 2, 30 * MS, "market")  # fills "a" completely
    ex.submit(place("a", BUY, 97, 1), 31 * MS)
    ex.advance(50 * MS)
    assert [type(e).__name__ for e in private(ex.tape)[4:]] == ["OwnFill", "OrderAccepted"]


def test_insufficient_funds_counts_what_open_orders_lock() -> None:
    """Buys need quote at the limit price plus fee headroom, sells need base; open orders lock both."""
    ex = make(poor={"USDT": 100.0, "BTC": 0.05})
    bg(ex, "s", SELL, 200, 1, 0)
    for i, (side, price, qty, kind) in enumerate(
        [
            (BUY, 200, 100, "limit"),  # 100.0 USDT * (1 + 5 bps) = 100.05 > 100
            (BUY, 199, 99, "limit"),  # 98.505 * 1.0005 = 98.554 fits; 1.446 left
            (BUY, 100, 3, "limit"),  # 1.5 * 1.0005 > 1.446
            (SELL, 300, 6, "limit"),  # 0.06 BTC > 0.05
            (SELL, 300, 5, "limit"),  # 0.05 fits exactly
            (SELL, 301, 1, "limit"),  # all base is locked by the previous sell
            (BUY, 0, 1, "market"),  # at its protection price ceil(200 * 1.05) = 210: 1.0505 fits
        ]
    ):
        ex.submit(place(f"o{i}", side, price, qty, kind, account="poor"), i * MS)
    events = private(ex.advance(50 * MS))
    outcome = {
        e.client_order_id: type(e).__name__ for e in events if isinstance(e, OrderAccepted | OrderRejected)
    }
    assert outcome == {
        "o0": "OrderRejected",
        "o1": "OrderAccepted",
        "o2": "OrderRejected",
        "o3": "OrderRejected",
        "o4": "OrderAccepted",
        "o5": "OrderRejected",
        "o6": "OrderAccepted",
    }
    assert {e.reason for e in events if isinstance(e, OrderRejected)} == {"insufficient_funds"}
    balances = ex.account("poor")
    assert balances["USDT"].locked == pytest.approx(199 * 99 * 0.005 * 1.0005)
    assert balances["BTC"].locked == pytest.approx(0.05)


def test_market_buy_is_checked_at_its_protection_price() -> None:
    """A market buy that would cost 1.0 is still rejected when the protection price makes it 1.05."""
    ex = make(poor={"USDT": 1.04})
    bg(ex, "s", SELL, 200, 1, 0)
    ex.submit(place("m", BUY, 0, 1, "market", account="poor"), 0)
    (rej,) = private(ex.advance(20 * MS))
    assert isinstance(rej, OrderRejected) and rej.reason == "insufficient_funds"


def test_maker_rebate_and_taker_fee_move_balances_by_notional_times_bps() -> None:
    """Hand-computed: a maker buy of 0.1 BTC at 100 earns a 1 bp rebate; a taker buy at 101 pays 5 bp."""
    ex = make()
    ex.submit(place("bid", BUY, 200, 10), 0)  # 200 ticks * 0.5 = 100.0 USDT, 10 lots * 0.01 = 0.1 BTC
    ex.advance(10 * MS)
    assert ex.account("me")["USDT"].locked == pytest.approx(10.0 * (1 + 5e-4))
    bg(ex, "m", SELL, 0, 10, 20 * MS, "market")
    bg(ex, "s", SELL, 202, 4, 30 * MS)  # 101.0 USDT
    ex.submit(place("ioc", BUY, 202, 4, "ioc"), 31 * MS)
    ex.advance(60 * MS)
    maker, taker = [e for e in ex.tape if isinstance(e, OwnFill)]
    assert (maker.liquidity, maker.qty_lots, maker.remaining_lots) == ("maker", 10, 0)
    assert maker.fee_quote == pytest.approx(-10.0 * 1e-4, abs=1e-15)
    assert (taker.liquidity, taker.price_ticks, taker.qty_lots) == ("taker", 202, 4)
    assert taker.fee_quote == pytest.approx(4.04 * 5e-4, abs=1e-15)
    balances = ex.account("me")
    assert balances["BTC"].total == pytest.approx(10.0 + 0.1 + 0.04, abs=1e-12)
    assert balances["USDT"].total == pytest.approx(100_000.0 - 10.0 + 0.001 - 4.04 - 0.00202, abs=1e-9)
    assert balances["USDT"].locked == 0.0 and balances["BTC"].locked == 0.0


def test_fees_in_the_received_asset_charge_a_buy_in_base_and_a_sell_in_quote() -> None:
    """Binance spot without BNB: a taker buy of 0.04 BTC pays 5 bp of 0.04 BTC; a taker sell of
    0.02 BTC at 100.5 pays 5 bp of 2.01 USDT. Hand-computed balances."""
    cfg = ExchangeConfig(
        instrument=INST, order_latency_ns=L, md_latency_ns=MD, maker_fee_bps=MAKER_BPS,
        taker_fee_bps=TAKER_BPS, fee_asset="received",
    )  # fmt: skip
    ex = Taped(cfg, None, seed=0, accounts={"me": {"BTC": 10.0, "USDT": 100_000.0}})
    bg(ex, "s", SELL, 202, 4, 0)
    bg(ex, "b", BUY, 202 - 1, 2, 0)
    ex.submit(place("buy", BUY, 202, 4, "ioc"), 1 * MS)
    ex.submit(place("sell", SELL, 201, 2, "ioc"), 2 * MS)
    ex.advance(60 * MS)
    buy, sell = [e for e in ex.tape if isinstance(e, OwnFill)]
    assert (buy.fee_base, buy.fee_quote) == (pytest.approx(0.04 * 5e-4, abs=1e-15), 0.0)
    assert (sell.fee_base, sell.fee_quote) == (0.0, pytest.approx(2.01 * 5e-4, abs=1e-15))
    balances = ex.account("me")
    assert balances["BTC"].total == pytest.approx(10.0 + 0.04 - 0.04 * 5e-4 - 0.02, abs=1e-12)
    assert balances["USDT"].total == pytest.approx(100_000.0 - 4.04 + 2.01 - 2.01 * 5e-4, abs=1e-9)
    with pytest.raises(ValueError, match="fee_asset"):
        ExchangeConfig(fee_asset="BNB")  # type: ignore[arg-type]


def test_a_venue_with_a_fee_precision_charges_each_fee_as_it_reports_it() -> None:
    """A venue charging fees at 5 decimals, 0.7 bp: a taker buy of 0.03 BTC owes 0.0000021 BTC,
    charged 0; a taker sell of 0.01 BTC at 100.5 owes 0.00007035 USDT, charged 0.00007. The balances
    move by exactly the fees the fills report."""
    cfg = ExchangeConfig(
        instrument=INST, order_latency_ns=L, md_latency_ns=MD, maker_fee_bps=0.7,
        taker_fee_bps=0.7, fee_asset="received", fee_decimals=5,
    )  # fmt: skip
    ex = Taped(cfg, None, seed=0, accounts={"me": {"BTC": 10.0, "USDT": 100_000.0}})
    bg(ex, "s", SELL, 202, 3, 0)
    bg(ex, "b", BUY, 201, 1, 0)
    ex.submit(place("buy", BUY, 202, 3, "ioc"), 1 * MS)
    ex.submit(place("sell", SELL, 201, 1, "ioc"), 2 * MS)
    ex.advance(60 * MS)
    buy, sell = [e for e in ex.tape if isinstance(e, OwnFill)]
    assert buy.fee_base == 0.0  # 0.03 BTC * 0.7 bp = 0.0000021 BTC: below 5 decimals
    assert sell.fee_quote == 0.00007  # 1.005 USDT * 0.7 bp = 0.00007035 USDT
    balances = ex.account("me")
    assert balances["BTC"].total == pytest.approx(10.0 + 0.03 - buy.fee_base - 0.01, abs=1e-12)
    assert balances["USDT"].total == pytest.approx(100_000.0 - 3.03 + 1.005 - sell.fee_quote, abs=1e-9)
    with pytest.raises(ValueError, match="fee_decimals"):
        ExchangeConfig(fee_decimals=-1)


def test_fill_racing_a_cancel_gives_the_fill_and_a_cancel_reject() -> None:
    """Filled at the engine before our cancel arrives: we see OwnFill, then CancelRejected(unknown_order)."""
    ex = make()
    ex.submit(place("b", BUY, 100, 5), 0)
    bg(ex, "m", SELL, 0, 5, 20 * MS, "market")  # fills at 20 ms; we learn at 25 ms
    ex.submit(CancelOrder("me", "b"), 22 * MS)  # reaches the engine at 27 ms
    ex.advance(50 * MS)
    events = private(ex.tape)
    assert [type(e).__name__ for e in events] == ["OrderAccepted", "OwnFill", "CancelRejected"]
    fill, rej = events[1], events[2]
    assert isinstance(fill, OwnFill) and fill.ts_ns == 25 * MS and fill.remaining_lots == 0
    assert isinstance(rej, CancelRejected) and rej.reason == "unknown_order" and rej.exchange_ts_ns == 27 * MS


def test_ioc_and_market_remainders_are_cancelled_with_reasons() -> None:
    """IOC and market orders fill what they can (market within its band) and cancel the rest."""
    ex = make()
    bg(ex, "s1", SELL, 200, 3, 0)
    bg(ex, "s2", SELL, 400, 5, 0)  # beyond the 5% band of a market buy from 200
    ex.submit(place("i", BUY, 200, 5, "ioc"), 0)
    ex.advance(10 * MS)
    bg(ex, "s3", SELL, 200, 3, 10 * MS)
    ex.submit(place("m", BUY, 0, 5, "market"), 10 * MS)
    ex.submit(place("e", SELL, 0, 2, "market"), 10 * MS)  # no bids at all
    ex.advance(50 * MS)
    events = [e for e in private(ex.tape) if not isinstance(e, OrderAccepted)]
    summary = [
        (e.client_order_id, e.qty_lots) if isinstance(e, OwnFill) else (e.client_order_id, e.reason)
        for e in events
        if isinstance(e, OwnFill | OrderCancelled)
    ]
    assert summary == [
        ("i", 3),
        ("i", "ioc_remainder"),
        ("m", 3),
        ("m", "market_remainder"),
        ("e", "market_remainder"),
    ]
    assert [e.cancelled_qty_lots for e in events if isinstance(e, OrderCancelled)] == [2, 2, 2]
    assert ex.open_orders("me") == [] and ex.best_bid_ask() == (None, 400)


def test_queue_position_decreases_as_orders_ahead_trade() -> None:
    """queue_ahead counts live lots ahead of us at our price; trades ahead reduce it, then we fill."""
    ex = make()
    bg(ex, "a1", SELL, 200, 5, 0)
    bg(ex, "a2", SELL, 200, 3, 0)
    ex.submit(place("q", SELL, 200, 2), 0)
    bg(ex, "a3", SELL, 200, 4, 6 * MS)  # behind us
    assert ex.queue_ahead("me", "q") == 8
    bg(ex, "m1", BUY, 0, 4, 7 * MS, "market")
    assert ex.queue_ahead("me", "q") == 4
    ex.apply_background(CancelOrder(BACKGROUND, "a2"), 8 * MS)
    assert ex.queue_ahead("me", "q") == 1
    bg(ex, "m2", BUY, 0, 2, 9 * MS, "market")
    assert ex.queue_ahead("me", "q") == 0
    ex.advance(20 * MS)
    fills = [e for e in ex.tape if isinstance(e, OwnFill)]
    assert [(f.qty_lots, f.remaining_lots, f.liquidity) for f in fills] == [(1, 1, "maker")]
    bg(ex, "m3", BUY, 0, 3, 21 * MS, "market")
    with pytest.raises(KeyError):
        ex.queue_ahead("me", "q")
    assert ex.depth(5) == ((), ((200, 2),))


def test_public_trades_include_ours_with_matching_trade_ids() -> None:
    """Every trade is printed publicly, md latency after it happened; our fills carry its trade id."""
    ex = make()
    bg(ex, "s", SELL, 200, 2, 0)
    ex.submit(place("t", BUY, 200, 2), 0)
    events = ex.advance(50 * MS)
    (trade,) = [e for e in events if isinstance(e, PublicTrade)]
    (fill,) = [e for e in events if isinstance(e, OwnFill)]
    assert (trade.price_ticks, trade.qty_lots, trade.aggressor_side) == (200, 2, BUY)
    assert trade.trade_id == fill.trade_id and trade.ts_ns == L + MD and fill.ts_ns == 2 * L


def test_cancel_all_cancels_every_open_order_of_the_account_only() -> None:
    """CancelAll cancels the account's open orders in placement order and nobody else's."""
    ex = make(me={"USDT": 1000.0}, you={"USDT": 1000.0})
    ex.submit(place("a", BUY, 100, 1), 0)
    ex.submit(place("b", BUY, 101, 1), 0)
    ex.submit(place("c", BUY, 102, 1, account="you"), 0)
    ex.submit(CancelAll("me"), 1 * MS)
    cancels = [e for e in ex.advance(20 * MS) if isinstance(e, OrderCancelled)]
    assert [(e.account, e.client_order_id, e.reason) for e in cancels] == [
        ("me", "a", "user"),
        ("me", "b", "user"),
    ]
    assert [o.client_order_id for o in ex.open_orders("you")] == ["c"]


def test_invalid_orders_and_bad_calls() -> None:
    """Bad quantities/prices are rejected invalid_order; unknown accounts and backwards time raise."""
    ex = make()
    ex.submit(place("z", BUY, 100, 0), 0)
    ex.submit(place("n", BUY, -1, 1), 0)
    ex.submit(place("", BUY, 100, 1), 0)
    events = private(ex.advance(20 * MS))
    assert [e.reason for e in events if isinstance(e, OrderRejected)] == ["invalid_order"] * 3
    with pytest.raises(ValueError, match="unknown account"):
        ex.submit(place("x", BUY, 100, 1, account="nobody"), 20 * MS)
    with pytest.raises(ValueError, match="unknown account"):
        ex.submit(place("x", BUY, 100, 1, account=BACKGROUND), 20 * MS)
    with pytest.raises(TimeWentBackwards):
        ex.advance(19 * MS)
    with pytest.raises(ValueError, match="order_latency_ns"):
        ExchangeConfig(order_latency_ns=-1)
    with pytest.raises(ValueError, match="tick_size"):
        Instrument(tick_size=0.0)


def test_apply_background_cancel_of_a_filled_order_is_a_no_op() -> None:
    """A replay may cancel background liquidity that our order already took; nothing happens."""
    ex = make()
    bg(ex, "s", SELL, 200, 1, 0)
    ex.submit(place("t", BUY, 200, 1), 0)
    ex.advance(10 * MS)
    assert ex.apply_background(CancelOrder(BACKGROUND, "s"), 11 * MS) == []
    bg(ex, "s", SELL, 201, 1, 12 * MS)  # the id is free again
    ex.apply_background(CancelAll(BACKGROUND), 13 * MS)
    assert ex.best_bid_ask() == (None, None)


# ------------------------------------------------------------------------- with the synthetic market
def quoting_exchange(seed: int) -> SimExchange:
    accounts = {"me": {"BTC": 5.0, "USDT": 500_000.0}}
    return SimExchange(ExchangeConfig(), MarketParams(), seed=seed, accounts=accounts)


def run_quoting(ex: SimExchange, seconds: float = 30.0) -> list[Event]:
    """A naive quoter on the default synthetic market: every 250 ms, cancel all and join the touch."""
    events: list[Event] = []
    n = 0
    for t in range(0, int(seconds * 1e9), 250 * MS):
        events += ex.advance(t)
        bid, ask = ex.best_bid_ask()
        events += ex.submit(CancelAll("me"), t)
        if bid is not None and ask is not None:
            n += 1
            events += ex.submit(place(f"b{n}", BUY, bid, 2, "post_only"), t)
            events += ex.submit(place(f"a{n}", SELL, ask, 2, "post_only"), t)
    events += ex.advance(int(seconds * 1e9) + 50 * MS)
    return events


def test_same_seed_same_events_and_another_seed_differs() -> None:
    """The whole event stream (repr) of 30 s of market with our orders is fixed by the seed."""
    first = run_quoting(quoting_exchange(seed=7))
    second = run_quoting(quoting_exchange(seed=7))
    other = run_quoting(quoting_exchange(seed=8))
    assert sum(isinstance(e, OwnFill) for e in first) > 10
    assert repr(first) == repr(second)
    assert repr(first) != repr(other)


def test_total_base_and_quote_change_only_by_fees() -> None:
    """Across all accounts (background included) base is conserved and quote falls by the fees paid."""
    ex = quoting_exchange(seed=3)
    start = {a: ex.account(a) for a in ex.accounts()}
    events = run_quoting(ex)
    end = {a: ex.account(a) for a in ex.accounts()}
    fees = sum(e.fee_quote for e in events if isinstance(e, OwnFill))
    assert fees > 0

    def total(snapshot: dict[str, dict[str, AssetBalance]], asset: str) -> float:
        return sum(b[asset].total for b in snapshot.values() if asset in b)

    assert total(end, "BTC") - total(start, "BTC") == pytest.approx(0.0, abs=1e-9)
    assert total(end, "USDT") - total(start, "USDT") == pytest.approx(-fees, abs=1e-6)
    assert end[BACKGROUND]["BTC"].total != 0.0  # the background did trade with us


def test_jumping_the_virtual_clock_gives_the_same_events_as_polling() -> None:
    """Advancing to next_event_time_ns() each time skips nothing compared with polling every 1 ms."""
    end = 10_000 * MS

    def fresh() -> SimExchange:
        ex = SimExchange(ExchangeConfig(), MarketParams(), seed=5, accounts={"me": {"USDT": 1e6}})
        ex.submit(place("b", BUY, 59_990, 3), 0)
        return ex

    polled: list[Event] = []
    ex = fresh()
    for t in range(0, end + 1, MS):
        polled += ex.advance(t)
    jumped: list[Event] = []
    ex = fresh()
    calls = 0
    while (t_next := ex.next_event_time_ns()) is not None and t_next <= end:
        jumped += ex.advance(t_next)
        calls += 1
    jumped += ex.advance(end)
    assert repr(jumped) == repr(polled) and len(polled) > 100
    assert calls < 5_000
