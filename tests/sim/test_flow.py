"""The synthetic flow: the A-S intensity calibration, the background book it builds, cancel hazards,
the makers' re-pricing, determinism and parameter checks."""

from __future__ import annotations

import math
from typing import Any

import pytest

from sim.book import OrderBook, Side
from sim.events import ExchangeConfig, Instrument, OwnFill, PlaceOrder
from sim.exchange import SimExchange
from sim.flow import BookCancel, BookCommand, BookLimit, BookMarket, FlowParams, MarketParams, SyntheticFlow

S = 1_000_000_000


def apply(book: OrderBook, cmd: BookCommand) -> None:
    if isinstance(cmd, BookLimit):
        book.limit(cmd.oid, cmd.side, cmd.price_ticks, cmd.qty_lots, 0, cmd.tif)
    elif isinstance(cmd, BookMarket):
        book.market(cmd.oid, cmd.side, cmd.qty_lots, 0)
    else:
        book.cancel(cmd.oid)


@pytest.mark.parametrize("seed", [11, 12])
def test_as_flow_hits_a_lone_quote_at_rate_a_exp_minus_k_delta(seed: int) -> None:
    """Hits on quotes first in line at two distances match A*exp(-k*delta) within 4 Poisson sigmas."""
    tick = 0.5
    flow = FlowParams(
        limit_rate_per_s=0.0,
        market_rate_per_s=0.0,
        initial_levels=0,
        as_intensity_per_s=10.0,
        as_k_per_tick=0.6,
        as_size_mean_lots=2.0,
    )
    s0 = 30_000.125  # 60_000.25 ticks: off-grid, so the IOC prices' floor/ceil matter
    market = MarketParams(process="abm", s0=s0, sigma_per_sqrt_s=0.0, flow=flow)
    ex = SimExchange(
        ExchangeConfig(instrument=Instrument(tick_size=tick)),
        market,
        seed=seed,
        accounts={"me": {"BTC": 1e9, "USDT": 1e15}},
    )
    huge = 10**9  # never used up, so every reaching order hits it
    ex.submit(PlaceOrder("me", "bid", Side.BUY, 59_999, huge), 0)  # delta 1.25 ticks
    ex.submit(PlaceOrder("me", "ask", Side.SELL, 60_003, huge), 0)  # delta 2.75 ticks
    seconds = 300
    events = ex.advance(seconds * S)
    exposed_s = seconds - ExchangeConfig().order_latency_ns / S
    for cid, price in (("bid", 59_999), ("ask", 60_003)):
        delta_ticks = abs(price - s0 / tick)
        expected = flow.as_hit_rate_per_s(delta_ticks) * exposed_s
        # the same in price units: k_price = k / tick, delta_price = delta_ticks * tick
        assert expected == pytest.approx(10.0 * math.exp(-(0.6 / tick) * (delta_ticks * tick)) * exposed_s)
        hits = sum(1 for e in events if isinstance(e, OwnFill) and e.client_order_id == cid)
        assert abs(hits - expected) <= 4 * math.sqrt(expected), (cid, hits, expected)


def test_default_market_keeps_a_deep_book_around_the_mid() -> None:
    """Sampled every 100 ms over 60 s: best bid < mid < best ask and >= 10 levels a side, >= 95%."""
    ex = SimExchange(ExchangeConfig(), MarketParams(), seed=2, accounts={})
    inside = deep = samples = 0
    for t in range(100_000_000, 60 * S + 1, 100_000_000):
        ex.advance(t)
        bid, ask = ex.best_bid_ask()
        mid = ex.mid_ticks()
        assert mid is not None
        bids, asks = ex.depth(10)
        samples += 1
        inside += bid is not None and ask is not None and bid < mid < ask
        deep += len(bids) == 10 and len(asks) == 10
    ex.book.check_invariants()
    assert inside >= 0.95 * samples and deep >= 0.95 * samples, (inside, deep, samples)
    assert ex.mid_ticks() != 60_000.0  # the mid moved


@pytest.mark.parametrize("process", ["abm", "gbm", "garch"])
def test_every_mid_process_runs_deterministically(process: str) -> None:
    """Each price process drives the market; the seed fixes the events."""
    sigma = 3.0 if process == "abm" else 5e-5

    def run(seed: int) -> str:
        market = MarketParams(process=process, sigma_per_sqrt_s=sigma)
        return repr(SimExchange(ExchangeConfig(), market, seed=seed).advance(5 * S))

    assert run(1) == run(1) != run(2)


