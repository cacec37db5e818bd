"""GLFT: hand-computed asymptotic coefficients, the paper's formulas, and the exact ODE solution
(closed form for Q = 1, symmetry, monotonicity, convergence to the asymptotic quotes)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mm_bot.strategy import glft
from mm_bot.strategy.glft import (
    exact_depth_table,
    exact_weights,
    glft_coefficients,
    glft_depths,
    glft_half_spread_and_skew,
    gueant_2013_asymptotic_depths,
    ode_matrix,
)

GAMMA, K, A, SIGMA = 0.1, 1.5, 140.0, 2.0


def _alpha_eta(gamma: float, sigma: float, a: float, k: float) -> tuple[float, float]:
    return k * gamma * sigma**2 / 2.0, a * (1.0 + gamma / k) ** (-(1.0 + k / gamma))


def test_coefficients_by_hand() -> None:
    """c1 = 10 ln(16/15) = 0.64538521; c2 = sqrt(0.1/420 * (16/15)^16) = sqrt(2.3809524e-4 * 2.8084040)."""
    c1, c2 = glft_coefficients(GAMMA, A, K)
    assert c1 == pytest.approx(0.6453852113757116, rel=1e-14)
    assert c2 == pytest.approx(math.sqrt(0.0002380952380952381 * 2.8084039655764466), rel=1e-13)
    assert c2 == pytest.approx(0.025858608060982998, rel=1e-13)
    half, skew = glft_half_spread_and_skew(SIGMA, c1, c2)
    assert half == pytest.approx(0.6712438194366945, rel=1e-13)
    assert skew == pytest.approx(0.051717216121965996, rel=1e-13)


def test_signs_long_inventory_widens_bid_tightens_ask() -> None:
    """Three lots long: bid depth = half + 3*skew, ask depth = half - 3*skew."""
    bid, ask = glft_depths(3.0, SIGMA, GAMMA, A, K)
    assert bid == pytest.approx(0.6712438194366945 + 3 * 0.051717216121965996, rel=1e-13)
    assert ask == pytest.approx(0.6712438194366945 - 3 * 0.051717216121965996, rel=1e-13)
    flat_bid, flat_ask = glft_depths(0.0, SIGMA, GAMMA, A, K)
    assert bid > flat_bid
    assert ask < flat_ask


pos = st.floats(1e-3, 1e2)


@given(q=st.floats(-50, 50), gamma=pos, sigma=pos, a=pos, k=pos)
def test_c1_c2_form_is_the_papers_formula_for_unit_lot(
    q: float, gamma: float, sigma: float, a: float, k: float
) -> None:
    """For Delta = 1 and xi = gamma, half_spread -+ skew*q equals the paper's delta_b(q), delta_a(q)."""
    ours = glft_depths(q, sigma, gamma, a, k)
    paper = gueant_2013_asymptotic_depths(q, gamma, sigma, a, k)
    scale = abs(paper[0]) + abs(paper[1]) + 1e-12
    assert ours[0] == pytest.approx(paper[0], abs=1e-11 * scale)
    assert ours[1] == pytest.approx(paper[1], abs=1e-11 * scale)


def test_exact_at_terminal_time_has_no_skew() -> None:
    """At tau = 0, w = 1: every quotable depth is (1/gamma) ln(1 + gamma/k), and none at the bounds."""
    t = exact_depth_table(4, GAMMA, SIGMA, A, K, 0.0)
    base = math.log(1.0 + GAMMA / K) / GAMMA
    assert np.allclose(t.bid_depth[:-1], base, rtol=1e-12)
    assert np.allclose(t.ask_depth[1:], base, rtol=1e-12)
    assert t.bid_depth[-1] == math.inf
    assert t.ask_depth[0] == math.inf


@pytest.mark.parametrize("tau", [0.01, 0.3, 2.0, 50.0])
def test_exact_q1_matches_closed_form(tau: float) -> None:
    """Q = 1 by hand: w = (x, y, x), d/dtau (x, y) = K (x, y) with K = [[-alpha, eta], [2 eta, 0]],
    (x, y)(0) = (1, 1), so exp(K tau) = e^{-alpha tau/2} [cosh(d tau) I + sinh(d tau)/d (K + alpha/2 I)]
    with d = sqrt(alpha^2/4 + 2 eta^2) (the common factor cancels in the ratios).
    Then delta_b(0) = delta_a(0) = (1/k) ln(y/x) + base and delta_b(-1) = delta_a(1) = (1/k) ln(x/y) + base.
    """
    gamma, sigma, a, k = 0.5, 1.0, 2.0, 1.0
    alpha, eta = _alpha_eta(gamma, sigma, a, k)
    d = math.sqrt(alpha**2 / 4.0 + 2.0 * eta**2)
    ch, sh = math.cosh(d * tau), math.sinh(d * tau) / d
    x = ch + sh * (-alpha / 2.0 + eta)  # first row of the bracket applied to (1, 1)
    y = ch + sh * (2.0 * eta + alpha / 2.0)
    base = math.log(1.0 + gamma / k) / gamma
    t = exact_depth_table(1, gamma, sigma, a, k, tau)
    assert t.bid_depth[1] == pytest.approx(math.log(y / x) / k + base, rel=1e-12)
    assert t.ask_depth[1] == pytest.approx(math.log(y / x) / k + base, rel=1e-12)
    assert t.bid_depth[0] == pytest.approx(math.log(x / y) / k + base, rel=1e-12)
    assert t.ask_depth[2] == pytest.approx(math.log(x / y) / k + base, rel=1e-12)


