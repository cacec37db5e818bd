"""The fill intensity lambda(delta) = A*exp(-k*delta), fitted from the depth each taker order reaches.

The model: market orders arrive on ONE side as a Poisson process of rate A per second, and each
reaches a depth R ~ Exponential(k) beyond the mid, so a quote at depth delta (price units from the
mid) with nothing ahead of it is hit at rate A*P(R >= delta) = A*exp(-k*delta). A in 1/second, k in
1/price, delta in price units; both sides are pooled (the model is symmetric).

What is counted, and why not prints: one aggressive order prints one trade per resting order it
takes, at the resting prices, so counting prints by distance to the mid counts a sweep several times
near the touch (A and k read ~2x high on the synthetic market). Prints are grouped into TAKER ORDERS
instead: consecutive prints with the same exchange timestamp and aggressor side are one order (venues
stamp every print of one match with the match time; Binance's aggTrade groups the same way). A
group reaches a depth D = the furthest of its prints from the mid before it.

Two exposures, the same fit:

- ``elapsed`` (trades only: no book given to ``on_book``): the survival count of taker orders. At
  each bucket's lower edge delta_i, lambda(delta_i) = (decayed number of orders with D >= delta_i) /
  (2 x decayed elapsed time). This is hftbacktest's GLFT tutorial's measure (its
  ``measure_trading_intensity_and_volatility`` and ``measure_trading_intensity``, in
  nkaz001/hftbacktest ``examples/GLFT Market Making Model and Grid Trading.ipynb`` at 5f3ec40b) per
  taker order instead of per 100 ms interval (an interval holds at most one arrival, so its rate
  saturates at 10/s near the touch). It assumes a DENSE book: an order that reaches R prints within a
  tick of R. Where the book has gaps, an order stops at the last resting price within its reach, so D
  falls short of R (on the paper config's thin synthetic book by ~2.7 USD against 1/k = 5 USD: k reads
  ~0.28 for 0.2); it only bounds the reach from below.
- ``book`` (``on_book`` is fed the book's resting prices): each resting price level is a quote at
  its depth d from the mid, exposed while it rests. It is "hit" when a taker order prints at its price
  or beyond (the order reached d and took everything nearer), and is then dropped until the next book
  (how much of it is left is unknown; dropping it loses exposure and hits alike). A level that rests
  E seconds is hit with probability ~E*lambda(d), so in each bucket lambda = (decayed hits of its
  levels) / (decayed seconds they rested), at the bucket's exposure-weighted mean depth. Gaps in the
  book do not matter: a level is only asked about while it is there. On a dense book it is the same
  measure as ``elapsed``. The best level on each side is first in line; a deeper one is reached only by
  an order large enough to take what is ahead of it, as for a real quote behind others.

The fit is the Poisson maximum likelihood of hits_i ~ Poisson(exposure_i * A*exp(-k*delta_i)) over
the buckets with exposure (empty buckets count: they say lambda is small there): k solves
sum(hits*delta)/sum(hits) = sum(E*delta*e^{-k delta})/sum(E*e^{-k delta}) (monotone in k, safeguarded
Newton), then A = sum(hits)/sum(E*e^{-k delta}). ``r2`` is the hit-weighted R^2 of ln(rate) around the
fitted line, for users to see how exponential the data is.

Forgetting: every count and exposure is weighted by 2^(-age/half_life), stored scaled by
exp(lam*(t - ref)) so decay costs nothing per event (rescaled before exp() overflows).

Biases (``tests/bot/strategy/test_intensity_synthetic.py``; 10 seeds of 2,000 s of the paper
config's market, A = 2 /s, k = 0.2 /USD): queue ahead: deep levels are hit less than lambda when taker
orders are small against the book ahead of them (k high: 0.206-0.222 with only the A-S takers); the
mid: depths are measured from the book's mid, not the price the takers aim from, and its noise lowers
k and raises A (by ~E[cosh(k*noise)]; with k = 0.5 /USD A reads 0.99-1.14 for 1); takers of unlimited
reach (the background's plain market orders, 0.25 /s a side, hit any quote first in line) add a rate
an exponential does not have (A 2.09-2.29 with them, k 0.192-0.215); levels cancelled between two
books count as exposed until the next (A low by the share cancelled within a book interval); two
taker orders with one timestamp and side count as one. Book mode needs the caller to say when it
stops trusting the book (``on_book`` with a NaN mid): levels left exposed while trades are dropped read
A low. Live, a book update that already shows a sweep before its prints arrive hides those hits (A
low): feed books and trades in exchange-time order where you can (``fit_intensity`` does).

Cost: ``on_trade`` is O(1) plus one step per level a taker order takes (a level's exposure is added
when it is hit or its book is replaced, never per event); ``on_book`` is O(levels within n_buckets x
bucket_width of the mid); ``fit`` is O(levels + n_buckets x Newton steps), cached by ``calibration``
for ``refit_interval_s``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from mm_bot.strategy.intensity_fit import MAX_EXPONENT as _MAX_EXPONENT
from mm_bot.strategy.intensity_fit import fit_exponential_intensity

_LN2 = math.log(2.0)
_NS = 1e-9

IntensityStatus = Literal["warming_up", "fitted", "prior_after_warmup", "rejected_fit"]
Exposure = Literal["book", "elapsed"]


@dataclass(frozen=True, slots=True)
class IntensityConfig:
    """Buckets of ``bucket_width_price`` (price units); A in 1/second, k in 1/price. ``half_life_s``
    may be ``math.inf`` (no forgetting, for offline fits)."""

    bucket_width_price: float
    n_buckets: int
    half_life_s: float
    prior_A_per_s: float
    prior_k_per_price: float
    A_min_per_s: float
    A_max_per_s: float
    k_min_per_price: float
    k_max_per_price: float
    min_trades: float = 50.0  # decayed taker orders needed before fitting
    min_buckets: int = 3  # buckets with hits needed for a fit
    max_warmup_s: float = 300.0
    prior_weight_trades: float = 0.0  # >0: blend, fit weight = n / (n + prior_weight_trades)
    min_r2: float = 0.0
    refit_interval_s: float = 1.0  # calibration() reuses its snapshot for this long (hot-path cost)
    max_book_age_s: float = 5.0  # a book's levels stop counting as exposed this long after it

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
            and self.max_book_age_s > 0.0
        )
        if not ok:
            raise ValueError(f"inconsistent IntensityConfig: {self}")


@dataclass(frozen=True, slots=True)
class IntensityCalibration:
    """A snapshot of the intensity fit, for the engine and for users to inspect.

    ``bucket_rates_per_s[i]`` is the per-side rate lambda at depth ``bucket_depths_price[i]``:
    ``bucket_counts[i]`` decayed hits over ``bucket_exposure_s[i]`` decayed seconds of exposure (see
    the module docstring for ``exposure``). ``fit_*`` and ``r2`` are the raw fit (NaN when none),
    ``A_per_s`` and ``k_per_price`` the values to use (fit, blended, or priors; always clamped).
    ``decayed_trades`` is the forgetting-weighted number of taker orders the fit and the blend weight
    rest on; ``taker_orders`` and ``trades_accepted`` count orders and prints without forgetting.
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
    exposure: Exposure = "elapsed"
    bucket_exposure_s: tuple[float, ...] = ()
    taker_orders: int = 0


