"""Run metrics from a RunTrace: pure numpy functions, no IO. ``run_metrics`` returns a JSON-ready dict
(plain floats, ints, strings; ``None`` where a figure is undefined, never NaN).

Conventions:

- **Intervals.** Sharpe, VaR and CVaR use the PnL changes over fixed intervals of ``interval_s``
  (default 1 s, given back as ``sharpe_interval_s``): PnL is read as of each point of the grid
  ``start_ns + k * interval`` (the last sample at or before it; the first sample before the first
  one) up to ``end_ns``; a partial last interval is dropped.
- **Sharpe** = mean / sample std (ddof 1) of those changes × sqrt(intervals per year), a year being
  365 × 24 h (crypto trades around the clock); no risk-free rate. ``None`` with fewer than two changes
  or when PnL never changes.
- **VaR / CVaR 95** (historical): a loss is a positive number. VaR is minus the 5th percentile of the
  changes (linear interpolation), CVaR minus the mean of the changes at or below it; CVaR ≥ VaR.
- **Max drawdown** is the largest fall of PnL from its running peak over the samples (≥ 0), the first
  sample being the first peak.
- **Time-weighted** figures (``inventory_std_base``, ``mean_spread_bps``): a sample holds until the
  next one, the last until ``end_ns``; equal weights if the samples span no time.
- **Markouts** at horizon h: for each fill, side × (mid(t + h) − fill price) per base unit, mid as of
  t + h from the samples with a mid; positive means the fill made money. ``mean_quote`` is the plain
  mean over fills, ``mean_bps`` the mean of each markout over its fill price × 10^4. Fills whose
  t + h lies past the last sample (or before the first mid) are left out and counted in ``excluded``.
- ``fill_rate`` is fills per quote sent; ``pnl_per_trade_quote`` the final PnL over the fills.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
import numpy.typing as npt

from mm_bot.backtest.trace import RunTrace

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

NS_PER_S = 1_000_000_000
SECONDS_PER_YEAR = 365 * 24 * 3600
DEFAULT_INTERVAL_S = 1.0
MARKOUT_HORIZONS_S = (1, 10, 60)
VAR_LEVEL = 0.95


def run_metrics(
    trace: RunTrace,
    *,
    interval_s: float = DEFAULT_INTERVAL_S,
    horizons_s: tuple[float, ...] = MARKOUT_HORIZONS_S,
) -> dict[str, Any]:
    """Every metric of one run, with the run summary's own fields (quotes, cancels, fills, volume,
    PnL, fees, decision reasons)."""
    ok = np.isfinite(trace.pnl_quote)
    pnl_ts, pnl = trace.ts_ns[ok], trace.pnl_quote[ok]
    changes = interval_changes(pnl_ts, pnl, trace.start_ns, trace.end_ns, int(interval_s * NS_PER_S))
    var, cvar = var_cvar(changes, VAR_LEVEL)
    fills = len(trace.fill_ts_ns)
    final_pnl = float(pnl[-1]) if len(pnl) else None
    weights = time_weights(trace.ts_ns, trace.end_ns)
    out: dict[str, Any] = {
        "symbol": trace.symbol,
        "strategy": trace.strategy,
        "start_ns": int(trace.start_ns),
        "end_ns": int(trace.end_ns),
        "duration_s": (trace.end_ns - trace.start_ns) / NS_PER_S,
        "samples": len(trace.ts_ns),
        "quotes_sent": int(trace.quotes_sent),
        "cancels_sent": int(trace.cancels_sent),
        "fills": fills,
        "maker_fills": int(np.count_nonzero(trace.fill_maker)),
        "volume_base": float(np.sum(trace.fill_qty_base)),
        "fees_quote": float(np.sum(trace.fill_fee_quote)),
        "pnl_quote": final_pnl,
        "position_base": float(trace.position_base[-1]) if len(trace.position_base) else None,
        "pnl_per_trade_quote": final_pnl / fills if final_pnl is not None and fills else None,
        "fill_rate": fills / trace.quotes_sent if trace.quotes_sent > 0 else None,
        "sharpe": sharpe(changes, interval_s),
        "sharpe_interval_s": interval_s,
        "max_drawdown_quote": max_drawdown(pnl),
        "inventory_std_base": weighted_std(trace.position_base, weights),
        "max_abs_position_base": _max_abs(trace.position_base),
        "var_95_quote": var,
        "cvar_95_quote": cvar,
        "mean_spread_bps": mean_spread_bps(trace, weights),
        "two_sided_share": two_sided_share(trace, weights),
        "markouts": {f"{h:g}s": markout(trace, h) for h in horizons_s},
        "decisions": len(trace.decision_ts_ns),
        "decision_reasons": decision_reasons(trace.decision_action, trace.decision_reason),
    }
    ready: dict[str, Any] = json_ready(out)
    return ready


def interval_changes(ts_ns: Ints, values: Floats, start_ns: int, end_ns: int, interval_ns: int) -> Floats:
    """Changes of ``values`` (as of each grid point ``start_ns + k*interval_ns`` ≤ ``end_ns``)."""
    if len(values) == 0 or interval_ns <= 0 or end_ns <= start_ns:
        return np.empty(0)
    grid = start_ns + interval_ns * np.arange((end_ns - start_ns) // interval_ns + 1, dtype=np.int64)
    idx = np.maximum(np.searchsorted(ts_ns, grid, side="right") - 1, 0)
    return np.diff(values[idx])


def sharpe(changes: Floats, interval_s: float) -> float | None:
    """Annualised Sharpe ratio of per-interval PnL changes; None if undefined (see the module doc)."""
    if len(changes) < 2:
        return None
    std = float(np.std(changes, ddof=1))
    if not std > 0 or not math.isfinite(std):
        return None
    return float(np.mean(changes)) / std * math.sqrt(SECONDS_PER_YEAR / interval_s)


def max_drawdown(pnl: Floats) -> float:
    """The largest fall from a running peak, ≥ 0 (0 for an empty or never-falling series)."""
    if len(pnl) == 0:
        return 0.0
    return float(np.max(np.maximum.accumulate(pnl) - pnl))


def var_cvar(changes: Floats, level: float) -> tuple[float | None, float | None]:
    """Historical VaR and CVaR at ``level``, a loss as a positive number; (None, None) if no changes."""
    if len(changes) == 0:
        return None, None
    cut = float(np.quantile(changes, 1.0 - level))
    var = -cut
    cvar = -float(np.mean(changes[changes <= cut]))
    return var, max(cvar, var)  # the tail's mean can round one ulp above its bound


def time_weights(ts_ns: Ints, end_ns: int) -> Floats:
    """How long each sample holds (ns, ≥ 0): until the next sample, the last until ``end_ns``."""
    if len(ts_ns) == 0:
        return np.empty(0)
    nxt = np.append(ts_ns[1:], max(int(end_ns), int(ts_ns[-1])))
    w = (nxt - ts_ns).astype(np.float64)
    return np.maximum(w, 0.0)


def weighted_mean_std(values: Floats, weights: Floats) -> tuple[float, float] | None:
    """Weighted mean and population std over the finite values; equal weights if the weights sum to 0."""
    ok = np.isfinite(values)
    v, w = values[ok], weights[ok]
    if len(v) == 0:
        return None
    if not np.sum(w) > 0:
        w = np.ones_like(v)
    mean = float(np.average(v, weights=w))
    return mean, math.sqrt(float(np.average((v - mean) ** 2, weights=w)))


def weighted_std(values: Floats, weights: Floats) -> float | None:
    got = weighted_mean_std(values, weights)
    return None if got is None else got[1]


def _max_abs(values: Floats) -> float | None:
    finite = np.abs(values[np.isfinite(values)])
    return float(np.max(finite)) if len(finite) else None


def _two_sided(trace: RunTrace) -> npt.NDArray[np.bool_]:
    return np.isfinite(trace.bid_quote) & np.isfinite(trace.ask_quote)


def mean_spread_bps(trace: RunTrace, weights: Floats) -> float | None:
    """Time-weighted mean of our quoted spread (ask − bid) / mid × 10^4 while both sides rest."""
    both = _two_sided(trace) & np.isfinite(trace.mid) & (trace.mid > 0)
    if not np.any(both):
        return None
    spread = (trace.ask_quote[both] - trace.bid_quote[both]) / trace.mid[both] * 1e4
    got = weighted_mean_std(spread, weights[both])
    return None if got is None else got[0]


def two_sided_share(trace: RunTrace, weights: Floats) -> float | None:
    """The share of the time (time-weighted) both our bid and our ask rest."""
    if len(weights) == 0:
        return None
    both = _two_sided(trace).astype(np.float64)
    if not np.sum(weights) > 0:
        return float(np.mean(both))
    return float(np.average(both, weights=weights))


def markout(trace: RunTrace, horizon_s: float) -> dict[str, Any]:
    """Markouts of every fill at ``horizon_s``: count, excluded, mean per unit (quote) and in bps.
    The data ends at the last sample."""
    n = len(trace.fill_ts_ns)
    has_mid = np.isfinite(trace.mid)
    mid_ts, mids = trace.ts_ns[has_mid], trace.mid[has_mid]
    target = trace.fill_ts_ns + round(horizon_s * NS_PER_S)
    idx = np.searchsorted(mid_ts, target, side="right") - 1
    data_end_ns = int(trace.ts_ns[-1]) if len(trace.ts_ns) else -1
    ok = (idx >= 0) & (target <= data_end_ns)
    side, price = trace.fill_side[ok], trace.fill_price[ok]
    per_unit = side * (mids[idx[ok]] - price)
    count = int(np.count_nonzero(ok))
    return {
        "horizon_s": horizon_s,
        "count": count,
        "excluded": n - count,
        "mean_quote": float(np.mean(per_unit)) if count else None,
        "mean_bps": float(np.mean(per_unit / price * 1e4)) if count else None,
    }


def decision_reasons(actions: list[str], reasons: list[str]) -> dict[str, int]:
    """Decision counts by ``"<action>(<reason>)"``, the run summary's labels, sorted by label."""
    counts = Counter(f"{a}({r})" for a, r in zip(actions, reasons, strict=True))
    return dict(sorted(counts.items()))


def json_ready(value: Any) -> Any:
    """``value`` with numpy scalars made plain and every non-finite float made None."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
