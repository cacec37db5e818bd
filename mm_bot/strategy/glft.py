"""Guéant, Lehalle & Fernandez-Tapia (2013), "Dealing with the inventory risk: a solution to the market
making problem" (Mathematics and Financial Economics 7(4)), with inventory bounds -Q <= q <= Q.

Same model and units as ``avellaneda_stoikov``: mid ds = sigma dW (sigma in price units per
sqrt(second)), fills at depth delta with intensity A*exp(-k*delta) (A in 1/second, k in 1/price), CARA
utility with risk aversion gamma per (price unit x lot), inventory q in LOTS (order-size units), so one
fill moves q by Delta = 1. No bid is quoted at q = Q, no ask at q = -Q.

(1) Closed-form asymptotic quotes (long horizon, q far from the bounds), in the form popularised by
hftbacktest's GLFT tutorial (Guéant 2017 generalisation with order size Delta and xi, xi = gamma is
the model's own choice):

    c1 = 1/(xi*Delta) * ln(1 + xi*Delta/k)
    c2 = sqrt( gamma/(2*A*Delta*k) * (1 + xi*Delta/k)^(k/(xi*Delta) + 1) )
    half_spread = c1 + Delta/2 * sigma * c2,      skew = sigma * c2
    bid_depth = half_spread + skew*q,            ask_depth = half_spread - skew*q

For Delta = 1 and xi = gamma this is the paper's

    delta_b(q) ~ (1/gamma) ln(1 + gamma/k) + (2q+1)/2 * sqrt( sigma^2 gamma/(2kA) (1+gamma/k)^(1+k/gamma) )
    delta_a(q) ~ (1/gamma) ln(1 + gamma/k) - (2q-1)/2 * sqrt( same )

Long inventory (q > 0) pushes the bid away from the mid and pulls the ask towards it. These functions
are backend-generic (see ``numeric``) and are what ``quote.compute_quote`` uses for kind "glft".

(2) The exact finite-horizon solution (float only, numpy). Derivation, checked against the paper:
with u(t,x,q,s) = -exp(-gamma*(x + q*s + theta_q(t))) the HJB equation

    0 = u_t + sigma^2/2 u_ss + sup_db A e^{-k db} [u(x - s + db, q+1) - u]
                             + sup_da A e^{-k da} [u(x + s + da, q-1) - u]

becomes, after dividing by -u > 0,

    0 = gamma theta_q' - gamma^2 sigma^2 q^2 / 2
        + sup_db A e^{-k db} (1 - e^{-gamma (db + theta_{q+1} - theta_q)}) + (the same for the ask).

The sup is attained at db* = theta_q - theta_{q+1} + (1/gamma) ln(1 + gamma/k) with value
A (gamma/k) (1 + gamma/k)^{-(1+k/gamma)} e^{-k (theta_q - theta_{q+1})}. Substituting
w_q = exp(k theta_q) and multiplying by k w_q / gamma gives the LINEAR system

    w_q'(t) = alpha q^2 w_q(t) - eta (w_{q-1}(t) + w_{q+1}(t)),     alpha = k gamma sigma^2 / 2,
                                                                   eta = A (1 + gamma/k)^{-(1 + k/gamma)},

(the w_{q+1} term is absent at q = Q, the w_{q-1} term at q = -Q), i.e. dw/dt = M w with M symmetric
tridiagonal (alpha q^2 on the diagonal, -eta off it). With terminal condition theta_q(T) = -l(q)
(l = 0: no penalty, here optionally l(q) = b q^2), w(T) = exp(-k l(q)) and

    w(t) = exp(-M (T - t)) w(T),
    delta_b(t,q) = (1/k) ln(w_q / w_{q+1}) + (1/gamma) ln(1 + gamma/k),   q < Q,
    delta_a(t,q) = (1/k) ln(w_q / w_{q-1}) + (1/gamma) ln(1 + gamma/k),   q > -Q.

Numerics: w = V exp(-(Lambda - lambda_min) tau) V^T w(T) with ``numpy.linalg.eigh`` (exact for symmetric
M; the shift only rescales w, which the log-ratios ignore). eigh's error is absolute (~n*eps of the
largest entry), so when some w_q is below 1e-4 of the largest, w is recomputed with a series of
non-negative terms that keeps every entry relatively accurate. Results are returned as ln w; a w that
spans more than float64's range (e^-700, e.g. Q ~ 100 with a steep ground state) raises ValueError.

The asymptotic formula (1) is the continuum (harmonic-oscillator) approximation of the ground state of
M: w_q ~ exp(-sqrt(alpha/eta) q^2 / 2), which gives (1/k) ln(w_q/w_{q+1}) = (2q+1)/(2k) sqrt(alpha/eta),
exactly the skew term above. It is accurate when sqrt(alpha/eta) << 1 and |q| << Q.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mm_bot.strategy.numeric import FLOAT_OPS, Ops

FloatArray = NDArray[np.float64]

# eigh reconstructs w with an absolute error of a few n*eps of its largest entry, so an entry 1e-4 of
# the largest keeps ~1e-10 relative accuracy (depth error ~1e-10/k); below that we switch to the
# entrywise-accurate positive series (slower: ~20-40 ms instead of ~2 ms at Q = 100).
_EIGH_RELATIVE_FLOOR = 1e-4
_TAYLOR_TERMS = 30


def glft_coefficients(
    gamma: float, A: float, k: float, ops: Ops = FLOAT_OPS, xi: float | None = None, delta_lots: float = 1.0
) -> tuple[float, float]:
    """(c1, c2) of the asymptotic GLFT quotes; c1 in price units, c2 in sqrt(second)/lot.

    ``xi`` defaults to gamma (the paper's model); ``delta_lots`` is the order size Delta (1 lot in
    this package's inventory convention).
    """
    xd = (gamma if xi is None else xi) * delta_lots
    log_ratio = ops.log1p(xd / k)  # ln(1 + xi*Delta/k); the power below is exp(exponent * this)
    c1 = log_ratio / xd
    c2 = ops.sqrt(gamma / (2.0 * A * delta_lots * k) * ops.exp((k / xd + 1.0) * log_ratio))
    return c1, c2


def glft_half_spread_and_skew(
    sigma: float, c1: float, c2: float, delta_lots: float = 1.0
) -> tuple[float, float]:
    """(half_spread, skew per lot), both in price units: c1 + Delta/2*sigma*c2 and sigma*c2."""
    skew = sigma * c2
    return c1 + delta_lots / 2.0 * skew, skew


def glft_depths(
    inventory_lots: float,
    sigma: float,
    gamma: float,
    A: float,
    k: float,
    ops: Ops = FLOAT_OPS,
    xi: float | None = None,
    delta_lots: float = 1.0,
) -> tuple[float, float]:
    """Asymptotic (bid_depth, ask_depth) from the mid, price units: half_spread -+ ... +- skew*q."""
    c1, c2 = glft_coefficients(gamma, A, k, ops, xi, delta_lots)
    half, skew = glft_half_spread_and_skew(sigma, c1, c2, delta_lots)
    return half + skew * inventory_lots, half - skew * inventory_lots


def gueant_2013_asymptotic_depths(
    q: float, gamma: float, sigma: float, A: float, k: float
) -> tuple[float, float]:
    """The paper's asymptotic (delta_b(q), delta_a(q)) written as printed (Delta = 1, xi = gamma).

    Float only; kept as an independent transcription that tests compare with ``glft_depths``.
    """
    base = math.log(1.0 + gamma / k) / gamma
    root = math.sqrt(sigma**2 * gamma / (2.0 * k * A) * (1.0 + gamma / k) ** (1.0 + k / gamma))
    return base + (2.0 * q + 1.0) / 2.0 * root, base - (2.0 * q - 1.0) / 2.0 * root


def ode_matrix(q_max_lots: int, gamma: float, sigma: float, A: float, k: float) -> FloatArray:
    """M of dw/dt = M w over q = -Q..Q: alpha*q^2 on the diagonal, -eta on the off-diagonals."""
    if q_max_lots < 1:
        raise ValueError(f"q_max_lots must be >= 1, got {q_max_lots}")
    alpha = k * gamma * sigma**2 / 2.0
    eta = A * math.exp(-(1.0 + k / gamma) * math.log1p(gamma / k))
    q = np.arange(-q_max_lots, q_max_lots + 1, dtype=np.float64)
    m = np.diag(alpha * q**2)
    off = np.full(q.size - 1, -eta)
    return m + np.diag(off, 1) + np.diag(off, -1)


def _weights_eigh(m: FloatArray, w_end: FloatArray, tau_s: float) -> FloatArray:
    """exp(-M tau) w_end via the eigendecomposition, shifted by the smallest eigenvalue (scale-free)."""
    lam, vec = np.linalg.eigh(m)
    decay = np.exp(-(lam - lam[0]) * tau_s)
    w: FloatArray = vec @ (decay * (vec.T @ w_end))
    return w


def _weights_positive_series(m: FloatArray, w_end: FloatArray, tau_s: float) -> FloatArray:
    """exp(-M tau) w_end up to a positive scale, computed with non-negative arithmetic only.

    B = c*I - M >= 0 entrywise (c = max diagonal), exp(-M tau) = e^{-c tau} exp(B tau); exp(B h) by a
    Taylor series with h*||B|| <= 1/2 and at least n sub-steps, then squared, renormalising each time.
    Sums of non-negative terms keep every entry relatively accurate, however small.
    """
    n = m.shape[0]
    b = np.max(np.diag(m)) * np.eye(n) - m
    norm_tau = float(np.max(np.sum(b, axis=1))) * tau_s
    squarings = max(0, math.ceil(math.log2(max(2.0 * norm_tau, float(n), 1.0))))
    bh = b * (tau_s / 2.0**squarings)
    p = np.eye(n)
    term = np.eye(n)
    for i in range(1, _TAYLOR_TERMS + 1):
        term = term @ bh / i
        p = p + term
    for _ in range(squarings):
        p = p @ p
        p = p / np.max(p)
    w: FloatArray = p @ w_end
    return w


def exact_log_weights(
    q_max_lots: int,
    gamma: float,
    sigma: float,
    A: float,
    k: float,
    tau_s: float,
    terminal_penalty_per_lot2: float = 0.0,
) -> FloatArray:
    """ln w(T - tau), w = exp(-M tau) w(T), q = -Q..Q, shifted so max = 0 (depths use ratios only).

    Terminal condition ln w_q(T) = -k * b * q^2, b = ``terminal_penalty_per_lot2`` (price units per
    lot^2; 0 means no penalty). Uses ``numpy.linalg.eigh`` (M is symmetric); where some entries are too
    small relative to the largest for eigh to resolve them, switches to a positive series. Raises
    ValueError when w spans more than float64's range (then reduce Q or the penalty).
    """
    if tau_s < 0.0:
        raise ValueError(f"tau_s must be >= 0, got {tau_s}")
    m = ode_matrix(q_max_lots, gamma, sigma, A, k)
    q = np.arange(-q_max_lots, q_max_lots + 1, dtype=np.float64)
    log_w_end = -k * terminal_penalty_per_lot2 * q**2
    if tau_s == 0.0:
        return log_w_end  # exact even where exp() would underflow
    w_end = np.exp(log_w_end)
    w = _weights_eigh(m, w_end, tau_s)
    if not np.min(w) > _EIGH_RELATIVE_FLOOR * np.max(w):
        w = _weights_positive_series(m, w_end, tau_s)
    w = w / np.max(w)
    if not (np.min(w) > 0.0 and np.all(np.isfinite(w))):
        raise ValueError(
            f"exact GLFT weights underflow float64 (Q={q_max_lots}, gamma={gamma}, sigma={sigma}, A={A}, "
            f"k={k}, tau_s={tau_s}, penalty={terminal_penalty_per_lot2}); reduce Q or the penalty"
        )
    out: FloatArray = np.log(w)
    return out


def exact_weights(
    q_max_lots: int,
    gamma: float,
    sigma: float,
    A: float,
    k: float,
    tau_s: float,
    terminal_penalty_per_lot2: float = 0.0,
) -> FloatArray:
    """w(T - tau) scaled so max(w) = 1; see ``exact_log_weights`` (this may underflow where that does not)."""
    log_w = exact_log_weights(q_max_lots, gamma, sigma, A, k, tau_s, terminal_penalty_per_lot2)
    out: FloatArray = np.exp(log_w)
    return out


@dataclass(frozen=True, slots=True, eq=False)
class GlftDepthTable:
    """Exact optimal depths (price units) per inventory q = -Q..Q at time-to-go ``tau_s``.

    ``bid_depth[Q + q]`` is delta_b(q) (``inf`` at q = Q: no bid), ``ask_depth[Q + q]`` is delta_a(q)
    (``inf`` at q = -Q: no ask). Arrays are read-only.
    """

    q_max_lots: int
    tau_s: float
    bid_depth: FloatArray
    ask_depth: FloatArray

    def depths_at(self, inventory_lots: float) -> tuple[float, float]:
        """(bid_depth, ask_depth) at a possibly fractional inventory, by linear interpolation in q.

        Lookups are clamped to the quotable range, q <= Q-1 for the bid and q >= 1-Q for the ask, so
        the result is always finite; at |q| >= Q the corresponding side must not be quoted anyway
        (``quote.compute_quote`` disables it when max position = Q lots).
        """
        qm = self.q_max_lots
        return (
            _interp(self.bid_depth, min(max(inventory_lots, -qm), qm - 1) + qm),
            _interp(self.ask_depth, min(max(inventory_lots, 1 - qm), qm) + qm),
        )


def _interp(table: FloatArray, x: float) -> float:
    i = min(math.floor(x), table.size - 2)
    frac = x - i
    lo = float(table[i])
    return lo if frac == 0.0 else lo + frac * (float(table[i + 1]) - lo)


def exact_depth_table(
    q_max_lots: int,
    gamma: float,
    sigma: float,
    A: float,
    k: float,
    tau_s: float,
    terminal_penalty_per_lot2: float = 0.0,
) -> GlftDepthTable:
    """The exact GLFT depths for every inventory at time-to-go ``tau_s`` (see the module docstring)."""
    log_w = exact_log_weights(q_max_lots, gamma, sigma, A, k, tau_s, terminal_penalty_per_lot2)
    base = math.log1p(gamma / k) / gamma
    bid = np.full(log_w.size, math.inf)
    ask = np.full(log_w.size, math.inf)
    bid[:-1] = (log_w[:-1] - log_w[1:]) / k + base
    ask[1:] = (log_w[1:] - log_w[:-1]) / k + base
    bid.flags.writeable = False
    ask.flags.writeable = False
    return GlftDepthTable(q_max_lots, tau_s, bid, ask)