class TradeIntensity:
    """Taker orders, the depth they reach, and the A, k fit (see the module docstring)."""

    __slots__ = (
        "_book_mid",
        "_book_ns",
        "_cached",
        "_cached_ns",
        "_expo",
        "_expo_depth",
        "_group",
        "_group_bins",
        "_group_w",
        "_hits",
        "_lam_per_ns",
        "_live",
        "_max_age_ns",
        "_orders",
        "_reach",
        "_ref_ns",
        "_refit_ns",
        "accepted",
        "config",
        "rejected",
        "start_ns",
        "taker_orders",
    )

    def __init__(self, config: IntensityConfig, start_ns: int) -> None:
        self.config = config
        self.start_ns = start_ns
        self._lam_per_ns = _LN2 / config.half_life_s * _NS  # 0.0 for an infinite half-life
        self._ref_ns = start_ns  # weights are stored scaled by exp(lam*(t - ref)): O(1) decay
        n = config.n_buckets
        self._reach = [0.0] * n  # elapsed: orders by the last bucket edge their D reached
        self._hits = [0.0] * n  # book: hits of the levels in each bucket
        self._expo = [0.0] * n  # book: level-seconds of exposure in each bucket
        self._expo_depth = [0.0] * n  # book: the same, times the level's depth
        self._orders = 0.0
        # book levels per side (index 1: asks, -1: bids), as (depth, bucket), nearest first; a hit
        # level is popped, so the lists are stored reversed (nearest last).
        self._live: dict[int, list[tuple[float, int]]] = {1: [], -1: []}
        self._book_mid = math.nan
        self._book_ns = start_ns
        age_s = config.max_book_age_s
        self._max_age_ns = math.ceil(age_s / _NS) if age_s < math.inf else 1 << 62
        self._group: tuple[int, int] | None = None  # (exchange ts, side) of the last taker order
        self._group_bins = 0
        self._group_w = 0.0
        self._refit_ns = math.ceil(config.refit_interval_s / _NS)
        self._cached: IntensityCalibration | None = None
        self._cached_ns = 0
        self.accepted = 0
        self.rejected = 0
        self.taker_orders = 0

    # ------------------------------------------------------------------------------- inputs
    def on_book(
        self, now_ns: int, mid: float, bid_prices: Iterable[float], ask_prices: Iterable[float]
    ) -> None:
        """The book's resting prices (price units, best first) at ``now_ns``; its levels are exposed
        from now until the next book (or a hit, or ``max_book_age_s``). A bad mid (a book the caller
        refused) leaves no level exposed; so does a clock that went back for the previous book's."""
        self._close_levels(now_ns)
        if self._lam_per_ns * (now_ns - self._ref_ns) > _MAX_EXPONENT:
            self._rescale(now_ns)
        live_bids: list[tuple[float, int]] = []
        live_asks: list[tuple[float, int]] = []
        self._live = {1: live_asks, -1: live_bids}
        self._book_mid, self._book_ns = mid, now_ns
        if not 0.0 < mid < math.inf:
            return
        width, n = self.config.bucket_width_price, self.config.n_buckets
        for side, prices, live in ((1, ask_prices, live_asks), (-1, bid_prices, live_bids)):
            for price in prices:
                depth = side * (price - mid)
                if not depth >= 0.0:  # NaN, or a stale level through the mid
                    continue
                i = int(depth / width)
                if i >= n:
                    break
                live.append((depth, i))
            live.reverse()

    def on_trade(
        self,
        now_ns: int,
        price: float,
        size: float,
        mid: float,
        aggressor: int = 0,
        exchange_ts_ns: int | None = None,
    ) -> bool:
        """Count one public print (price units; ``mid`` the book's mid before it). ``aggressor``: +1
        buy, -1 sell, 0 unknown (then the side of the mid it printed on). Prints with the same
        ``exchange_ts_ns`` (default ``now_ns``) and side are one taker order. False (and counted) for
        non-finite/non-positive inputs, t < start, or an aggressor not in {-1, 0, 1}."""
        if not (0.0 < price < math.inf and 0.0 < size < math.inf and 0.0 < mid < math.inf) or (
            now_ns < self.start_ns or aggressor not in (-1, 0, 1)
        ):
            self.rejected += 1
            return False
        side = aggressor or (1 if price >= mid else -1)
        key = (now_ns if exchange_ts_ns is None else exchange_ts_ns, side)
        self.accepted += 1
        if key != self._group:
            x = self._lam_per_ns * (now_ns - self._ref_ns)
            if x > _MAX_EXPONENT:
                self._rescale(now_ns)
                x = 0.0
            self._group, self._group_bins, self._group_w = key, 0, math.exp(x)
            self._orders += self._group_w
            self.taker_orders += 1
        w = self._group_w
        # elapsed: the order has reached every bucket edge i*width <= its depth
        depth = side * (price - mid)
        bins = (
            min(int(depth / self.config.bucket_width_price) + 1, self.config.n_buckets) if depth >= 0 else 0
        )
        if bins > self._group_bins:
            if self._group_bins:
                self._reach[self._group_bins - 1] -= w
            self._reach[bins - 1] += w
            self._group_bins = bins
        # book: the levels at or inside this print are hit, and gone until the next book
        live = self._live[side]
        if live and now_ns - self._book_ns <= self._max_age_ns:
            depth = side * (price - self._book_mid)
            if live[-1][0] <= depth:
                rested_s = self._rested_s(now_ns)
                hits, expo, expo_depth = self._hits, self._expo, self._expo_depth
                while live and live[-1][0] <= depth:
                    level_depth, i = live.pop()
                    hits[i] += w
                    expo[i] += rested_s
                    expo_depth[i] += rested_s * level_depth
        return True

    def _rested_s(self, end_ns: int) -> float:
        """Decayed seconds a level of the current book has rested by ``end_ns``: the integral of
        exp(lam*(t - ref)) from the book's time to ``end_ns``, capped at ``max_book_age_s``."""
        start = self._book_ns
        dt_ns = min(end_ns - start, self._max_age_ns)
        if dt_ns <= 0:
            return 0.0
        lam = self._lam_per_ns
        if lam == 0.0:
            return dt_ns * _NS
        return math.exp(lam * (start - self._ref_ns)) * math.expm1(lam * dt_ns) / lam * _NS

    def _close_levels(self, end_ns: int) -> None:
        """Add the exposure of the levels still resting (not hit) since the current book."""
        rested_s = self._rested_s(end_ns)
        if rested_s > 0.0:
            expo, expo_depth = self._expo, self._expo_depth
            for live in self._live.values():
                for depth, i in live:
                    expo[i] += rested_s
                    expo_depth[i] += rested_s * depth

    def _rescale(self, now_ns: int) -> None:
        f = math.exp(-self._lam_per_ns * (now_ns - self._ref_ns))
        for store in (self._reach, self._hits, self._expo, self._expo_depth):
            store[:] = [c * f for c in store]
        self._orders *= f
        self._group_w *= f
        self._ref_ns = now_ns

    # ------------------------------------------------------------------------------- fitting
    def calibration(self, now_ns: int) -> IntensityCalibration:
        """The snapshot to quote with: refitted at most every ``refit_interval_s``, so it can be called
        on every decision. A and k move on the scale of the half-life, so a snapshot up to one refit
        interval old changes nothing that matters."""
        cached = self._cached
        if cached is not None and 0 <= now_ns - self._cached_ns < self._refit_ns:
            return cached
        self._cached, self._cached_ns = self.fit(now_ns), now_ns
        return self._cached

    def fit(self, now_ns: int) -> IntensityCalibration:
        """Fit and snapshot at ``now_ns`` now, O(n_buckets) (for inspection; ``calibration`` caches)."""
        cfg = self.config
        n, width = cfg.n_buckets, cfg.bucket_width_price
        lam = self._lam_per_ns
        elapsed_ns = max(now_ns - self.start_ns, 0)
        f = math.exp(-lam * (now_ns - self._ref_ns))
        window_s = -math.expm1(-lam * elapsed_ns) / lam * _NS if lam > 0.0 else elapsed_ns * _NS
        exposure: Exposure
        expo, expo_depth = self._expo[:], self._expo_depth[:]
        rested_s = self._rested_s(now_ns)  # the levels resting now, so far
        for live in self._live.values():
            for depth, i in live:
                expo[i] += rested_s
                expo_depth[i] += rested_s * depth
        if any(expo):
            exposure = "book"
            counts = [h * f for h in self._hits]
            depths = [
                ed / e if e > 0.0 else i * width
                for i, (e, ed) in enumerate(zip(expo, expo_depth, strict=True))
            ]
            expo = [e * f for e in expo]
        else:
            exposure = "elapsed"
            counts, acc = [], 0.0
            for c in reversed(self._reach):
                acc += c * f
                counts.append(acc)
            counts.reverse()
            expo = [2.0 * window_s] * n
            depths = [i * width for i in range(n)]
        rates = [c / e if e > 0.0 else 0.0 for c, e in zip(counts, expo, strict=True)]
        orders = self._orders * f
        fit = fit_exponential_intensity(depths, counts, expo) if orders >= cfg.min_trades else None
        status: IntensityStatus
        fit_a = fit_k = r2 = math.nan
        if fit is not None and fit[3] >= cfg.min_buckets:
            fit_a, fit_k, r2, _ = fit
            # k must make lambda actually fall across the buckets (a flat fit is k = 0 up to rounding)
            falls = fit_k * width * n > 1e-6
            status = "fitted" if falls and r2 >= cfg.min_r2 else "rejected_fit"
        else:
            status = "warming_up"
        ready = status == "fitted" or elapsed_ns * _NS >= cfg.max_warmup_s
        if status == "fitted":
            w = 1.0
            if cfg.prior_weight_trades > 0.0:
                w = orders / (orders + cfg.prior_weight_trades)
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
            decayed_trades=orders,
            trades_accepted=self.accepted,
            trades_rejected=self.rejected,
            exposure=exposure,
            bucket_exposure_s=tuple(expo),
            taker_orders=self.taker_orders,
        )
