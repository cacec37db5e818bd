"""A-S formulas: hand-computed values (the paper's section 4 parameters) and monotonicity properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mm_bot.strategy.avellaneda_stoikov import (
    horizon_tau_s,
    inventory_risk_spread,
    liquidity_spread,
    optimal_quotes,
    optimal_spread,
    reservation_price,
)

# Avellaneda & Stoikov (2008) section 4: s = 100, sigma = 2, gamma = 0.1, k = 1.5, T - t = 1.
S, SIGMA, GAMMA, K, TAU = 100.0, 2.0, 0.1, 1.5, 1.0


def test_reservation_price_by_hand() -> None:
    """r = 100 - 2 * 0.1 * 2^2 * 1 = 99.2 for two lots long; short inventory moves r up."""
    assert reservation_price(S, 2.0, GAMMA, SIGMA, TAU) == pytest.approx(99.2, abs=1e-12)
    assert reservation_price(S, -3.0, GAMMA, SIGMA, TAU) == pytest.approx(101.2, abs=1e-12)
    assert reservation_price(S, 0.0, GAMMA, SIGMA, TAU) == S


def test_optimal_spread_by_hand() -> None:
    """spread = 0.1*4*1 + (2/0.1)*ln(16/15) = 0.4 + 20*0.0645385211... = 1.6907704227514..."""
    assert inventory_risk_spread(GAMMA, SIGMA, TAU) == pytest.approx(0.4, abs=1e-12)
    assert liquidity_spread(GAMMA, K) == pytest.approx(20.0 * 0.06453852113757116, rel=1e-14)
    assert optimal_spread(GAMMA, SIGMA, TAU, K) == pytest.approx(1.6907704227514232, rel=1e-14)


def test_optimal_quotes_by_hand() -> None:
    """Two lots long: bid = 99.2 - 0.84538521 = 98.35461479, ask = 99.2 + 0.84538521 = 100.04538521."""
    bid, ask = optimal_quotes(S, 2.0, GAMMA, SIGMA, TAU, K)
    assert bid == pytest.approx(98.35461478862429, rel=1e-14)
    assert ask == pytest.approx(100.04538521137572, rel=1e-14)


def test_zero_horizon_has_no_skew() -> None:
    """At tau = 0 (end of a finite horizon) quotes are mid -+ (1/gamma) ln(1 + gamma/k), inventory ignored."""
    bid, ask = optimal_quotes(S, 7.0, GAMMA, SIGMA, 0.0, K)
    half = math.log(1.0 + GAMMA / K) / GAMMA
    assert (bid, ask) == pytest.approx((S - half, S + half), rel=1e-15)


def test_small_gamma_limit_is_two_over_k() -> None:
    """As gamma -> 0 the liquidity spread tends to 2/k (the risk-neutral spread)."""
    assert liquidity_spread(1e-9, K) == pytest.approx(2.0 / K, rel=1e-8)


def test_horizon_tau_is_clipped_at_zero() -> None:
    """Finite-horizon tau = max(T - t, 0)."""
    assert horizon_tau_s(10.0, 70.0) == 60.0
    assert horizon_tau_s(80.0, 70.0) == 0.0


pos = st.floats(1e-4, 1e3, allow_nan=False)


@given(q1=st.floats(-100, 100), dq=st.floats(0, 100), gamma=pos, sigma=pos, tau=st.floats(0, 1e4), k=pos)
def test_more_inventory_never_raises_quotes(
    q1: float, dq: float, gamma: float, sigma: float, tau: float, k: float
) -> None:
    """More long inventory never raises the bid or the ask (exact in floats: every op is monotone)."""
    b1, a1 = optimal_quotes(S, q1, gamma, sigma, tau, k)
    b2, a2 = optimal_quotes(S, q1 + dq, gamma, sigma, tau, k)
    assert b2 <= b1
    assert a2 <= a1


@given(gamma=pos, sigma=pos, tau=st.floats(0, 1e4), dtau=st.floats(0, 1e4), k=pos)
def test_spread_positive_and_grows_with_horizon(
    gamma: float, sigma: float, tau: float, dtau: float, k: float
) -> None:
    """The total spread is positive and non-decreasing in the time to go."""
    s1 = optimal_spread(gamma, sigma, tau, k)
    assert s1 > 0.0
    assert optimal_spread(gamma, sigma, tau + dtau, k) >= s1