def test_cancel_hazard_gives_the_steady_state_count_rate_over_hazard() -> None:
    """With arrivals at rate r and a per-order hazard h, the time-averaged count is r/h (M/M/inf)."""
    params = FlowParams(
        limit_rate_per_s=50.0,
        cancel_hazard_per_s=0.5,
        market_rate_per_s=0.0,
        as_intensity_per_s=0.0,
        initial_levels=0,
    )
    flow, book = SyntheticFlow(params, seed=4), OrderBook()
    flow.start(1000.5, 0)
    warmup, end = 20 * S, 520 * S
    area = 0.0
    t_prev = warmup
    while flow.next_ns < end:
        t = flow.next_ns
        if t > warmup:
            area += len(book) * (t - t_prev)
            t_prev = t
        cmd = flow.fire(1000.5, book)
        if cmd is not None:
            apply(book, cmd)
    area += len(book) * (end - t_prev)
    mean = area / (end - warmup)
    # sd of the time average ~ sqrt(2 * (r/h) / (h * T)) = 0.9; allow 5 sd
    assert mean == pytest.approx(100.0, abs=4.5)
    bid, ask = book.best_bid(), book.best_ask()
    assert bid is not None and ask is not None and bid < 1000.5 < ask


def test_initial_book_has_the_configured_levels_on_each_side_of_the_mid() -> None:
    """start() seeds initial_levels levels per side, the first tick strictly on each side of the mid."""
    flow = SyntheticFlow(FlowParams(initial_levels=5, initial_orders_per_level=3), seed=0)
    book = OrderBook()
    for cmd in flow.start(100.0, 0):
        apply(book, cmd)
    assert [p for p, _ in book.depth(Side.BUY, 10)] == [99, 98, 97, 96, 95]
    assert [p for p, _ in book.depth(Side.SELL, 10)] == [101, 102, 103, 104, 105]
    assert len(book) == 30


def test_makers_pull_stale_and_far_orders_but_never_ours() -> None:
    """After a mid move, flow orders through the mid (and far ones, at hazard inf) are cancelled."""
    params = FlowParams(
        initial_levels=3, initial_orders_per_level=1, far_ticks=4.0, far_cancel_hazard_per_s=math.inf
    )
    flow, book = SyntheticFlow(params, seed=0), OrderBook()
    for cmd in flow.start(100.0, 0):
        apply(book, cmd)
    book.limit(1, Side.SELL, 101, 1, owner=1)  # ours: positive id
    cmds = flow.on_mid_step(102.5, book, 0.1)  # asks 101, 102 are now below the mid; bids 97, 98 far
    assert all(isinstance(c, BookCancel) for c in cmds)
    for cmd in cmds:
        apply(book, cmd)
    assert [p for p, _ in book.depth(Side.SELL, 10)] == [101, 103]
    assert [o.oid for o in book.level_orders(Side.SELL, 101)] == [1]
    assert [p for p, _ in book.depth(Side.BUY, 10)] == [99]


def test_same_seed_same_flow() -> None:
    """The flow's command stream is fixed by its seed."""

    def stream(seed: int) -> list[BookCommand | None]:
        flow, book = SyntheticFlow(FlowParams(), seed=seed), OrderBook()
        seeded = flow.start(500.0, 0)
        for seed_cmd in seeded:
            apply(book, seed_cmd)
        out: list[BookCommand | None] = list(seeded)
        for _ in range(2000):
            cmd = flow.fire(500.0, book)
            out.append(cmd)
            if cmd is not None:
                apply(book, cmd)
        return out

    assert stream(3) == stream(3) != stream(4)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("limit_rate_per_s", -1.0, "limit_rate_per_s"),
        ("as_k_per_tick", 0.0, "as_k_per_tick"),
        ("as_size_mean_lots", 0.5, "as_size_mean_lots"),
        ("stale_ticks", -1.0, "stale_ticks"),
        ("cancel_hazard_per_s", math.nan, "cancel_hazard_per_s"),
        ("initial_levels", -1, "initial_levels"),
    ],
)
def test_flow_params_are_validated(field: str, value: float, message: str) -> None:
    """Bad flow parameters raise ValueError naming the field."""
    kwargs: dict[str, Any] = {field: value}
    with pytest.raises(ValueError, match=message):
        FlowParams(**kwargs)


def test_market_params_are_validated() -> None:
    """Unknown processes and non-positive steps are refused."""
    with pytest.raises(ValueError, match="process"):
        MarketParams(process="levy")
    with pytest.raises(ValueError, match="step_ns"):
        MarketParams(step_ns=0)
