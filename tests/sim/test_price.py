"""Tests for sim.price: determinism by seed, the discretisation's moments, and parameter checks."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from sim.price import (
    AbmParams,
    ArithmeticBrownian,
    Garch,
    GarchParams,
    GbmParams,
    GeometricBrownian,
    make_process,
)

N = 200_000


def _increments(s0: float, mids: np.ndarray) -> np.ndarray:
    return np.diff(np.concatenate([[s0], mids]))


def _log_returns(s0: float, mids: np.ndarray) -> np.ndarray:
    return np.diff(np.log(np.concatenate([[s0], mids])))


def _lag1_autocorr(x: np.ndarray) -> float:
    return float(np.corrcoef(x[:-1], x[1:])[0, 1])


@pytest.mark.parametrize("kind", ["abm", "gbm", "garch"])
def test_same_seed_same_path_and_different_seed_differs(kind: str) -> None:
    """A seed fixes the path exactly; another seed gives another path."""

    def path(seed: int) -> np.ndarray:
        return make_process(kind, s0=100.0, sigma_per_sqrt_s=0.01, seed=seed).path(1000, 1.0)

    np.testing.assert_array_equal(path(7), path(7))
    assert not np.array_equal(path(7), path(8))


@pytest.mark.parametrize("kind", ["abm", "gbm", "garch"])
def test_path_equals_repeated_steps(kind: str) -> None:
    """path(n) and n calls to step() consume the same draws and give the same mids."""
    a = make_process(kind, s0=100.0, sigma_per_sqrt_s=0.01, seed=3)
    b = make_process(kind, s0=100.0, sigma_per_sqrt_s=0.01, seed=3)
    first = a.path(50, 1.0)
    stepped = np.array([b.step(1.0) for _ in range(50)])
    np.testing.assert_allclose(first, stepped, rtol=1e-12)
    assert a.mid == pytest.approx(b.mid, rel=1e-12)
    # The state carries over: the next chunk continues from the last mid.
    assert a.path(10, 1.0)[0] == pytest.approx(b.step(1.0), rel=1e-12)


def test_abm_increments_have_mean_mu_dt_and_std_sigma_sqrt_dt() -> None:
    """ABM increments: std sigma*sqrt(dt) (not sigma*dt) and mean mu*dt, over 200k steps."""
    sigma, mu, dt = 2.0, 0.5, 0.25
    proc = ArithmeticBrownian(AbmParams(s0=100.0, sigma_per_sqrt_s=sigma, mu_per_s=mu), seed=11)
    dx = _increments(100.0, proc.path(N, dt))
    sd = sigma * math.sqrt(dt)
    assert dx.std() == pytest.approx(sd, rel=0.02)
    assert abs(dx.mean() - mu * dt) < 4 * sd / math.sqrt(N)
    assert abs(_lag1_autocorr(dx**2)) < 0.02  # i.i.d. increments: no volatility clustering


def test_gbm_log_returns_have_ito_drift_and_std_sigma_sqrt_dt() -> None:
    """GBM log-returns: std sigma*sqrt(dt), mean (mu - sigma^2/2)*dt; the Ito term is ~10 SE here."""
    sigma, mu, dt = 0.05, 0.0, 1.0
    proc = GeometricBrownian(GbmParams(s0=100.0, sigma_per_sqrt_s=sigma, mu_per_s=mu), seed=12)
    r = _log_returns(100.0, proc.path(N, dt))
    sd = sigma * math.sqrt(dt)
    assert r.std() == pytest.approx(sd, rel=0.02)
    assert abs(r.mean() - (mu - 0.5 * sigma**2) * dt) < 4 * sd / math.sqrt(N)


def test_gbm_dt_scaling() -> None:
    """Quartering dt halves the log-return std (sqrt scaling)."""
    proc = GeometricBrownian(GbmParams(s0=50.0, sigma_per_sqrt_s=0.02), seed=13)
    r = _log_returns(50.0, proc.path(N, 0.25))
    assert r.std() == pytest.approx(0.02 * 0.5, rel=0.02)


def test_garch_variance_and_volatility_clustering() -> None:
    """GARCH(1,1): sample variance near omega/(1-alpha-beta); squared returns positively autocorrelated
    near the theoretical lag-1 value alpha(1-alpha*beta-beta^2)/(1-2*alpha*beta-beta^2) ~ 0.179."""
    alpha, beta, var = 0.1, 0.85, 1e-6
    params = GarchParams.from_step_variance(s0=100.0, variance_per_step=var, alpha=alpha, beta=beta, dt_s=1.0)
    assert params.omega == pytest.approx(var * (1 - alpha - beta))
    r = _log_returns(100.0, Garch(params, seed=14).path(N, 1.0))
    assert r.var() == pytest.approx(var, rel=0.06)
    rho1 = alpha * (1 - alpha * beta - beta**2) / (1 - 2 * alpha * beta - beta**2)
    assert _lag1_autocorr(r**2) == pytest.approx(rho1, abs=0.05)
    assert abs(r.mean()) < 4 * math.sqrt(var / N)


def test_garch_from_annual_vol() -> None:
    """An annualised vol converts to a per-step variance over a 365-day year."""
    p = GarchParams.from_annual_vol(s0=1.0, vol_per_sqrt_year=0.8, alpha=0.05, beta=0.9, dt_s=60.0)
    assert p.unconditional_variance == pytest.approx(0.64 * 60.0 / (365 * 86_400))


def test_make_process_garch_sigma_is_per_sqrt_second() -> None:
    """make_process("garch") maps sigma_per_sqrt_s to a per-step variance sigma^2*dt_s."""
    proc = make_process("garch", s0=10.0, sigma_per_sqrt_s=0.01, seed=0, dt_s=4.0)
    assert isinstance(proc, Garch)
    assert proc.params.unconditional_variance == pytest.approx(0.01**2 * 4.0)
    with pytest.raises(ValueError, match=r"per step of 4\.0 s"):
        proc.step(1.0)


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: AbmParams(s0=100.0, sigma_per_sqrt_s=-1.0), "sigma_per_sqrt_s must be >= 0"),
        (lambda: AbmParams(s0=math.nan, sigma_per_sqrt_s=1.0), "s0 must be finite"),
        (lambda: GbmParams(s0=0.0, sigma_per_sqrt_s=0.1), "s0 must be > 0"),
        (lambda: GbmParams(s0=1.0, sigma_per_sqrt_s=0.1, mu_per_s=math.inf), "mu_per_s must be finite"),
        (lambda: GarchParams(s0=1.0, omega=0.0, alpha=0.1, beta=0.8, dt_s=1.0), "omega must be > 0"),
        (lambda: GarchParams(s0=1.0, omega=1e-6, alpha=-0.1, beta=0.8, dt_s=1.0), "alpha, beta must be >= 0"),
        (
            lambda: GarchParams(s0=1.0, omega=1e-6, alpha=0.2, beta=0.8, dt_s=1.0),
            r"alpha \+ beta must be < 1",
        ),
        (lambda: GarchParams(s0=1.0, omega=1e-6, alpha=0.1, beta=0.8, dt_s=0.0), "dt_s must be a positive"),
        (lambda: GarchParams.from_step_variance(1.0, -1.0, 0.1, 0.8, 1.0), "variance_per_step must be > 0"),
        (lambda: make_process("ou", s0=1.0, sigma_per_sqrt_s=0.1, seed=0), "unknown price process kind"),
        (lambda: make_process("abm", s0=1.0, sigma_per_sqrt_s=0.1, seed=-1), "seed must be"),
        (lambda: make_process("garch", s0=1.0, sigma_per_sqrt_s=0.1, seed=0, mu_per_s=0.1), "no drift"),
        (lambda: make_process("abm", s0=1.0, sigma_per_sqrt_s=0.1, seed=0).step(-1.0), "dt_s must be"),
        (lambda: make_process("gbm", s0=1.0, sigma_per_sqrt_s=0.1, seed=0).path(-1, 1.0), "n_steps"),
    ],
)
def test_invalid_parameters_raise(factory: Callable[[], object], match: str) -> None:
    """Bad parameters raise ValueError naming the problem."""
    with pytest.raises(ValueError, match=match):
        factory()
