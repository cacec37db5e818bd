"""Seeded mid-price processes for the synthetic market: ABM, GBM and GARCH(1,1).

Units: time in seconds; ``mu_per_s`` is a drift per second; ``sigma_per_sqrt_s`` is a volatility per
sqrt(second), in price units for ABM (the Avellaneda-Stoikov setting) and in log-return units for
GBM and GARCH. Mids are floats; rounding to ticks is the exchange's job.

Discretisation (each process holds its current mid; ``step(dt_s)`` advances it and returns the new
mid; ``path(n, dt_s)`` returns the next ``n`` mids, not including the current one):

- ABM, dS = mu dt + sigma dW: S' = S + mu*dt + sigma*sqrt(dt)*z. Exact; S may go negative.
- GBM, dS/S = mu dt + sigma dW: S' = S*exp((mu - sigma^2/2)*dt + sigma*sqrt(dt)*z). Exact (log-normal).
- GARCH(1,1) on per-step log-returns: r_t = sqrt(h_t)*z_t, h_{t+1} = omega + alpha*r_t^2 + beta*h_t,
  S' = S*exp(r_t), with h_1 = omega/(1 - alpha - beta), the unconditional variance. GARCH is defined
  per step of a fixed length ``dt_s`` (it does not aggregate over time), so ``step``/``path`` refuse
  any other dt.

z ~ N(0, 1) i.i.d. from ``numpy.random.Generator(PCG64(seed))``. ``path(n)`` consumes the same draws
as ``n`` calls to ``step``, so the two give identical mids for the same seed.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

SECONDS_PER_YEAR = 365.0 * 86_400.0  # crypto venues trade around the clock
PROCESS_KINDS = ("abm", "gbm", "garch")

FloatArray = npt.NDArray[np.float64]


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def _check_finite(**values: float) -> None:
    for name, value in values.items():
        _require(math.isfinite(value), f"{name} must be finite, got {value!r}")


def _check_dt(dt_s: float) -> None:
    _require(math.isfinite(dt_s) and dt_s > 0, f"dt_s must be a positive number of seconds, got {dt_s!r}")


def _check_steps(n_steps: int) -> None:
    _require(n_steps >= 0, f"n_steps must be >= 0, got {n_steps!r}")


@dataclass(frozen=True, slots=True)
class AbmParams:
    """Arithmetic Brownian motion: sigma in price units per sqrt(second), mu in price units per second."""

    s0: float
    sigma_per_sqrt_s: float
    mu_per_s: float = 0.0

    def __post_init__(self) -> None:
        _check_finite(s0=self.s0, sigma_per_sqrt_s=self.sigma_per_sqrt_s, mu_per_s=self.mu_per_s)
        _require(self.sigma_per_sqrt_s >= 0, f"sigma_per_sqrt_s must be >= 0, got {self.sigma_per_sqrt_s}")


@dataclass(frozen=True, slots=True)
class GbmParams:
    """Geometric Brownian motion: sigma of log-returns per sqrt(second), mu the drift of dS/S per second."""

    s0: float
    sigma_per_sqrt_s: float
    mu_per_s: float = 0.0

    def __post_init__(self) -> None:
        _check_finite(s0=self.s0, sigma_per_sqrt_s=self.sigma_per_sqrt_s, mu_per_s=self.mu_per_s)
        _require(self.s0 > 0, f"s0 must be > 0 for a geometric process, got {self.s0}")
        _require(self.sigma_per_sqrt_s >= 0, f"sigma_per_sqrt_s must be >= 0, got {self.sigma_per_sqrt_s}")


@dataclass(frozen=True, slots=True)
class GarchParams:
    """GARCH(1,1) on log-returns over steps of ``dt_s`` seconds; omega is a per-step variance."""

    s0: float
    omega: float
    alpha: float
    beta: float
    dt_s: float

    def __post_init__(self) -> None:
        _check_finite(s0=self.s0, omega=self.omega, alpha=self.alpha, beta=self.beta)
        _check_dt(self.dt_s)
        _require(self.s0 > 0, f"s0 must be > 0 for a geometric process, got {self.s0}")
        _require(self.omega > 0, f"omega must be > 0, got {self.omega}")
        _require(
            self.alpha >= 0 and self.beta >= 0, f"alpha, beta must be >= 0, got {self.alpha}, {self.beta}"
        )
        _require(
            self.alpha + self.beta < 1,
            f"alpha + beta must be < 1 for a finite unconditional variance, got {self.alpha + self.beta}",
        )

    @property
    def unconditional_variance(self) -> float:
        """Per-step variance of log-returns, omega / (1 - alpha - beta)."""
        return self.omega / (1.0 - self.alpha - self.beta)

    @classmethod
    def from_step_variance(
        cls, s0: float, variance_per_step: float, alpha: float, beta: float, dt_s: float
    ) -> GarchParams:
        """Parameters whose unconditional per-step log-return variance is ``variance_per_step``."""
        _require(variance_per_step > 0, f"variance_per_step must be > 0, got {variance_per_step}")
        _require(alpha + beta < 1, f"alpha + beta must be < 1, got {alpha + beta}")
        return cls(s0=s0, omega=variance_per_step * (1.0 - alpha - beta), alpha=alpha, beta=beta, dt_s=dt_s)

    @classmethod
    def from_annual_vol(
        cls, s0: float, vol_per_sqrt_year: float, alpha: float, beta: float, dt_s: float
    ) -> GarchParams:
        """Parameters with unconditional annualised volatility ``vol_per_sqrt_year`` (365-day year)."""
        _check_dt(dt_s)
        variance = vol_per_sqrt_year**2 * dt_s / SECONDS_PER_YEAR
        return cls.from_step_variance(s0, variance, alpha, beta, dt_s)


class PriceProcess(Protocol):
    """A seeded mid-price process; ``mid`` is the current mid."""

    @property
    def mid(self) -> float: ...

    def step(self, dt_s: float) -> float: ...

    def path(self, n_steps: int, dt_s: float) -> FloatArray: ...


class _Seeded(ABC):
    def __init__(self, s0: float, seed: int) -> None:
        _require(seed >= 0, f"seed must be a non-negative integer, got {seed!r}")
        self._rng = np.random.Generator(np.random.PCG64(seed))
        self._mid = float(s0)

    @property
    def mid(self) -> float:
        return self._mid

    def step(self, dt_s: float) -> float:
        return float(self.path(1, dt_s)[0])

    @abstractmethod
    def path(self, n_steps: int, dt_s: float) -> FloatArray: ...


class ArithmeticBrownian(_Seeded):
    """ABM mid (see module docstring)."""

    def __init__(self, params: AbmParams, seed: int) -> None:
        super().__init__(params.s0, seed)
        self.params = params

    def path(self, n_steps: int, dt_s: float) -> FloatArray:
        _check_dt(dt_s)
        _check_steps(n_steps)
        p = self.params
        dx = p.mu_per_s * dt_s + p.sigma_per_sqrt_s * math.sqrt(dt_s) * self._rng.standard_normal(n_steps)
        mids: FloatArray = self._mid + np.cumsum(dx)
        if n_steps:
            self._mid = float(mids[-1])
        return mids


class GeometricBrownian(_Seeded):
    """GBM mid, exact log-normal steps (see module docstring)."""

    def __init__(self, params: GbmParams, seed: int) -> None:
        super().__init__(params.s0, seed)
        self.params = params

    def path(self, n_steps: int, dt_s: float) -> FloatArray:
        _check_dt(dt_s)
        _check_steps(n_steps)
        p = self.params
        drift = (p.mu_per_s - 0.5 * p.sigma_per_sqrt_s**2) * dt_s
        log_ret = drift + p.sigma_per_sqrt_s * math.sqrt(dt_s) * self._rng.standard_normal(n_steps)
        mids: FloatArray = self._mid * np.exp(np.cumsum(log_ret))
        if n_steps:
            self._mid = float(mids[-1])
        return mids


class Garch(_Seeded):
    """GARCH(1,1) mid; ``h`` is the conditional variance of the next step's log-return."""

    def __init__(self, params: GarchParams, seed: int) -> None:
        super().__init__(params.s0, seed)
        self.params = params
        self.h = params.unconditional_variance

    def path(self, n_steps: int, dt_s: float) -> FloatArray:
        _check_dt(dt_s)
        _check_steps(n_steps)
        p = self.params
        _require(
            math.isclose(dt_s, p.dt_s, rel_tol=1e-9),
            f"GARCH parameters are per step of {p.dt_s} s; got dt_s={dt_s}",
        )
        z = self._rng.standard_normal(n_steps)
        log_ret = np.empty(n_steps)
        h, omega, alpha, beta = self.h, p.omega, p.alpha, p.beta
        # The recursion is sequential; a plain float loop is ~0.1 s per 200k steps.
        for i, zi in enumerate(z.tolist()):
            r = math.sqrt(h) * zi
            log_ret[i] = r
            h = omega + alpha * r * r + beta * h
        self.h = h
        mids: FloatArray = self._mid * np.exp(np.cumsum(log_ret))
        if n_steps:
            self._mid = float(mids[-1])
        return mids


