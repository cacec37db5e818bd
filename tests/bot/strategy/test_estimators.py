"""Estimators: EWMA volatility (time-aware, floors, warm-up, bad input) and the A, k intensity fit
(taker orders, book exposure, the Poisson fit). Against the simulator: test_intensity_synthetic.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mm_bot.strategy.estimators import (
    EwmaVolatility,
    IntensityConfig,
    TradeIntensity,
    VolatilityConfig,
    fit_exponential_intensity,
    fit_intensity,
)

S = 1_000_000_000  # ns per second


def _gbm_path(vol: float, horizon_s: float, mean_dt_s: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Times (ns, irregular exponential gaps) and mids of a driftless GBM with `vol` per sqrt(second)."""
    rng = np.random.default_rng(seed)
    n = int(horizon_s / mean_dt_s)
    dt = rng.exponential(mean_dt_s, n) + 1e-6
    log_mid = math.log(100.0) + np.cumsum(rng.normal(0.0, vol * np.sqrt(dt)))
    return np.cumsum(dt * S).astype(np.int64), np.exp(log_mid)


def _vol_config(**kw: float) -> VolatilityConfig:
    base: dict[str, float] = {"half_life_s": 600.0, "prior_vol_per_sqrt_s": 5e-4}
    base.update(kw)
    return VolatilityConfig(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("mean_dt_s", "seed"), [(0.05, 1), (0.2, 2), (2.0, 3)])
def test_volatility_recovers_known_vol_at_any_update_rate(mean_dt_s: float, seed: int) -> None:
    """Irregular updates at very different rates all recover vol = 1e-3/sqrt(s) within 6%."""
    est = EwmaVolatility(_vol_config(half_life_s=3000.0))
    times, mids = _gbm_path(1e-3, 20_000.0, mean_dt_s, seed)
    for t, m in zip(times.tolist(), mids.tolist(), strict=True):
        assert est.update(t, m)
    assert est.is_warm
    assert est.vol_per_sqrt_s() == pytest.approx(1e-3, rel=0.06)
    assert est.sigma_price_per_sqrt_s() == pytest.approx(mids[-1] * est.vol_per_sqrt_s(), rel=1e-12)


def test_volatility_prior_until_warm_then_floor_and_cap() -> None:
    """Before warm-up the prior is used; afterwards the estimate, clamped to [floor, cap]."""
    est = EwmaVolatility(_vol_config(half_life_s=10.0, min_vol_per_sqrt_s=2e-3, max_vol_per_sqrt_s=4e-3))
    warm_at_start = est.is_warm
    assert not warm_at_start
    assert est.vol_per_sqrt_s() == pytest.approx(2e-3)  # prior 5e-4 raised to the floor
    assert math.isnan(est.raw_vol_per_sqrt_s())
    times, mids = _gbm_path(1e-3, 100.0, 0.1, 4)
    for t, m in zip(times.tolist(), mids.tolist(), strict=True):
        est.update(t, m)
    assert est.is_warm
    assert est.raw_vol_per_sqrt_s() < 2e-3
    assert est.vol_per_sqrt_s() == 2e-3
    capped = EwmaVolatility(_vol_config(half_life_s=10.0, max_vol_per_sqrt_s=4e-4))
    for t, m in zip(times.tolist(), mids.tolist(), strict=True):
        capped.update(t, m)
    assert capped.vol_per_sqrt_s() == 4e-4


def test_volatility_by_hand() -> None:
    """One return r = ln(101/100) over 2 s: debiased variance is exactly r^2/2 (weight cancels)."""
    est = EwmaVolatility(_vol_config(half_life_s=10.0))
    est.update(0, 100.0)
    est.update(2 * S, 101.0)
    assert est.raw_vol_per_sqrt_s() == pytest.approx(math.sqrt(math.log(1.01) ** 2 / 2.0), rel=1e-12)


