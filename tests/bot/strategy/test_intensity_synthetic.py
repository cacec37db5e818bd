"""The A/k fit against the truth of our own synthetic market (``sim.flow``: A-S takers of rate A per
side reaching Exp(k) beyond the mid), fed the simulator's books and trades the way the core sees them.

The paper config's market (``config.yaml``: A = 2 /s, k = 0.2 /USD at a 0.01 tick, a thin background
book) is the issue's case: counting prints read A 4.5 and k 0.31 there. Each run records ~2,000
simulated seconds once (about a second of CPU) and feeds the same stream to every estimator.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from mm_bot.config import load_config
from mm_bot.engine.book import BookView
from mm_bot.model import BookSnapshot, PublicTrade
from mm_bot.strategy.estimators import IntensityConfig, TradeIntensity, fit_intensity
from mm_bot.venues.sim_translate import to_model_event
from mm_bot.wiring import market_params, sim_exchange

S = 1_000_000_000
T0 = 1_699_963_200 * S
CONFIG = Path(__file__).resolve().parents[3] / "config.yaml"
DURATION_S = 2000.0


class Book(NamedTuple):
    """A book as the core saw it: accepted (its mid and resting prices, best first) or refused (NaN)."""

    ts_ns: int
    exchange_ts_ns: int
    mid: float
    bid_prices: list[float]
    ask_prices: list[float]


class Trade(NamedTuple):
    """A print the core takes (the book trusted): price in USD, size in BTC, the book's mid."""

    ts_ns: int
    exchange_ts_ns: int
    price: float
    size: float
    aggressor: int
    mid: float


@functools.cache
def record(
    seed: int, a_per_s: float = 2.0, k_per_price: float = 0.2, market_rate_per_s: float = 0.5
) -> list[Book | Trade]:
    """Run the paper config's synthetic market with these A-S flow parameters through ``BookView``."""
    cfg = load_config(CONFIG, environ={})
    m = cfg.markets[0]
    syn = cfg.paper.synthetic.markets[m.symbol]
    syn = syn.model_copy(
        update={
            "as_flow": syn.as_flow.model_copy(update={"a_per_s": a_per_s, "k_per_price": k_per_price}),
            "flow": syn.flow.model_copy(update={"market_rate_per_s": market_rate_per_s}),
        }
    )
    synthetic = cfg.paper.synthetic.model_copy(update={"seed": seed, "markets": {m.symbol: syn}})
    cfg = cfg.model_copy(update={"paper": cfg.paper.model_copy(update={"synthetic": synthetic})})
    exchange = sim_exchange(cfg, m, T0)
    view = BookView(market_params(m).book)
    events: list[Book | Trade] = []
    tick, end = m.tick_size, T0 + int(DURATION_S * S)
    while (now := exchange.next_event_time_ns()) is not None and now <= end:
        for sim_event in exchange.advance(now):
            e = to_model_event(sim_event, "me")
            if isinstance(e, BookSnapshot) and not view.on_book(e, now):
                events.append(Book(e.ts_ns, e.exchange_ts_ns, math.nan, [], []))
            elif isinstance(e, BookSnapshot):
                bids = [p * tick for p, _ in e.bids]
                asks = [p * tick for p, _ in e.asks]
                events.append(Book(e.ts_ns, e.exchange_ts_ns, view.mid, bids, asks))
            elif isinstance(e, PublicTrade) and view.on_trade(e, now) and view.trusted:
                size = e.qty_lots * m.lot_size
                price = e.price_ticks * tick
                events.append(Trade(e.ts_ns, e.exchange_ts_ns, price, size, int(e.aggressor), view.mid))
    return events


def paper_intensity_config(k_prior: float, half_life_s: float = 1e9) -> IntensityConfig:
    """``wiring.market_params``' estimator buckets (20 of 0.25/k wide), without forgetting."""
    return IntensityConfig(
        bucket_width_price=0.25 / k_prior,
        n_buckets=20,
        half_life_s=half_life_s,
        prior_A_per_s=1.0,
        prior_k_per_price=k_prior,
        A_min_per_s=0.01,
        A_max_per_s=100.0,
        k_min_per_price=k_prior / 100.0,
        k_max_per_price=k_prior * 100.0,
        min_trades=30.0,
    )


