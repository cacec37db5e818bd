"""``mm-bot study compare``: every strategy on the same seeds, the figures with confidence intervals,
the same table for the same arguments, and its HTML report in a real headless Chromium."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import numpy as np
import pytest

from mm_bot.cli import main
from mm_bot.config import AppConfig, load_config
from mm_bot.study.compare import BASELINES, mean_ci, run_all, run_one, summarize, table
from mm_bot.study.report import write_report
from tests.bot.backtest.test_report_browser import artifact_dir, browser, load  # noqa: F401 - a fixture

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def cfg() -> AppConfig:
    return load_config(ROOT / "config.yaml")


def test_mean_and_confidence_interval() -> None:
    mean, ci, n = mean_ci([1.0, 2.0, 3.0])
    assert (mean, n) == (2.0, 3)
    assert ci == pytest.approx(4.303 / math.sqrt(3))  # t(0.975, 2) * sd 1 / sqrt(3)
    assert mean_ci([5.0]) == (5.0, None, 1)
    assert mean_ci([]) == (None, None, 0)
    many = mean_ci([float(v) for v in range(40)])
    assert many[1] == pytest.approx(1.96 * np.std(range(40), ddof=1) / math.sqrt(40))


def test_every_strategy_on_the_same_seeds_same_table(cfg: AppConfig) -> None:
    args = {"duration_s": 40.0, "step_s": 1.0}
    runs = run_all(cfg, BASELINES, [1, 2], **args)
    again = run_all(cfg, BASELINES, [1, 2], **args)
    assert [(r.strategy, r.seed, r.metrics) for r in runs] == [(r.strategy, r.seed, r.metrics) for r in again]
    rows = summarize(runs)
    assert [r.strategy for r in rows] == list(BASELINES)
    for row in rows:
        assert row.seeds == 2
        mean, ci, n = row.figures["fills"]
        assert n == 2 and mean is not None and mean > 0 and ci is not None
    by = {(r.strategy, r.seed): r.metrics for r in runs}
    assert by[("as", 1)] != by[("glft", 1)]  # the strategies quote differently on one market
    assert by[("as", 1)] != by[("as", 2)]  # and the seeds are different markets
    text = table(rows)
    assert all(name in text for name in BASELINES) and "±" in text


def test_a_trained_policy_acts_on_every_step(cfg: AppConfig) -> None:
    seen: list[np.ndarray] = []

    def policy(obs: np.ndarray) -> np.ndarray:
        seen.append(obs)
        return np.array([250.0, 250.0], np.float32)

    run = run_one(cfg, "trained", 3, duration_s=20.0, step_s=1.0, policy=policy)
    assert len(seen) == 19  # reset runs the first interval; one action per interval after it
    assert run.metrics["fills"] >= 0 and run.metrics["quotes_sent"] > 0
    with pytest.raises(ValueError, match="needs a policy"):
        run_one(cfg, "trained", 3, duration_s=5.0, step_s=1.0)


def test_cli_prints_json_and_writes_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "study"
    code = main(
        ["study", "compare", "--seeds", "2", "--duration", "20", "--json", "--report", str(out), "--config",
         str(ROOT / "config.yaml")]
    )  # fmt: skip
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert [s["strategy"] for s in result["strategies"]] == list(BASELINES)
    assert result["seeds"] == [1000, 1001] and len(result["runs"]) == 8
    assert json.loads((out / "study.json").read_text()) == result
    html = (out / "index.html").read_text()
    assert html.count('<figure class="plot"') == 5 and "Comparison" in html


def test_cli_refuses_bad_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["study", "compare", "--seeds", "0"]) == 2
    assert "--seeds" in capsys.readouterr().err
    assert main(["study", "compare", "--seeds", "1", "--policy", str(tmp_path / "missing")]) == 2
    assert "--policy" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("markets: 3\n")
    assert main(["study", "compare", "--config", str(bad)]) == 2
    assert "markets" in capsys.readouterr().err


def test_study_report_renders_in_chromium(browser: str, cfg: AppConfig, tmp_path: Path) -> None:  # noqa: F811
    runs = run_all(cfg, BASELINES, [1, 2], duration_s=30.0, step_s=1.0)
    out = artifact_dir(tmp_path)
    page = write_report(
        out / "study", title="study", facts={"seeds": "1..2"}, rows=summarize(runs), runs=runs
    )
    got = asyncio.run(load(browser, page, screenshot=True))
    (out / "study.png").write_bytes(got.png)
    assert got.errors == []
    assert got.state["ok"] == got.state["total"] == got.state["withData"] == "5"


def test_the_random_strategy_stays_random_beside_a_trained_one(cfg: AppConfig) -> None:
    """A study with --policy ran the policy for the random strategy too (the two rows came out equal)."""

    def policy(obs: np.ndarray) -> np.ndarray:
        return np.array([40.0, 40.0], np.float32)

    args = {"duration_s": 30.0, "step_s": 1.0}
    both = run_all(cfg, ["random", "trained"], [4], policy=policy, **args)
    alone = run_all(cfg, ["random"], [4], **args)
    assert both[0].metrics == alone[0].metrics
    assert both[0].metrics != both[1].metrics
