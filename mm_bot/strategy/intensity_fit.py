"""The fit behind the trade-intensity estimate: A and k of lambda(delta) = A * exp(-k * delta) from
hits counted per depth bucket and the time each bucket was exposed, by Poisson maximum likelihood
(pure math; ``intensity.py`` gathers the counts)."""

from __future__ import annotations

import math
from collections.abc import Sequence

MAX_EXPONENT = 500.0  # exponents are kept below this (lazy-decay weights are rescaled before it)


def fit_exponential_intensity(
    depths: Sequence[float], hits: Sequence[float], exposure_s: Sequence[float]
) -> tuple[float, float, float, int] | None:
    """Poisson maximum likelihood of hits_i ~ Poisson(exposure_i * A*exp(-k*depth_i)).

    Buckets without exposure are left out. Returns (A, k, r2, buckets with >= 1 hit), or None when
    there is no finite fit (fewer than two depths with exposure, no hits, or every hit at the
    shallowest or the deepest depth). k may come out <= 0 (a rate that does not fall); r2 is the
    hit-weighted R^2 of ln(hits/exposure) around the fitted line over the buckets with a hit.
    """
    pts = [(d, h, e) for d, h, e in zip(depths, hits, exposure_s, strict=True) if e > 0.0]
    n_hits = sum(h for _, h, _ in pts)
    if len(pts) < 2 or n_hits <= 0.0:
        return None
    d0 = min(d for d, _, _ in pts)
    span = max(d for d, _, _ in pts) - d0
    mean_hit = sum(h * (d - d0) for d, h, _ in pts) / n_hits
    if span <= 0.0 or not 0.0 < mean_hit < span:
        return None

    def excess(k: float) -> tuple[float, float]:
        """Exposure-weighted mean depth under exp(-k d) minus the hits' mean, and its derivative."""
        s0 = s1 = s2 = 0.0
        for d, _, e in pts:
            x = d - d0
            w = e * math.exp(-k * x)
            s0 += w
            s1 += w * x
            s2 += w * x * x
        m1 = s1 / s0
        return m1 - mean_hit, -(s2 / s0 - m1 * m1)

    # g(k) falls from span - mean_hit (k -> -inf) to -mean_hit (k -> +inf): one root, bracketed;
    # Newton steps (g is smooth and convex-ish), bisection when a step leaves the bracket
    lo, hi = -MAX_EXPONENT / span, MAX_EXPONENT / span
    k = min(max(1.0 / mean_hit - 1.0 / span, lo / 2), hi / 2)  # the root for exposure even on [0, span]
    for _ in range(100):
        g, dg = excess(k)
        if g > 0.0:
            lo = k
        else:
            hi = k
        step = k - g / dg if dg < 0.0 else math.nan
        k_next = step if lo < step < hi else 0.5 * (lo + hi)
        done = abs(k_next - k) <= 1e-10 * max(1.0 / span, abs(k))
        k = k_next
        if done:
            break
    ln_a = math.log(n_hits) + k * d0 - math.log(sum(e * math.exp(-k * (d - d0)) for d, _, e in pts))
    a = math.exp(min(ln_a, MAX_EXPONENT))
    used = [(d, math.log(h / e), h) for d, h, e in pts if h >= 1.0]
    sw = sum(w for _, _, w in used)
    r2 = 1.0
    if sw > 0.0:
        ybar = sum(w * y for _, y, w in used) / sw
        ss_tot = sum(w * (y - ybar) ** 2 for _, y, w in used)
        ss_res = sum(w * (y - (ln_a - k * d)) ** 2 for d, y, w in used)
        r2 = 1.0 - ss_res / ss_tot if ss_tot > 0.0 else 1.0
    return a, k, r2, len(used)