def feed(events: list[Book | Trade], est: TradeIntensity, *, books: bool = True) -> int:
    """Feed the recording as the core would with the book wired in (a refused book leaves no level
    exposed: the core drops the trades while it distrusts the book); ``books=False``: trades only,
    without side or exchange time, as the quoter forwards them today. Returns the last time."""
    for e in events:
        if isinstance(e, Book):
            if books:
                est.on_book(e.ts_ns, e.mid, e.bid_prices, e.ask_prices)
        elif books:
            est.on_trade(e.ts_ns, e.price, e.size, e.mid, e.aggressor, e.exchange_ts_ns)
        else:
            est.on_trade(e.ts_ns, e.price, e.size, e.mid)
    return events[-1].ts_ns


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_online_fit_recovers_the_paper_markets_a_and_k(seed: int) -> None:
    """The paper config's market as configured: k within 10% of 0.2 /USD; A within 10% of 2 /s plus
    the background's own market orders (0.25 /s a side), which reach any quote first in line."""
    events = record(seed)
    est = TradeIntensity(paper_intensity_config(0.2), T0)
    cal = est.calibration(feed(events, est))
    assert (cal.status, cal.exposure) == ("fitted", "book")
    assert cal.fit_A_per_s == pytest.approx(2.0 + 0.25, rel=0.10)
    assert cal.fit_k_per_price == pytest.approx(0.2, rel=0.10)
    assert cal.taker_orders < cal.trades_accepted / 2  # sweeps print several trades each


@pytest.mark.parametrize(("a_per_s", "k_per_price"), [(2.0, 0.2), (1.0, 0.5)])
def test_online_fit_recovers_a_and_k_when_the_takers_are_the_model(
    a_per_s: float, k_per_price: float
) -> None:
    """With the background market orders off, every taker follows lambda = A exp(-k delta): both A
    and k within 10%, for the paper config's (A, k) and for a steeper flow (reach 2 USD)."""
    events = record(7, a_per_s, k_per_price, market_rate_per_s=0.0)
    est = TradeIntensity(paper_intensity_config(k_per_price), T0)
    cal = est.calibration(feed(events, est))
    assert cal.status == "fitted"
    assert cal.fit_A_per_s == pytest.approx(a_per_s, rel=0.10)
    assert cal.fit_k_per_price == pytest.approx(k_per_price, rel=0.10)


def test_trades_alone_only_bound_the_reach_on_a_thin_book() -> None:
    """Without the book (the survival of the furthest print per taker order, hftbacktest's measure)
    an order stops at the last resting price within its reach, so on this thin book k reads high;
    still far nearer the truth than counting prints (A 4.5, k 0.31)."""
    events = record(1)
    est = TradeIntensity(paper_intensity_config(0.2), T0)
    cal = est.calibration(feed(events, est, books=False))
    assert (cal.status, cal.exposure) == ("fitted", "elapsed")
    assert 0.23 < cal.fit_k_per_price < 0.31
    assert 1.2 < cal.fit_A_per_s < 2.4


def test_offline_fit_of_recorded_arrays_matches_the_truth_and_the_online_rule() -> None:
    """``fit_intensity`` over arrays (exchange times, books as NaN-padded rows) lands within 10% of
    the truth, and is the online estimator's rule: the same fit as ``TradeIntensity`` fed the same
    stream (there on receive times, a constant market-data latency later)."""
    events = record(2)
    trades = [e for e in events if isinstance(e, Trade)]
    books = [e for e in events if isinstance(e, Book)]
    levels = max(len(b.bid_prices) for b in books)
    bid_rows = np.full((len(books), levels), np.nan)
    ask_rows = np.full((len(books), levels), np.nan)
    for r, b in enumerate(books):
        bid_rows[r, : len(b.bid_prices)] = b.bid_prices
        ask_rows[r, : len(b.ask_prices)] = b.ask_prices
    arrays = (
        np.array([t.exchange_ts_ns for t in trades], dtype=np.int64),
        np.array([t.price for t in trades]),
        np.array([t.aggressor for t in trades], dtype=np.int64),
        np.array([b.exchange_ts_ns for b in books], dtype=np.int64),
        np.array([b.mid for b in books]),
    )
    cal = fit_intensity(*arrays, bucket_width_price=1.25, bid_prices=bid_rows, ask_prices=ask_rows)
    assert (cal.status, cal.exposure) == ("fitted", "book")
    assert cal.fit_A_per_s == pytest.approx(2.0 + 0.25, rel=0.10)  # as in the online test above
    assert cal.fit_k_per_price == pytest.approx(0.2, rel=0.10)

    est = TradeIntensity(dataclasses.replace(paper_intensity_config(0.2), half_life_s=math.inf), T0)
    online = est.fit(feed(events, est))
    assert (online.fit_A_per_s, online.fit_k_per_price) == pytest.approx(
        (cal.fit_A_per_s, cal.fit_k_per_price), rel=1e-9
    )
    assert (online.taker_orders, online.trades_accepted) == (cal.taker_orders, cal.trades_accepted)

    trades_only = fit_intensity(*arrays, bucket_width_price=1.25)
    assert (trades_only.exposure, trades_only.taker_orders) == ("elapsed", cal.taker_orders)
