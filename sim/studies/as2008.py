"""Avellaneda & Stoikov, "High-frequency trading in a limit order book" (Quantitative Finance 8(3),
2008), section 4: the inventory strategy against a symmetric one, by Monte Carlo.

Setup (the paper's): s0 = 100, T = 1, sigma = 2, dt = 0.005 (200 steps), q0 = 0, cash 0, A = 140,
k = 1.5. Time is in the paper's abstract units; sigma is in price units per sqrt(time unit).

One step from t_i = i*dt, i = 0..199, for every path at once:

1. Quote on the current mid s_i and inventory q_i.
   - inventory strategy: reservation price r = s_i - q_i*gamma*sigma^2*(T - t_i), total spread
     gamma*sigma^2*(T - t_i) + (2/gamma)*ln(1 + gamma/k), bid/ask at r -+ spread/2;
   - symmetric strategy: bid/ask at s_i -+ spread/2 with spread constant and equal to the inventory
     strategy's average spread, the exact mean of its (deterministic) spread over t_0..t_199.
2. Fills: each quote is hit for one unit with probability p = A*exp(-k*delta)*dt, delta being the
   quote's distance from s_i (delta = s_i - bid, ask - s_i); the two sides are independent and both
   may fill in one step. Fill prices are the quotes.
3. Then the mid moves: s_{i+1} = s_i +- sigma*sqrt(dt) with probability 1/2 each.

So fills happen before the move, at quotes set on the pre-move mid, and the inventory q_{i+1} carried
over a move is independent of that move. Terminal profit is cash + q*s at T. For the symmetric
strategy this makes E[profit] = steps * 2*p*(spread/2) exactly (the q*dS terms have zero mean).

Clipping: p is clipped to [0, 1]. It binds only when a quote is through the mid by more than
ln(1/(A*dt))/k = 0.24 (the inventory strategy's quotes are skewed by q*gamma*sigma^2*(T-t), e.g. for
gamma = 0.5 and |q| >= 1 early in the day); the result counts how often it bound.

Paired comparison: both strategies see the SAME mid path and the SAME uniforms. Per step one draw of
shape (3, paths): u_mid (up iff < 1/2), u_bid (bid filled iff < p_bid), u_ask (likewise). Results
are deterministic given (params, seed), but a path's draws depend on the number of paths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class StudyParams:
    """The study's inputs; the defaults besides gamma are the paper's section 4 values."""

    gamma: float
    paths: int = 1000
    seed: int = 0
    s0: float = 100.0
    t_end: float = 1.0
    sigma: float = 2.0
    dt: float = 0.005
    a: float = 140.0
    k: float = 1.5

    def __post_init__(self) -> None:
        positive = {"gamma": self.gamma, "t_end": self.t_end, "dt": self.dt, "a": self.a, "k": self.k}
        for name, value in positive.items():
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive finite number, got {value!r}")
        if not (math.isfinite(self.sigma) and self.sigma >= 0):
            raise ValueError(f"sigma must be >= 0, got {self.sigma!r}")
        if self.paths < 1:
            raise ValueError(f"paths must be >= 1, got {self.paths!r}")
        if self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if abs(self.steps * self.dt - self.t_end) > 1e-9 * self.t_end:
            raise ValueError(f"t_end / dt must be a whole number of steps, got {self.t_end} / {self.dt}")

    @property
    def steps(self) -> int:
        return max(1, round(self.t_end / self.dt))

    def time_to_end(self) -> FloatArray:
        """T - t_i for each step i = 0..steps-1 (last value dt)."""
        return self.t_end - self.dt * np.arange(self.steps, dtype=np.float64)

    def inventory_spreads(self) -> FloatArray:
        """The inventory strategy's total spread at each step; it depends on t only."""
        g = self.gamma
        return g * self.sigma**2 * self.time_to_end() + (2.0 / g) * math.log1p(g / self.k)

    def fill_probability(self, delta: FloatArray | float) -> FloatArray:
        """Per-step hit probability A*exp(-k*delta)*dt of a quote delta from the mid, clipped to [0, 1]."""
        raw = self.a * np.exp(-self.k * np.asarray(delta, dtype=np.float64)) * self.dt
        return np.clip(raw, 0.0, 1.0)


@dataclass(frozen=True, slots=True)
class StrategyStats:
    """Per-strategy summary over paths; std is the sample std (ddof=1)."""

    spread: float
    profit_mean: float
    profit_std: float
    q_mean: float
    q_std: float
    clipped_fraction: float  # share of (path, step, side) quotes whose fill probability was clipped

    def to_json(self) -> dict[str, float]:
        return {
            "spread": self.spread,
            "profit_mean": self.profit_mean,
            "profit_std": self.profit_std,
            "q_mean": self.q_mean,
            "q_std": self.q_std,
        }