def test_volatility_rejects_bad_input_and_counts_it() -> None:
    """NaN, inf, zero, negative mids and out-of-order times are ignored and counted; same-ns is safe."""
    est = EwmaVolatility(_vol_config())
    assert est.update(10 * S, 100.0)
    for bad in (math.nan, math.inf, 0.0, -5.0):
        assert not est.update(11 * S, bad)
    assert not est.update(9 * S, 100.0)
    assert est.rejected == 5
    assert est.update(10 * S, 100.5)  # same timestamp: no division by zero, anchor kept
    assert est.samples == 0
    assert est.update(11 * S, 100.5)
    assert est.samples == 1


def test_volatility_min_sample_interval_keeps_the_anchor() -> None:
    """Updates closer than the sampling interval do not lose the move: it lands in the next return."""
    est = EwmaVolatility(_vol_config(half_life_s=10.0, min_sample_interval_s=1.0))
    est.update(0, 100.0)
    est.update(S // 2, 150.0)  # skipped
    est.update(S, 101.0)
    assert est.samples == 1
    assert est.raw_vol_per_sqrt_s() == pytest.approx(abs(math.log(1.01)), rel=1e-12)


def _intensity_config(**kw: float) -> IntensityConfig:
    base: dict[str, float] = {
        "bucket_width_price": 0.05,
        "n_buckets": 20,
        "half_life_s": 2000.0,
        "prior_A_per_s": 1.0,
        "prior_k_per_price": 2.0,
        "A_min_per_s": 0.01,
        "A_max_per_s": 100.0,
        "k_min_per_price": 0.1,
        "k_max_per_price": 100.0,
    }
    base.update(kw)
    return IntensityConfig(**base)  # type: ignore[arg-type]


def _feed_poisson(est: TradeIntensity, a: float, k: float, horizon_s: float, seed: int) -> int:
    """Market orders on each side at rate A reaching depth delta ~ Exp(k): lambda(delta) = A e^{-k delta}."""
    rng = np.random.default_rng(seed)
    n = rng.poisson(2.0 * a * horizon_s)
    times = np.sort(rng.uniform(0.0, horizon_s, n))
    depth = rng.exponential(1.0 / k, n)
    side = rng.choice([-1.0, 1.0], n)
    for t, d, sd in zip(times.tolist(), depth.tolist(), side.tolist(), strict=True):
        est.on_trade(int(t * S), 100.0 + sd * d, 0.5, 100.0)
    return int(horizon_s * S)


@pytest.mark.parametrize(("a", "k", "seed"), [(2.0, 4.0, 1), (0.5, 10.0, 2), (5.0, 2.0, 3)])
def test_intensity_recovers_known_a_and_k(a: float, k: float, seed: int) -> None:
    """Synthetic Poisson trades from known (A, k) are fitted within 10% (about 3 sigma of the noise)."""
    est = TradeIntensity(_intensity_config(bucket_width_price=0.2 / k), 0)
    now = _feed_poisson(est, a, k, 8000.0, seed)
    cal = est.calibration(now)
    assert cal.status == "fitted"
    assert cal.ready
    assert cal.A_per_s == pytest.approx(a, rel=0.10)
    assert cal.k_per_price == pytest.approx(k, rel=0.10)
    assert cal.r2 > 0.95
    assert cal.bucket_rates_per_s[0] == pytest.approx(a, rel=0.10)
    assert list(cal.bucket_rates_per_s) == sorted(cal.bucket_rates_per_s, reverse=True)
    assert cal.effective_window_s == pytest.approx(2000.0 / math.log(2) * (1 - 2.0**-4), rel=1e-12)


def test_intensity_priors_while_warming_then_ready_after_max_warmup() -> None:
    """Too few trades: priors and not ready; after max_warmup_s: priors and ready (quoting never stalls)."""
    est = TradeIntensity(_intensity_config(max_warmup_s=60.0), 5 * S)
    est.on_trade(6 * S, 100.1, 1.0, 100.0)
    early = est.calibration(30 * S)
    assert (early.status, early.ready, early.A_per_s, early.k_per_price) == ("warming_up", False, 1.0, 2.0)
    late = est.calibration(70 * S)
    assert (late.status, late.ready, late.A_per_s, late.k_per_price) == ("prior_after_warmup", True, 1.0, 2.0)
    assert math.isnan(late.r2)


def test_intensity_flat_survival_is_rejected() -> None:
    """All trades beyond the last bucket give k = 0: the fit is rejected and the priors are used."""
    est = TradeIntensity(_intensity_config(), 0)
    for i in range(200):
        est.on_trade(i * S, 105.0, 1.0, 100.0)
    cal = est.calibration(200 * S)
    assert cal.status == "rejected_fit"
    assert cal.fit_k_per_price == pytest.approx(0.0, abs=1e-12)
    assert (cal.A_per_s, cal.k_per_price) == (1.0, 2.0)


def test_intensity_clamps_and_blends() -> None:
    """A fit outside [k_min, k_max] is clamped (and flagged); prior_weight blends fit and prior."""
    clamped = TradeIntensity(_intensity_config(k_max_per_price=3.0), 0)
    now = _feed_poisson(clamped, 2.0, 4.0, 8000.0, 7)
    cal = clamped.calibration(now)
    assert (cal.k_per_price, cal.clamped) == (3.0, True)
    assert cal.fit_k_per_price == pytest.approx(4.0, rel=0.1)
    blended = TradeIntensity(_intensity_config(), 0)
    _feed_poisson(blended, 2.0, 4.0, 8000.0, 7)
    n = blended.calibration(now).decayed_trades
    heavy = TradeIntensity(_intensity_config(prior_weight_trades=n), 0)
    _feed_poisson(heavy, 2.0, 4.0, 8000.0, 7)
    mix = heavy.calibration(now)
    assert mix.k_per_price == pytest.approx((mix.fit_k_per_price + 2.0) / 2.0, rel=1e-9)
    assert mix.A_per_s == pytest.approx(math.sqrt(mix.fit_A_per_s * 1.0), rel=1e-9)


def test_intensity_rejects_bad_input_and_counts_it() -> None:
    """NaN/inf/non-positive price, size or mid, and trades before the start, are ignored and counted."""
    est = TradeIntensity(_intensity_config(), 10 * S)
    bad = [
        (11 * S, math.nan, 1.0, 100.0),
        (11 * S, 100.0, -1.0, 100.0),
        (11 * S, 100.0, 0.0, 100.0),
        (11 * S, 100.0, math.inf, 100.0),
        (11 * S, 100.0, 1.0, math.nan),
        (11 * S, -3.0, 1.0, 100.0),
        (9 * S, 100.0, 1.0, 100.0),
    ]
    for args in bad:
        assert not est.on_trade(*args)
    assert est.on_trade(11 * S, 100.02, 1.0, 100.0)
    cal = est.calibration(11 * S)
    assert (cal.trades_accepted, cal.trades_rejected) == (1, 7)
    assert sum(cal.bucket_counts) == pytest.approx(1.0, rel=1e-9)


def test_intensity_lazy_decay_matches_direct_weights_across_rescales() -> None:
    """Counts equal sum of 2^(-age/half_life), including after the overflow guard rescales the store
    (a bucket counts the taker orders that reached its depth: bucket 0 counts both)."""
    est = TradeIntensity(_intensity_config(half_life_s=1.0), 0)
    est.on_trade(0, 100.01, 1.0, 100.0)  # reaches bucket 0
    est.on_trade(1 * S, 100.06, 1.0, 100.0)  # reaches buckets 0 and 1
    cal = est.calibration(2 * S)
    assert cal.bucket_counts[:2] == pytest.approx((0.25 + 0.5, 0.5), rel=1e-12)
    est.on_trade(1000 * S, 100.01, 1.0, 100.0)  # exponent ~693 > guard: rescale
    est.on_trade(1001 * S, 100.01, 1.0, 100.0)
    later = est.calibration(1001 * S)
    assert later.bucket_counts[0] == pytest.approx(1.5, rel=1e-12)
    assert later.bucket_counts[1] == pytest.approx(0.0, abs=1e-200)


def test_calibration_is_cached_for_the_refit_interval() -> None:
    """calibration() reuses its snapshot within refit_interval_s (cheap per decision); fit() is fresh."""
    est = TradeIntensity(_intensity_config(refit_interval_s=1.0), 0)
    first = est.calibration(10 * S)
    est.on_trade(10 * S, 100.01, 1.0, 100.0)
    assert est.calibration(10 * S + S // 2) is first
    assert est.fit(10 * S + S // 2).trades_accepted == 1
    assert est.calibration(11 * S).trades_accepted == 1
    assert est.calibration(5 * S).effective_window_s < first.effective_window_s  # clock went back: refit


def test_config_validation() -> None:
    """Inconsistent configs are refused at construction."""
    with pytest.raises(ValueError, match="IntensityConfig"):
        _intensity_config(prior_k_per_price=1000.0)
    with pytest.raises(ValueError, match="half_life_s"):
        _vol_config(half_life_s=0.0)
    with pytest.raises(ValueError, match="min_vol"):
        _vol_config(min_vol_per_sqrt_s=1.0, max_vol_per_sqrt_s=0.5)


def test_prints_of_one_taker_order_count_once_at_its_furthest_depth() -> None:
    """Three prints with one exchange time and side are one order reaching the furthest; a print at
    the same time on the other side, or later, is another order."""
    est = TradeIntensity(_intensity_config(half_life_s=math.inf), 0)
    for price in (100.02, 100.12, 100.31):  # a buy sweeping three asks
        assert est.on_trade(S, price, 1.0, 100.0, 1, 7)
    est.on_trade(S, 99.97, 1.0, 100.0, -1, 7)  # a sell at the same instant
    est.on_trade(S, 100.04, 1.0, 100.0, 1, 8)  # the next buy
    cal = est.fit(10 * S)
    assert (cal.taker_orders, cal.trades_accepted, cal.exposure) == (3, 5, "elapsed")
    assert cal.decayed_trades == pytest.approx(3.0, rel=1e-6)
    # buckets of 0.05 reached: 0..6 by the sweep (0.31), 0 by the sell (0.03), 0 by the buy (0.04)
    assert cal.bucket_counts[:8] == pytest.approx((3, 1, 1, 1, 1, 1, 1, 0), rel=1e-6)
    assert cal.bucket_exposure_s[0] == pytest.approx(2 * cal.effective_window_s)


def test_aggressor_side_is_inferred_from_the_mid_when_unknown_and_checked_when_given() -> None:
    """Side 0: a print above the mid is a buy, below a sell (grouped apart); a side of 2 is refused."""
    est = TradeIntensity(_intensity_config(half_life_s=math.inf), 0)
    est.on_trade(S, 100.12, 1.0, 100.0)
    est.on_trade(S, 99.88, 1.0, 100.0)
    assert not est.on_trade(S, 100.12, 1.0, 100.0, 2)
    cal = est.fit(2 * S)
    assert (cal.taker_orders, cal.trades_rejected) == (2, 1)
    assert cal.bucket_counts[2] == pytest.approx(2.0, rel=1e-6)  # both reached 0.1


def test_book_exposure_and_hits_by_hand() -> None:
    """Levels are exposed while they rest; a taker order hits every level up to its furthest print,
    and a hit level is gone until the next book (a second order cannot hit it again)."""
    cfg = _intensity_config(bucket_width_price=0.1, n_buckets=5, half_life_s=math.inf)
    est = TradeIntensity(cfg, 0)
    est.on_book(0, 100.0, [99.95, 99.8], [100.05, 100.25, 100.9])  # 100.9 is beyond the buckets
    est.on_trade(2 * S, 100.05, 1.0, 100.0, 1, 2 * S)  # takes the best ask (bucket 0)
    est.on_trade(3 * S, 100.05, 1.0, 100.0, 1, 3 * S)  # nothing left there to hit
    est.on_trade(4 * S, 99.8, 1.0, 100.0, -1, 4 * S)  # a sell sweeping both bids (buckets 0, 2)
    cal = est.fit(5 * S)
    assert cal.exposure == "book"
    assert cal.bucket_counts == pytest.approx((2, 0, 1, 0, 0))
    # bucket 0: the ask rested 2 s, the bid 4 s; bucket 2: the bid at 0.2 rested 4 s, the ask at 0.25 5 s
    assert cal.bucket_exposure_s == pytest.approx((6, 0, 9, 0, 0))
    assert cal.bucket_depths_price[:3] == pytest.approx((0.05, 0.1, (0.2 * 4 + 0.25 * 5) / 9))
    assert cal.bucket_rates_per_s[0] == pytest.approx(2 / 6)


def test_a_refused_or_old_book_leaves_nothing_exposed() -> None:
    """A book without a mid (the core refused it) ends the exposure; so does max_book_age_s."""
    cfg = _intensity_config(bucket_width_price=0.1, n_buckets=5, half_life_s=math.inf, max_book_age_s=5.0)
    est = TradeIntensity(cfg, 0)
    est.on_book(0, 100.0, [99.95], [100.05])
    est.on_book(2 * S, math.nan, [], [])
    est.on_book(3 * S, 100.0, [99.95], [100.05])
    est.on_trade(10 * S, 100.05, 1.0, 100.0, 1, 10 * S)  # the book is 7 s old: not a hit
    cal = est.fit(10 * S)
    assert cal.bucket_exposure_s[0] == pytest.approx(2 * 2 + 2 * 5)  # two levels, 0-2 s and 3-8 s
    assert cal.bucket_counts[0] == 0


def test_poisson_fit_by_hand() -> None:
    """Equal exposure at depths 0 and 1 with 2 and 1 hits: e^-k = 1/2, A = 3 / (1 + 1/2) = 2."""
    fit = fit_exponential_intensity([0.0, 1.0], [2.0, 1.0], [1.0, 1.0])
    assert fit is not None
    assert fit[:3] == pytest.approx((2.0, math.log(2.0), 1.0))
    assert fit[3] == 2
    assert fit_exponential_intensity([0.0, 1.0], [3.0, 0.0], [1.0, 1.0]) is None  # every hit shallowest
    assert fit_exponential_intensity([0.0, 1.0], [0.0, 0.0], [1.0, 1.0]) is None
    assert fit_exponential_intensity([0.0, 1.0], [2.0, 1.0], [1.0, 0.0]) is None  # one depth exposed


@given(
    a=st.floats(0.01, 100.0),
    k=st.floats(-2.0, 20.0),
    exposure=st.lists(st.floats(0.1, 1e4), min_size=3, max_size=30),
)
def test_poisson_fit_recovers_noise_free_rates(a: float, k: float, exposure: list[float]) -> None:
    """Hits exactly E_i * A exp(-k d_i) on depths 0, 0.1, ...: the fit returns A and k (r2 = 1)."""
    depths = [0.1 * i for i in range(len(exposure))]
    hits = [e * a * math.exp(-k * d) for d, e in zip(depths, exposure, strict=True)]
    fit = fit_exponential_intensity(depths, hits, exposure)
    assert fit is not None
    assert fit[0] == pytest.approx(a, rel=1e-6)
    assert fit[1] == pytest.approx(k, rel=1e-6, abs=1e-9)


def test_offline_fit_of_arrays_is_the_online_rule() -> None:
    """``fit_intensity`` on arrays: a book at a trade's instant comes after it; trades before the
    first book are left out; the sweep is one taker order."""
    cal = fit_intensity(
        np.array([0, 2 * S, 2 * S, 3 * S]),
        np.array([100.05, 100.05, 100.25, 99.95]),
        np.array([1, 1, 1, -1]),
        np.array([S, 3 * S]),
        np.array([100.0, 100.0]),
        bucket_width_price=0.1,
        n_buckets=5,
        bid_prices=np.array([[99.95, np.nan], [99.95, 99.9]]),
        ask_prices=np.array([[100.05, 100.25], [100.05, 100.25]]),
    )
    assert (cal.taker_orders, cal.trades_accepted, cal.exposure) == (2, 3, "book")
    assert cal.bucket_counts[:3] == pytest.approx((2, 0, 1))  # the sell hit the bid before the book at 3 s
    with pytest.raises(ValueError, match="one row per mid"):
        fit_intensity([0], [100.0], [1], [0], [100.0], bucket_width_price=0.1, bid_prices=[[1.0]])
