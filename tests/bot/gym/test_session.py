"""The episode harness under the Gymnasium environment: the resumable driver decides as one run does,
the PnL splits into spread capture and mark to market exactly, and strategies trade the same market."""

from __future__ import annotations

from pathlib import Path

import pytest

from mm_bot.config import AppConfig, load_config
from mm_bot.engine.reasons import Reason
from mm_bot.gym.session import Session
from mm_bot.model import Side

ROOT = Path(__file__).resolve().parents[3]
S = 1_000_000_000


@pytest.fixture(scope="module")
def cfg() -> AppConfig:
    return load_config(ROOT / "config.yaml")


def test_a_run_split_into_intervals_decides_as_one_run(cfg: AppConfig) -> None:
    one = Session(cfg, strategy="as", seed=3)
    one.advance(one.start_ns + 120 * S)
    split = Session(cfg, strategy="as", seed=3)
    for k in range(1, 241):
        split.advance(split.start_ns + k * S // 2)
    assert one.trace().same_as(split.trace())
    assert one.core.ledger.fills == split.core.ledger.fills > 0


def test_seed_fixes_the_market(cfg: AppConfig) -> None:
    runs = [Session(cfg, strategy="as", seed=s) for s in (5, 5, 6)]
    for run in runs:
        run.advance(run.start_ns + 60 * S)
    a, b, c = (r.trace() for r in runs)
    assert a.same_as(b)
    assert not a.same_as(c)


def test_interval_pnl_is_spread_capture_plus_mark_to_market(cfg: AppConfig) -> None:
    session = Session(cfg, strategy="policy", seed=1)
    session.advance(session.start_ns + S)
    total = capture = 0.0
    fills = 0
    for k in range(2, 120):
        session.set_depths(300, 300)
        i = session.advance(session.start_ns + k * S)
        assert i.pnl == pytest.approx(i.spread_capture + i.inventory_pnl, abs=1e-12)
        total += i.pnl
        capture += i.spread_capture
        fills += i.fills
    assert fills == session.core.ledger.fills > 0
    assert total == pytest.approx(session.pnl(), abs=1e-9)
    assert capture != 0.0


def test_policy_quotes_nothing_until_given_depths(cfg: AppConfig) -> None:
    session = Session(cfg, strategy="policy", seed=2)
    session.advance(session.start_ns + 5 * S)
    assert session.core.gate(session.now_ns) is Reason.NO_POLICY
    assert session.core.stats.quotes_sent == 0
    session.set_depths(200, 200)
    session.advance(session.now_ns + S)
    assert session.core.stats.quotes_sent >= 2
    for side in Side:
        resting = session.resting(side)
        assert resting is not None and resting[1] >= 0


def test_baselines_refuse_outside_depths(cfg: AppConfig) -> None:
    with pytest.raises(RuntimeError, match="quotes by itself"):
        Session(cfg, strategy="glft", seed=0).set_depths(1, 1)
    with pytest.raises(ValueError, match="strategy must be one of"):
        Session(cfg, strategy="naive", seed=0)  # type: ignore[arg-type]


def test_a_strategy_kind_the_config_does_not_use_gets_its_defaults_as_a_file_would(tmp_path: Path) -> None:
    """config.yaml without ``fixed_half_spread_bps`` (kind as): the fixed baseline takes the default a
    file saying ``kind: fixed`` gets, and trades exactly as that file's config does."""
    text = (ROOT / "config.yaml").read_text()
    without = "\n".join(line for line in text.splitlines() if "fixed_half_spread_bps" not in line)
    (tmp_path / "as.yaml").write_text(without)
    (tmp_path / "fixed.yaml").write_text(without.replace("kind: as ", "kind: fixed ", 1))
    switched = Session(load_config(tmp_path / "as.yaml"), strategy="fixed", seed=2)
    loaded = load_config(tmp_path / "fixed.yaml")
    assert loaded.markets[0].strategy.kind == "fixed"
    as_file = Session(loaded, strategy="fixed", seed=2)
    for run in (switched, as_file):
        run.advance(run.start_ns + 60 * S)
    assert switched.core.params.quote.fixed_half_spread_bps == as_file.core.params.quote.fixed_half_spread_bps
    assert switched.trace().same_as(as_file.trace())
    assert switched.core.stats.quotes_sent > 0
