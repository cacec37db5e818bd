"""The A/k fit on recorded data, for the backtest summary: the recording's public trades measured
against the mids the core saw (``fit_intensity``: the live estimator's rule, without forgetting).

The depth buckets are sized from the data: 20 buckets spanning the 95th percentile of the trades'
distance from the mid (at least a tick each), so a liquid book's sub-dollar depths and a thin one's
wide ones are both resolved. The mids come from the trace's samples (at most one per 100 ms by
default); the exposure is ``elapsed`` (no book levels), which assumes a dense book: true of the
recorded BTCUSDT books at a 0.01 tick.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mm_bot.backtest.trace import RunTrace
from mm_bot.strategy.estimators import fit_intensity
from sim.data import BUY_EVENT, KIND_MASK, SELL_EVENT, TRADE_EVENT, Recording

N_BUCKETS = 20


def recorded_intensity(recording: Recording, trace: RunTrace) -> dict[str, Any]:
    """A (per second) and k (per price unit) of ``recording``'s trades, JSON-ready (None if unfit)."""
    ev = recording.events
    trades = ev[(ev["ev"] & KIND_MASK) == TRADE_EVENT]
    known = np.isfinite(trace.mid)
    mid_ts, mid = trace.ts_ns[known], trace.mid[known]
    out: dict[str, Any] = {"A_per_s": None, "k_per_price": None, "r2": None, "taker_orders": 0}
    out["trades"] = len(trades)
    if len(trades) == 0 or len(mid) == 0:
        return out
    side = np.where(trades["ev"] & BUY_EVENT, 1, np.where(trades["ev"] & SELL_EVENT, -1, 0))
    # The trades' venue times; the trace's mids are on the strategy's clock, which sees each
    # message at its clock-corrected receive time: close enough for a fit over minutes.
    trade_ts = trades["exch_ts"].astype(np.int64)
    at = np.searchsorted(mid_ts, trade_ts, side="right") - 1
    seen = at >= 0
    depth = np.abs(trades["px"][seen] - mid[at[seen]])
    if not len(depth):
        return out
    width = max(recording.meta.tick, float(np.quantile(depth, 0.95)) / N_BUCKETS)
    fit = fit_intensity(
        trade_ts, trades["px"], side, mid_ts, mid, bucket_width_price=width, n_buckets=N_BUCKETS
    )
    a, k = fit.fit_A_per_s, fit.fit_k_per_price
    out.update(
        A_per_s=a if math.isfinite(a) else None,
        k_per_price=k if math.isfinite(k) else None,
        r2=fit.r2 if math.isfinite(fit.r2) else None,
        taker_orders=int(fit.taker_orders),
        bucket_width_price=width,
    )
    return out