@dataclass(frozen=True, slots=True)
class StudyResult:
    params: StudyParams
    inventory: StrategyStats
    symmetric: StrategyStats

    def to_json(self) -> dict[str, Any]:
        p = self.params
        return {
            "gamma": p.gamma,
            "paths": p.paths,
            "seed": p.seed,
            "inventory": self.inventory.to_json(),
            "symmetric": self.symmetric.to_json(),
        }


def _std(x: FloatArray) -> float:
    return float(x.std(ddof=1)) if x.size > 1 else 0.0


def run_study(params: StudyParams) -> StudyResult:
    """Simulate both strategies on common random numbers (see the module docstring)."""
    p = params
    n = p.paths
    rng = np.random.Generator(np.random.PCG64(p.seed))
    tau = p.time_to_end()
    spreads = p.inventory_spreads()
    sym_half = float(spreads.mean()) / 2.0
    sym_prob = float(p.fill_probability(sym_half))
    move = p.sigma * math.sqrt(p.dt)

    s = np.full(n, p.s0)
    q_inv = np.zeros(n)
    x_inv = np.zeros(n)
    q_sym = np.zeros(n)
    x_sym = np.zeros(n)
    clipped_inv = 0
    for i in range(p.steps):
        u_mid, u_bid, u_ask = rng.random((3, n))
        # Inventory strategy: quotes around the reservation price.
        r = s - q_inv * p.gamma * p.sigma**2 * tau[i]
        bid, ask = r - spreads[i] / 2.0, r + spreads[i] / 2.0
        raw_bid = p.a * np.exp(-p.k * (s - bid)) * p.dt
        raw_ask = p.a * np.exp(-p.k * (ask - s)) * p.dt
        clipped_inv += int(np.count_nonzero(raw_bid > 1.0) + np.count_nonzero(raw_ask > 1.0))
        hit_bid, hit_ask = u_bid < raw_bid, u_ask < raw_ask  # u < 1 always, so this is p clipped at 1
        q_inv += hit_bid.astype(np.float64) - hit_ask
        x_inv += np.where(hit_ask, ask, 0.0) - np.where(hit_bid, bid, 0.0)
        # Symmetric strategy: same mid, same uniforms, constant spread around the mid.
        sb, sa = u_bid < sym_prob, u_ask < sym_prob
        q_sym += sb.astype(np.float64) - sa
        x_sym += np.where(sa, s + sym_half, 0.0) - np.where(sb, s - sym_half, 0.0)
        # Then the mid moves.
        s = s + np.where(u_mid < 0.5, move, -move)

    quotes = 2 * n * p.steps
    sym_clipped = quotes if p.a * math.exp(-p.k * sym_half) * p.dt > 1.0 else 0

    def stats(spread: float, x: FloatArray, q: FloatArray, clipped: int) -> StrategyStats:
        profit = x + q * s
        return StrategyStats(
            spread=spread,
            profit_mean=float(profit.mean()),
            profit_std=_std(profit),
            q_mean=float(q.mean()),
            q_std=_std(q),
            clipped_fraction=clipped / quotes,
        )

    return StudyResult(
        params=p,
        inventory=stats(float(spreads.mean()), x_inv, q_inv, clipped_inv),
        symmetric=stats(2.0 * sym_half, x_sym, q_sym, sym_clipped),
    )


def format_table(result: StudyResult) -> str:
    """A human-readable table of both strategies, with the setup in a header."""
    p = result.params
    lines = [
        f"Avellaneda & Stoikov (2008) section 4: gamma={p.gamma:g}, {p.paths} paths, seed {p.seed}",
        f"s0={p.s0:g} T={p.t_end:g} sigma={p.sigma:g} dt={p.dt:g} ({p.steps} steps) A={p.a:g} k={p.k:g}",
        "",
        f"{'strategy':<10} {'spread':>7} {'profit':>8} {'std(profit)':>12} {'final q':>8} {'std(q)':>7}",
    ]
    for name, st in (("inventory", result.inventory), ("symmetric", result.symmetric)):
        lines.append(
            f"{name:<10} {st.spread:>7.2f} {st.profit_mean:>8.2f} {st.profit_std:>12.2f}"
            f" {st.q_mean:>8.2f} {st.q_std:>7.2f}"
        )
    for name, st in (("inventory", result.inventory), ("symmetric", result.symmetric)):
        if st.clipped_fraction > 0:
            lines.append(f"note: {name} fill probability clipped at 1 on {st.clipped_fraction:.2%} of quotes")
    return "\n".join(lines)
