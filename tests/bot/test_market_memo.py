"""Skipping re-decisions when no input changed is exact: on a long simulated stream (books, trades,
acks, fills, cancels, lockouts, order ages) the core with the shortcut sends the same commands and
counts the same reasons as the core that recomputes every time."""

from __future__ import annotations

from pathlib import Path

import pytest

from mm_bot.config import load_config
from mm_bot.engine.market import MarketCore
from mm_bot.engine.orders import ClientOrderIds
from mm_bot.virtual import run_virtual
from mm_bot.wiring import market_params, sim_exchange

ROOT = Path(__file__).resolve().parents[2]
START = 1_700_000_000 * 1_000_000_000


def drive(memoize: bool, seconds: float, seed: int) -> tuple[list[str], dict[str, int]]:
    cfg = load_config(ROOT / "config.yaml", environ={"MM_BOT__paper__synthetic__seed": str(seed)})
    mcfg = cfg.markets[0]
    exchange = sim_exchange(cfg, mcfg, START)
    core = MarketCore(market_params(mcfg), ClientOrderIds("t"), START)
    core.memoize = memoize
    sent = [repr(c) for c in run_virtual(core, exchange, START + int(seconds * 1e9))]
    return sent, dict(core.stats.decision_reasons)


@pytest.mark.parametrize("seed", [1, 2])
def test_memoized_decisions_equal_recomputed_ones(seed: int) -> None:
    """Same commands, same reason counts, with and without the shortcut (and the stream is busy)."""
    with_memo = drive(True, 120.0, seed)
    without = drive(False, 120.0, seed)
    assert len(with_memo[0]) > 100  # orders were really placed, replaced and cancelled
    assert with_memo == without
