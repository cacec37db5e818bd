"""The A-S vs naive vs RL comparison: every strategy on the same seeds of the same synthetic market.

A run is one ``Session`` of ``duration_s`` on market seed ``s``, advanced ``step_s`` at a time:

- ``as``, ``glft``, ``fixed``: the core's own strategy of that kind (the config's parameters);
- ``random``: strategy "policy", each interval's depths drawn uniformly from the environment's action
  space (seeded with ``s``);
- ``trained``: strategy "policy", the depths a trained policy (``rl.TrainedPolicy``) picks from the
  environment's observation.

The two policies act through ``MarketMakingEnv`` itself, so they see what an agent sees and quote
through the same pipeline. Each run's figures are ``mm_bot.backtest.metrics.run_metrics`` of its
trace; ``summarize`` gives per strategy the mean over seeds with a 95% confidence interval (Student's
t, ``mean ± t · sd / sqrt(n)``). Same seeds and arguments, same table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from mm_bot.backtest.plots import envelope
from mm_bot.config import AppConfig
from mm_bot.gym.env import MarketMakingEnv
from mm_bot.gym.session import Session

__all__ = ["BASELINES", "METRICS", "Run", "StrategyRow", "run_all", "run_one", "summarize"]

BASELINES = ("as", "glft", "fixed", "random")
METRICS = (  # (key in run_metrics, label)
    ("pnl_quote", "PnL"),
    ("sharpe", "Sharpe"),
    ("max_drawdown_quote", "max drawdown"),
    ("inventory_std_base", "inventory std"),
    ("fills", "fills"),
    ("fill_rate", "fill rate"),
    ("mean_spread_bps", "mean spread bps"),
    ("pnl_per_trade_quote", "PnL per trade"),
)
CURVE_COLUMNS = 150
Policy = Callable[[npt.NDArray[np.float32]], npt.NDArray[np.float32]]  # observation -> action (ticks)


@dataclass(frozen=True, slots=True)
class Run:
    strategy: str
    seed: int
    metrics: dict[str, Any]
    curve_t_s: list[float] = field(default_factory=list)
    curve_pnl: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StrategyRow:
    """One strategy over the seeds: per metric (mean, ci95 half-width, n) of the seeds that have it."""

    strategy: str
    seeds: int
    figures: dict[str, tuple[float | None, float | None, int]]

    def to_json(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "seeds": self.seeds,
            **{k: {"mean": m, "ci95": c, "n": n} for k, (m, c, n) in self.figures.items()},
        }


def run_one(
    cfg: AppConfig,
    strategy: str,
    seed: int,
    *,
    duration_s: float,
    step_s: float,
    env_kwargs: Mapping[str, Any] | None = None,
    policy: Policy | None = None,
) -> Run:
    """One strategy on market seed ``seed``; ``policy`` for ``trained``."""
    steps = max(1, round(duration_s / step_s))
    if strategy in ("as", "glft", "fixed"):
        session = Session(cfg, strategy=strategy, seed=seed)  # type: ignore[arg-type]
        step_ns = round(step_s * 1e9)
        for k in range(1, steps + 1):
            session.advance(session.start_ns + k * step_ns)
    elif strategy in ("random", "trained"):
        env = MarketMakingEnv(cfg, **{**(env_kwargs or {}), "duration_s": duration_s, "step_s": step_s})
        env.action_space.seed(seed)
        if strategy == "random":
            policy = lambda _obs: env.action_space.sample()  # noqa: E731 - the seeded space's draws
        elif policy is None:
            raise ValueError("the trained strategy needs a policy")
        obs, _ = env.reset(seed=seed, options={"market_seed": seed})
        done = False
        while not done:
            obs, _, done, _, _ = env.step(policy(obs))
        assert env.session is not None
        session = env.session
    else:
        raise ValueError(f"unknown strategy {strategy!r}")
    trace = session.trace()
    t, pnl = envelope((trace.ts_ns - trace.start_ns) / 1e9, trace.pnl_quote, CURVE_COLUMNS)
    return Run(strategy, seed, session.metrics(), t.tolist(), [float(v) for v in pnl.tolist()])


def run_all(
    cfg: AppConfig,
    strategies: Sequence[str],
    seeds: Sequence[int],
    *,
    duration_s: float,
    step_s: float,
    env_kwargs: Mapping[str, Any] | None = None,
    policy: Policy | None = None,
    progress: Callable[[Run], None] | None = None,
) -> list[Run]:
    runs = []
    for seed in seeds:
        for strategy in strategies:
            run = run_one(
                cfg,
                strategy,
                seed,
                duration_s=duration_s,
                step_s=step_s,
                env_kwargs=env_kwargs,
                policy=policy,
            )
            runs.append(run)
            if progress is not None:
                progress(run)
    return runs


def summarize(runs: Sequence[Run]) -> list[StrategyRow]:
    """Per strategy, in the order first run: mean and 95% CI of every metric over its seeds."""
    rows = []
    for strategy in dict.fromkeys(r.strategy for r in runs):
        mine = [r for r in runs if r.strategy == strategy]
        figures = {}
        for key, _ in METRICS:
            values = [float(r.metrics[key]) for r in mine if r.metrics.get(key) is not None]
            figures[key] = mean_ci(values)
        rows.append(StrategyRow(strategy, len(mine), figures))
    return rows


def mean_ci(values: Sequence[float]) -> tuple[float | None, float | None, int]:
    """(mean, 95% CI half-width by Student's t, n); the half-width is None below two values."""
    n = len(values)
    if n == 0:
        return None, None, 0
    mean = float(np.mean(values))
    if n < 2:
        return mean, None, 1
    sd = float(np.std(values, ddof=1))
    return mean, t975(n - 1) * sd / math.sqrt(n), n


# Student's t 97.5% quantiles for 1..30 degrees of freedom; beyond, the normal's 1.96 is within 2%.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t975(df: int) -> float:
    return _T975[df - 1] if df <= len(_T975) else 1.96


def table(rows: Sequence[StrategyRow]) -> str:
    """The comparison as aligned text: mean ± CI half-width per metric."""
    head = ["strategy", "seeds", *(label for _, label in METRICS)]
    body = [[r.strategy, str(r.seeds), *(_cell(r.figures[key]) for key, _ in METRICS)] for r in rows]
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
    lines = [
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        for row in [head, *body]
    ]
    return "\n".join(lines)


def _cell(figure: tuple[float | None, float | None, int]) -> str:
    mean, ci, _ = figure
    if mean is None:
        return "-"
    return f"{mean:.4g}" if ci is None else f"{mean:.4g} ± {ci:.2g}"