def test_exact_q1_long_horizon_is_the_ground_state() -> None:
    """tau -> inf: y/x -> (alpha + sqrt(alpha^2 + 8 eta^2)) / (2 eta), the 2x2 system's top eigenvector."""
    gamma, sigma, a, k = 0.5, 1.0, 2.0, 1.0
    alpha, eta = _alpha_eta(gamma, sigma, a, k)
    ratio = (alpha + math.sqrt(alpha**2 + 8.0 * eta**2)) / (2.0 * eta)
    t = exact_depth_table(1, gamma, sigma, a, k, 1e4)
    assert t.bid_depth[1] == pytest.approx(math.log(ratio) / k + math.log(1 + gamma / k) / gamma, rel=1e-12)


def test_ode_matrix_signs() -> None:
    """M has alpha*q^2 on the diagonal and -eta off it (dw/dt = M w, w(t) = exp(-M (T-t)) w(T))."""
    m = ode_matrix(2, GAMMA, SIGMA, A, K)
    alpha, eta = _alpha_eta(GAMMA, SIGMA, A, K)
    assert np.allclose(np.diag(m), alpha * np.array([4.0, 1.0, 0.0, 1.0, 4.0]))
    assert np.allclose(np.diag(m, 1), -eta)
    assert np.allclose(m, m.T)
    assert m[0, 2] == 0.0


@settings(max_examples=60, deadline=None)
@given(
    gamma=st.floats(1e-3, 1.0),
    sigma=st.floats(1e-2, 5.0),
    a=st.floats(0.1, 100.0),
    k=st.floats(0.1, 10.0),
    tau=st.floats(0.0, 1e4),
    q_max=st.integers(1, 25),
    penalty=st.sampled_from([0.0, 0.01, 1.0]),
)
def test_exact_symmetric_and_monotone(
    gamma: float, sigma: float, a: float, k: float, tau: float, q_max: int, penalty: float
) -> None:
    """delta_b(q) = delta_a(-q); delta_b non-decreasing and delta_a non-increasing in q; all finite.

    Domain: w must fit float64's range; we keep the terminal penalty's span of ln w, k*b*Q^2, and the
    Gaussian estimate of the ground state's, sqrt(alpha/eta)*Q^2/2 (an overestimate), below 600.
    """
    alpha, eta = _alpha_eta(gamma, sigma, a, k)
    assume(k * penalty * q_max**2 < 600.0 and math.sqrt(alpha / eta) * q_max**2 / 2.0 < 600.0)
    t = exact_depth_table(q_max, gamma, sigma, a, k, tau, penalty)
    bid, ask = t.bid_depth[:-1], t.ask_depth[1:]
    assert np.all(np.isfinite(bid))
    assert np.all(np.isfinite(ask))
    scale = 1e-9 * (1.0 + np.max(np.abs(bid)))
    assert np.allclose(t.bid_depth[:-1], t.ask_depth[::-1][:-1], rtol=0.0, atol=scale)
    assert np.all(np.diff(bid) >= -scale)
    assert np.all(np.diff(ask) <= scale)


