"""Online estimators of the model inputs: sigma (EWMA volatility) and the fill intensity A*exp(-k*delta).

Float only, O(1) per market update and no containers grown on the hot path; time is injected as
integer nanoseconds (no clock is read here). Bad inputs are ignored and counted, never raised.

``EwmaVolatility``: log-returns of the mid over irregular intervals dt; each return gives an unbiased
estimate r^2/dt of the variance per second, averaged with weight 1 - exp(-dt*ln2/half_life) (a return
spanning a longer interval counts for more, so the estimate does not depend on the update rate), and
debiased by the accumulated weight (like Adam's bias correction) so early values are not pulled to 0.
The output is arithmetic: sigma = mid * sqrt(var_per_s) in PRICE units per sqrt(second), as A-S and
GLFT need; floor and cap apply to the relative volatility sqrt(var_per_s), so they are portable across
price levels. Returns are sampled at least ``min_sample_interval_s`` apart (the anchor is kept until
then, so no move is lost) to damp bid-ask bounce. After a long gap the next return dominates.

``TradeIntensity`` (the fill intensity A*exp(-k*delta) from the depth each taker order reaches) lives in
``intensity.py`` and is re-exported here; ``fit_intensity`` runs the same estimator over recorded
arrays (a backtest's trades and books), without forgetting, and returns its fit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from mm_bot.strategy.intensity import (
    IntensityCalibration,
    IntensityConfig,
    IntensityStatus,
    TradeIntensity,
)
from mm_bot.strategy.intensity_fit import fit_exponential_intensity

__all__ = [
    "EwmaVolatility",
    "IntensityCalibration",
    "IntensityConfig",
    "IntensityStatus",
    "TradeIntensity",
    "VolatilityConfig",
    "fit_exponential_intensity",
    "fit_intensity",
]

_LN2 = math.log(2.0)
_NS = 1e-9


@dataclass(frozen=True, slots=True)
class VolatilityConfig:
    """Volatilities are relative (log-return) per sqrt(second): 1e-4 is 1 bp per sqrt(s)."""

    half_life_s: float
    prior_vol_per_sqrt_s: float
    min_vol_per_sqrt_s: float = 0.0
    max_vol_per_sqrt_s: float = math.inf
    warmup_s: float | None = None  # observed time before the estimate is used; None: one half-life
    min_samples: int = 10
    min_sample_interval_s: float = 0.0

    def __post_init__(self) -> None:
        if not (self.half_life_s > 0.0 and self.min_sample_interval_s >= 0.0 and self.min_samples >= 1):
            raise ValueError("need half_life_s > 0, min_sample_interval_s >= 0, min_samples >= 1")
        if not 0.0 <= self.min_vol_per_sqrt_s <= self.max_vol_per_sqrt_s:
            raise ValueError("need 0 <= min_vol_per_sqrt_s <= max_vol_per_sqrt_s")
        if not math.isfinite(self.prior_vol_per_sqrt_s) or self.prior_vol_per_sqrt_s < 0.0:
            raise ValueError("prior_vol_per_sqrt_s must be finite and >= 0")


class EwmaVolatility:
    """Time-aware EWMA of mid log-return variance per second (see the module docstring)."""

    __slots__ = (
        "_decay_per_s",
        "_last_mid",
        "_last_ns",
        "_mid",
        "_min_dt_ns",
        "_observed_s",
        "_var",
        "_vol",
        "_weight",
        "config",
        "is_warm",
        "rejected",
        "samples",
    )

    def __init__(self, config: VolatilityConfig) -> None:
        self.config = config
        self._decay_per_s = _LN2 / config.half_life_s
        self._min_dt_ns = max(1, math.ceil(config.min_sample_interval_s / _NS))
        self._last_ns: int | None = None
        self._last_mid = 0.0
        self._mid = math.nan
        self._var = 0.0
        self._weight = 0.0
        self._observed_s = 0.0
        self.samples = 0
        self.rejected = 0
        # is_warm and vol_per_sqrt_s change only when a return is sampled: kept then, because the
        # quoting path asks for sigma on every market update. is_warm: True once enough time and
        # samples were observed for the estimate to replace the prior (read-only for callers).
        self.is_warm = False
        self._vol = self._clamped(config.prior_vol_per_sqrt_s)

    def update(self, now_ns: int, mid: float) -> bool:
        """Feed a mid at ``now_ns``; False (and counted) if rejected: non-finite/non-positive or late."""
        if not (0.0 < mid < math.inf):
            self.rejected += 1
            return False
        last_ns = self._last_ns
        if last_ns is None:
            self._last_ns, self._last_mid, self._mid = now_ns, mid, mid
            return True
        dt_ns = now_ns - last_ns
        if dt_ns < 0:
            self.rejected += 1
            return False
        self._mid = mid
        if dt_ns < self._min_dt_ns:
            return True  # keep the anchor: this move lands in the next sampled return
        dt_s = dt_ns * _NS
        r = math.log(mid / self._last_mid)
        keep = math.exp(-self._decay_per_s * dt_s)
        self._var = keep * self._var + (1.0 - keep) * (r * r / dt_s)
        self._weight = keep * self._weight + (1.0 - keep)
        self._observed_s += dt_s
        self.samples += 1
        self._last_ns, self._last_mid = now_ns, mid
        cfg = self.config
        warmup_s = cfg.half_life_s if cfg.warmup_s is None else cfg.warmup_s
        warm = self.is_warm = self.samples >= cfg.min_samples and self._observed_s >= warmup_s
        # _clamped(raw_vol_per_sqrt_s()), spelled out: this runs on most book updates (weight > 0 here)
        vol = math.sqrt(self._var / self._weight) if warm else cfg.prior_vol_per_sqrt_s
        lo, hi = cfg.min_vol_per_sqrt_s, cfg.max_vol_per_sqrt_s
        self._vol = lo if vol < lo else hi if vol > hi else vol
        return True

    def _clamped(self, vol: float) -> float:
        return min(max(vol, self.config.min_vol_per_sqrt_s), self.config.max_vol_per_sqrt_s)

    def raw_vol_per_sqrt_s(self) -> float:
        """Debiased EWMA estimate, relative per sqrt(second), unclamped; NaN before any sample."""
        return math.sqrt(self._var / self._weight) if self._weight > 0.0 else math.nan

    def vol_per_sqrt_s(self) -> float:
        """Relative volatility per sqrt(second): the clamped estimate when warm, else the prior."""
        return self._vol

    def sigma_price_per_sqrt_s(self) -> float:
        """sigma for A-S/GLFT: latest mid * relative volatility (price units per sqrt(second))."""
        return self._mid * self._vol


def fit_intensity(
    trade_ts_ns: ArrayLike,
    trade_price: ArrayLike,
    trade_aggressor: ArrayLike,
    mid_ts_ns: ArrayLike,
    mid_price: ArrayLike,
    *,
    bucket_width_price: float,
    n_buckets: int = 20,
    bid_prices: ArrayLike | None = None,
    ask_prices: ArrayLike | None = None,
) -> IntensityCalibration:
    """A and k of recorded data, by ``TradeIntensity``'s rule (one copy), with no forgetting.

    Trades: exchange time (ns; prints of one taker order share it), price (price units), aggressor
    side (+1 buy, -1 sell, 0 unknown). Mids: time (ns) and price of each book, and optionally the
    book's resting prices as 2-D arrays, one row per book, best first, NaN-padded (``exposure`` is
    then "book", else "elapsed": see ``intensity``). Each trade is measured against the last book
    strictly before it (a book at the same instant came after it); trades before the first book
    are left out. Read ``fit_A_per_s``, ``fit_k_per_price``, ``r2`` and ``taker_orders`` of the
    result (``A_per_s`` / ``k_per_price`` are the same, clamped to [1e-12, 1e12]; NaN fit: too
    little data).
    """
    t_ts = np.asarray(trade_ts_ns, dtype=np.int64)
    t_px = np.asarray(trade_price, dtype=np.float64)
    t_side = np.asarray(trade_aggressor, dtype=np.int64)
    m_ts = np.asarray(mid_ts_ns, dtype=np.int64)
    m_px = np.asarray(mid_price, dtype=np.float64)
    if not (t_ts.shape == t_px.shape == t_side.shape and m_ts.shape == m_px.shape and t_ts.ndim == 1):
        raise ValueError("trade arrays must have one shape, mid arrays another, both 1-D")
    books: tuple[list[list[float]], list[list[float]]] | None = None
    if bid_prices is not None or ask_prices is not None:
        bids = np.asarray(bid_prices, dtype=np.float64)
        asks = np.asarray(ask_prices, dtype=np.float64)
        if bids.ndim != 2 or asks.ndim != 2 or len(bids) != len(m_ts) or len(asks) != len(m_ts):
            raise ValueError("bid_prices and ask_prices must be 2-D with one row per mid")
        books = (bids.tolist(), asks.tolist())
    t_order = np.argsort(t_ts, kind="stable")
    m_order = np.argsort(m_ts, kind="stable")
    if len(m_ts) == 0:
        raise ValueError("need at least one mid")
    config = IntensityConfig(
        bucket_width_price=bucket_width_price,
        n_buckets=n_buckets,
        half_life_s=math.inf,
        prior_A_per_s=1.0,
        prior_k_per_price=1.0 / bucket_width_price,
        A_min_per_s=1e-12,
        A_max_per_s=1e12,
        k_min_per_price=1e-12,
        k_max_per_price=1e12,
        min_trades=0.0,
        max_book_age_s=math.inf,
    )
    start_ns = int(m_ts[m_order[0]])
    est = TradeIntensity(config, start_ns)
    mids_ts, mids = m_ts[m_order].tolist(), m_px[m_order].tolist()
    rows: Sequence[int] = m_order.tolist()
    end_ns = max(int(t_ts.max()) + 1 if len(t_ts) else start_ns, int(m_ts.max()))
    j = 0

    def books_before(ts: int) -> None:
        nonlocal j
        while j < len(mids_ts) and mids_ts[j] < ts:
            if books is not None:
                est.on_book(mids_ts[j], mids[j], books[0][rows[j]], books[1][rows[j]])
            j += 1

    for ts, price, side in zip(
        t_ts[t_order].tolist(), t_px[t_order].tolist(), t_side[t_order].tolist(), strict=True
    ):
        books_before(ts)
        if j:
            est.on_trade(ts, price, 1.0, mids[j - 1], side, ts)
    books_before(end_ns)
    return est.fit(end_ns)