def make_process(
    kind: str,
    *,
    s0: float,
    sigma_per_sqrt_s: float,
    seed: int,
    mu_per_s: float = 0.0,
    garch_alpha: float = 0.05,
    garch_beta: float = 0.9,
    dt_s: float = 1.0,
) -> ArithmeticBrownian | GeometricBrownian | Garch:
    """Build a process by name. For "garch", ``sigma_per_sqrt_s`` sets the unconditional log-return
    volatility (variance per step sigma^2*dt_s), ``dt_s`` fixes its step and ``mu_per_s`` must be 0."""
    if kind == "abm":
        return ArithmeticBrownian(AbmParams(s0, sigma_per_sqrt_s, mu_per_s), seed)
    if kind == "gbm":
        return GeometricBrownian(GbmParams(s0, sigma_per_sqrt_s, mu_per_s), seed)
    if kind == "garch":
        _require(mu_per_s == 0.0, "the GARCH process has no drift; mu_per_s must be 0")
        _check_dt(dt_s)
        variance = sigma_per_sqrt_s**2 * dt_s
        return Garch(GarchParams.from_step_variance(s0, variance, garch_alpha, garch_beta, dt_s), seed)
    raise ValueError(f"unknown price process kind {kind!r}; expected one of {', '.join(PROCESS_KINDS)}")