@pytest.mark.parametrize("a", [10.0, 100.0, 1000.0])
def test_exact_converges_to_asymptotic(a: float) -> None:
    """Long horizon, |q| <= 5 << Q = 60: exact and asymptotic depths agree up to the discreteness error.

    The asymptotic skew is the continuum (Gaussian, w_q ~ exp(-beta q^2/2), beta = sqrt(alpha/eta))
    approximation of the ground state of M; the discrete ground state's log-ratio differs from it by a
    relative O(beta) (about 0.19*beta measured), so we allow 0.25 * beta * |2q+1|/2 * skew and check that
    the error shrinks as beta -> 0 (here beta = 0.052, 0.017, 0.0052).
    """
    gamma, sigma, k, q_max = 0.01, 2.0, 0.5, 60
    alpha, eta = _alpha_eta(gamma, sigma, a, k)
    beta = math.sqrt(alpha / eta)
    t = exact_depth_table(q_max, gamma, sigma, a, k, 1e6)
    _, skew = glft_half_spread_and_skew(sigma, *glft_coefficients(gamma, a, k))
    for q in range(-5, 6):
        bid, ask = glft_depths(float(q), sigma, gamma, a, k)
        tol = 0.25 * beta * abs(2 * q + 1) / 2.0 * skew + 1e-12
        assert abs(t.bid_depth[q_max + q] - bid) <= tol
        tol_a = 0.25 * beta * abs(2 * q - 1) / 2.0 * skew + 1e-12
        assert abs(t.ask_depth[q_max + q] - ask) <= tol_a


def test_positive_series_agrees_with_eigh_where_both_are_accurate() -> None:
    """The fallback (non-negative series) and eigh give the same weights on a well-conditioned case."""
    m = ode_matrix(5, GAMMA, SIGMA, A, K)
    w_end = np.ones(11)
    for tau in (0.0, 0.1, 1.0, 10.0):
        a = glft._weights_eigh(m, w_end, tau)
        b = glft._weights_positive_series(m, w_end, tau)
        assert np.allclose(np.log(a / a.max()), np.log(b / b.max()), atol=1e-12)


def test_tails_stay_accurate_when_weights_span_many_decades() -> None:
    """When w spans ~1e-13..1 (eigh cannot resolve the tail), w is still the ground state to ~1e-12.

    Long horizon: w is proportional to M's lowest eigenvector, so (M w)_q / w_q = lambda_0 for EVERY q,
    including the tiny tail entries; eigh alone misses this by ~1e-5 in log at q = Q.
    """
    gamma, sigma, a, k, q_max = 0.01, 2.0, 1.0, 0.5, 20
    w = exact_weights(q_max, gamma, sigma, a, k, 1e4)
    assert w.min() < 1e-12
    m = ode_matrix(q_max, gamma, sigma, a, k)
    lam0 = np.linalg.eigvalsh(m)[0]
    assert np.allclose((m @ w) / w, lam0, rtol=0.0, atol=1e-9 * np.abs(m).max())


def test_table_lookup_interpolates_and_clamps() -> None:
    """depths_at interpolates linearly and clamps each side to its quotable range (finite everywhere)."""
    t = exact_depth_table(3, GAMMA, SIGMA, A, K, 5.0)
    assert t.depths_at(1.0) == (t.bid_depth[4], t.ask_depth[4])
    mid_bid, mid_ask = t.depths_at(1.5)
    assert mid_bid == pytest.approx((t.bid_depth[4] + t.bid_depth[5]) / 2.0)
    assert mid_ask == pytest.approx((t.ask_depth[4] + t.ask_depth[5]) / 2.0)
    assert t.depths_at(3.0) == (t.bid_depth[5], t.ask_depth[6])  # bid clamped to q = Q - 1
    assert t.depths_at(-9.0) == (t.bid_depth[0], t.ask_depth[1])  # ask clamped to q = 1 - Q
    with pytest.raises(ValueError, match="read-only"):
        t.bid_depth[0] = 0.0


def test_out_of_float_range_raises_instead_of_returning_garbage() -> None:
    """A ground state spanning ~e^-1200 (eta/alpha ~ 0.006, Q = 100) cannot be tabulated: ValueError."""
    with pytest.raises(ValueError, match="underflow"):
        exact_depth_table(100, 1.0, 5.0, 0.1, 0.1, 1e4)


def test_terminal_penalty_at_tau_zero_is_exact_in_log_space() -> None:
    """At tau = 0 the depths are the penalty's: delta_b(q) = b*((q+1)^2 - q^2) + base, even past e^-700."""
    k, b, q_max = 4.0, 1.0, 20
    t = exact_depth_table(q_max, GAMMA, SIGMA, A, k, 0.0, b)
    base = math.log1p(GAMMA / k) / GAMMA
    for q in (-20, -3, 0, 5, 19):
        assert t.bid_depth[q_max + q] == pytest.approx(b * ((q + 1) ** 2 - q**2) + base, rel=1e-12, abs=1e-12)


def test_invalid_arguments_raise() -> None:
    """Q < 1 and negative tau are programming errors."""
    with pytest.raises(ValueError, match="q_max_lots"):
        ode_matrix(0, GAMMA, SIGMA, A, K)
    with pytest.raises(ValueError, match="tau_s"):
        exact_weights(2, GAMMA, SIGMA, A, K, -1.0)
