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

``TradeIntensity``: the model's lambda(delta) = A*exp(-k*delta) is the rate at which market orders
reach depth delta on ONE side, i.e. the survival function of trade distances, not their density. Each
public trade is counted in the bucket of its distance |price - mid| (the caller's mid at trade time),
with exponential forgetting; lambda at a bucket's lower edge is the decayed count of trades at or
beyond it, over the decayed exposure time, halved (both sides pooled, the model is symmetric). A
weighted least-squares fit of ln lambda = ln A - k*delta (weights = counts, ~ inverse Poisson variance
of the log) gives A (1/second) and k (1/price), clamped to configured bounds. Priors are used until
there is enough data (optionally blended with the fit), and after ``max_warmup_s`` the estimator is
``ready`` even on priors so quoting never stalls. Known limits: a sweep printing several trades counts
each print; trades cluster at the touch, so lambda is flat below the half-spread (set bucket_width
or the priors accordingly).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

_LN2 = math.log(2.0)
_NS = 1e-9
_MAX_EXPONENT = 500.0  # lazy-decay weights are rescaled before exp() gets near overflow


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


IntensityStatus = Literal["warming_up", "fitted", "prior_after_warmup", "rejected_fit"]


@dataclass(frozen=True, slots=True)
class IntensityConfig:
    """Buckets of ``bucket_width_price`` (price units); A in 1/second, k in 1/price."""

    bucket_width_price: float
    n_buckets: int
    half_life_s: float
    prior_A_per_s: float
    prior_k_per_price: float
    A_min_per_s: float
    A_max_per_s: float
    k_min_per_price: float
    k_max_per_price: float
    min_trades: float = 50.0  # decayed trade count needed before fitting
    min_buckets: int = 3  # buckets with trades at or beyond them needed for a fit
    max_warmup_s: float = 300.0
    prior_weight_trades: float = 0.0  # >0: blend, fit weight = n / (n + prior_weight_trades)
    min_r2: float = 0.0
    refit_interval_s: float = 1.0  # calibration() reuses its snapshot for this long (hot-path cost)

    def __post_init__(self) -> None:
        ok = (
            self.bucket_width_price > 0.0
            and self.n_buckets >= 2
            and self.half_life_s > 0.0
            and 0.0 < self.A_min_per_s <= self.prior_A_per_s <= self.A_max_per_s < math.inf
            and 0.0 < self.k_min_per_price <= self.prior_k_per_price <= self.k_max_per_price < math.inf
            and self.min_buckets >= 2
            and self.min_trades >= 0.0
            and self.prior_weight_trades >= 0.0
            and self.max_warmup_s >= 0.0
            and self.refit_interval_s >= 0.0
        )
        if not ok:
            raise ValueError(f"inconsistent IntensityConfig: {self}")


@dataclass(frozen=True, slots=True)
class IntensityCalibration:
    """A snapshot of the intensity fit, for the engine and for users to inspect.

    ``bucket_rates_per_s[i]`` is the per-side rate lambda(delta) of trades at distance >=
    ``bucket_depths_price[i]``; ``fit_*`` and ``r2`` are the raw fit (NaN when none), ``A_per_s`` and
    ``k_per_price`` the values to use (fit, blended, or priors; always clamped). ``decayed_trades`` is
    the forgetting-weighted number of trades (all distances) the fit and the blend weight rest on.
    """

    A_per_s: float
    k_per_price: float
    status: IntensityStatus
    ready: bool
    clamped: bool
    r2: float
    fit_A_per_s: float
    fit_k_per_price: float
    bucket_depths_price: tuple[float, ...]
    bucket_counts: tuple[float, ...]
    bucket_rates_per_s: tuple[float, ...]
    effective_window_s: float
    decayed_trades: float
    trades_accepted: int
    trades_rejected: int


class TradeIntensity:
    """Decaying trade counts by distance to mid and the A, k fit (see the module docstring)."""

    __slots__ = (
        "_cached",
        "_cached_ns",
        "_counts",
        "_lam_per_ns",
        "_overflow",
        "_ref_ns",
        "_refit_ns",
        "accepted",
        "config",
        "rejected",
        "start_ns",
    )

    def __init__(self, config: IntensityConfig, start_ns: int) -> None:
        self.config = config
        self.start_ns = start_ns
        self._lam_per_ns = _LN2 / config.half_life_s * _NS
        self._ref_ns = start_ns  # counts are stored scaled by exp(lam*(t - ref)): O(1) decay
        self._counts = [0.0] * config.n_buckets
        self._overflow = 0.0
        self._refit_ns = math.ceil(config.refit_interval_s / _NS)
        self._cached: IntensityCalibration | None = None
        self._cached_ns = 0
        self.accepted = 0
        self.rejected = 0

    def on_trade(self, now_ns: int, price: float, size: float, mid: float) -> bool:
        """Count one public trade; False (and counted) for non-finite/non-positive inputs or t < start."""
        if not (0.0 < price < math.inf and 0.0 < size < math.inf and 0.0 < mid < math.inf) or (
            now_ns < self.start_ns
        ):
            self.rejected += 1
            return False
        x = self._lam_per_ns * (now_ns - self._ref_ns)
        if x > _MAX_EXPONENT:
            self._rescale(now_ns)
            x = 0.0
        i = int(abs(price - mid) / self.config.bucket_width_price)
        if i < len(self._counts):
            self._counts[i] += math.exp(x)
        else:
            self._overflow += math.exp(x)
        self.accepted += 1
        return True

    def _rescale(self, now_ns: int) -> None:
        f = math.exp(-self._lam_per_ns * (now_ns - self._ref_ns))
        self._counts = [c * f for c in self._counts]
        self._overflow *= f
        self._ref_ns = now_ns

    def calibration(self, now_ns: int) -> IntensityCalibration:
        """The snapshot to quote with: refitted at most every ``refit_interval_s`` (a refit costs ~10 us,
        a cached answer ~0.2 us), so it can be called on every decision. A and k move on the scale of
        the half-life, so a snapshot up to one refit interval old changes nothing that matters."""
        cached = self._cached
        if cached is not None and 0 <= now_ns - self._cached_ns < self._refit_ns:
            return cached
        self._cached, self._cached_ns = self.fit(now_ns), now_ns
        return self._cached

    def fit(self, now_ns: int) -> IntensityCalibration:
        """Fit and snapshot at ``now_ns`` now, O(n_buckets) (for inspection; ``calibration`` caches)."""
        cfg = self.config
        elapsed_ns = max(now_ns - self.start_ns, 0)
        f = math.exp(-self._lam_per_ns * (now_ns - self._ref_ns))
        counts = [c * f for c in self._counts]
        window_s = -math.expm1(-self._lam_per_ns * elapsed_ns) / (self._lam_per_ns / _NS)
        survival = []
        acc = self._overflow * f
        for c in reversed(counts):
            acc += c
            survival.append(acc)
        survival.reverse()
        depths = [i * cfg.bucket_width_price for i in range(cfg.n_buckets)]
        rates = [s / (2.0 * window_s) if window_s > 0.0 else 0.0 for s in survival]
        fit = _weighted_log_linear_fit(depths, rates, survival) if survival[0] >= cfg.min_trades else None
        status: IntensityStatus
        fit_a = fit_k = r2 = math.nan
        if fit is not None and fit[3] >= cfg.min_buckets:
            ln_a, fit_k, r2, _ = fit
            fit_a = math.exp(ln_a)
            # k must make lambda actually fall across the buckets (a flat fit is k = 0 up to rounding)
            falls = fit_k * cfg.bucket_width_price * cfg.n_buckets > 1e-6
            status = "fitted" if falls and r2 >= cfg.min_r2 else "rejected_fit"
        else:
            status = "warming_up"
        ready = status == "fitted" or elapsed_ns * _NS >= cfg.max_warmup_s
        if status == "fitted":
            w = 1.0
            if cfg.prior_weight_trades > 0.0:
                w = survival[0] / (survival[0] + cfg.prior_weight_trades)
            a = math.exp(w * math.log(fit_a) + (1.0 - w) * math.log(cfg.prior_A_per_s))
            k = w * fit_k + (1.0 - w) * cfg.prior_k_per_price
        else:
            a, k = cfg.prior_A_per_s, cfg.prior_k_per_price
            if ready and status == "warming_up":
                status = "prior_after_warmup"
        a_used = min(max(a, cfg.A_min_per_s), cfg.A_max_per_s)
        k_used = min(max(k, cfg.k_min_per_price), cfg.k_max_per_price)
        return IntensityCalibration(
            A_per_s=a_used,
            k_per_price=k_used,
            status=status,
            ready=ready,
            clamped=(a_used != a or k_used != k),
            r2=r2,
            fit_A_per_s=fit_a,
            fit_k_per_price=fit_k,
            bucket_depths_price=tuple(depths),
            bucket_counts=tuple(counts),
            bucket_rates_per_s=tuple(rates),
            effective_window_s=window_s,
            decayed_trades=survival[0],
            trades_accepted=self.accepted,
            trades_rejected=self.rejected,
        )


def _weighted_log_linear_fit(
    x: list[float], y: list[float], weights: list[float]
) -> tuple[float, float, float, int] | None:
    """Fit ln y = a - k*x over points with y > 0 and weight >= 1 (a fraction of a trade is noise).

    Returns (a, k, weighted r^2, points used), or None when the fit is degenerate.
    """
    pts = [(xi, math.log(yi), wi) for xi, yi, wi in zip(x, y, weights, strict=True) if yi > 0.0 and wi >= 1.0]
    sw = sum(w for _, _, w in pts)
    if len(pts) < 2 or sw <= 0.0:
        return None
    mx = sum(w * xi for xi, _, w in pts) / sw
    my = sum(w * yi for _, yi, w in pts) / sw
    sxx = sum(w * (xi - mx) ** 2 for xi, _, w in pts)
    sxy = sum(w * (xi - mx) * (yi - my) for xi, yi, w in pts)
    syy = sum(w * (yi - my) ** 2 for _, yi, w in pts)
    if sxx <= 0.0:
        return None
    slope = sxy / sxx
    r2 = sxy * sxy / (sxx * syy) if syy > 0.0 else 1.0
    return my - slope * mx, -slope, r2, len(pts)
