"""One sweep task, as a Ray worker runs it: one point's config over one data file, exactly as
``mm-bot backtest --data FILE`` runs it (``run_backtest``, then ``backtest_cli.run_summary``), plus
its PnL curve thinned for the report. Nothing here knows of Ray, so the same function runs in one
process (``bench/sweep_bench.py``'s serial baseline, the tests' reference runs).

A ``ConfigError`` (the data is of another symbol, tick or lot than the point's market) is this
task's result, recorded as failed: running it again cannot help. Any other exception propagates, so
Ray retries the task and, once its retries are spent, it is recorded as failed with that error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mm_bot.backtest.plots import envelope
from mm_bot.backtest.replay import run_backtest
from mm_bot.backtest_cli import latency_for, run_summary
from mm_bot.config import AppConfig
from mm_bot.errors import ConfigError
from sim.data import Recording

__all__ = ["CURVE_COLUMNS", "RunOptions", "TaskResult", "run_task"]

CURVE_COLUMNS = 200  # the PnL curve keeps each column's min and max: at most 400 points


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What every task of a sweep shares: ``mm-bot backtest``'s ``--market``, ``--queue`` and
    ``--latency-ms``."""

    market: int = 0
    queue: str = "conservative"
    latency_ms: float | None = None


@dataclass(frozen=True, slots=True)
class TaskResult:
    """``summary``: the run's ``--summary-json`` object, or None with ``error`` set.
    ``curve_t_s`` / ``curve_pnl_quote``: seconds since the data's start and PnL (None for no mid)."""

    summary: dict[str, Any] | None
    error: str | None = None
    curve_t_s: list[float] = field(default_factory=list)
    curve_pnl_quote: list[float | None] = field(default_factory=list)


def run_task(recording: Recording, cfg: AppConfig, options: RunOptions) -> TaskResult:
    latency = latency_for(cfg, options.latency_ms)
    try:
        result = run_backtest(recording, cfg, market=options.market, queue=options.queue, latency=latency)
    except ConfigError as exc:
        return TaskResult(None, "; ".join(f"{where}: {why}" for where, why in exc.problems))
    trace = result.trace
    t, pnl = envelope((trace.ts_ns - trace.start_ns) / 1e9, trace.pnl_quote, CURVE_COLUMNS)
    curve = [float(v) if np.isfinite(v) else None for v in pnl.tolist()]
    return TaskResult(run_summary(recording, result), None, [float(v) for v in t.tolist()], curve)
