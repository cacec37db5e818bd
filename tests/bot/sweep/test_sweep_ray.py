"""Sweeps on a local Ray of 2 CPUs (one for the whole module): every point's summary is the one
``run_backtest`` gives alone and ``mm-bot backtest --config best.yaml`` gives for the best point;
``--resume`` runs only what is missing and ends with the same table; a worker killed mid-task costs
an attempt, not the sweep; a task that keeps failing is recorded with its error."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from mm_bot.backtest.replay import run_backtest
from mm_bot.backtest_cli import latency_for, run_summary
from mm_bot.cli import main
from mm_bot.config import AppConfig, load_config
from mm_bot.sweep.task import RunOptions, TaskResult, run_task
from mm_bot.sweep_cli import run_sweep_command
from sim.data import Recording, load
from tests.bot.sweep.conftest import CONFIG, read_rows, sweep_args

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[sweep]'")

GAMMAS = "markets.0.strategy.gamma=0.0005,0.001,0.002,-1"  # -1 is refused by the config
GAMMA = {"p000": "0.0005", "p001": "0.001", "p002": "0.002"}


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.WARNING,
    )
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def swept(local_ray: None, data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One sweep of three points (and a refused one) over the first spot file."""
    out = tmp_path_factory.mktemp("swept") / "out"
    argv = ["sweep", "--config", str(CONFIG), "--data", str(data), "--grid", GAMMAS, "--out", str(out),
            "--no-progress", "--rank-by", "pnl_quote"]  # fmt: skip
    assert main(argv) == 0
    return out


def test_every_point_has_the_summary_of_its_backtest_run_alone(swept: Path, data: Path) -> None:
    """The sweep's summary of each point equals, field for field, that config's summary run alone."""
    records = [json.loads(line) for line in (swept / "summaries.jsonl").read_text().splitlines()]
    assert sorted(r["point"] for r in records) == sorted(GAMMA)
    recording = load([data])
    for record in records:
        cfg = load_config(CONFIG, {}, sets=[("markets.0.strategy.gamma", GAMMA[record["point"]])])
        alone = run_backtest(recording, cfg, latency=latency_for(cfg, None))
        assert record["summary"] == json.loads(json.dumps(run_summary(recording, alone))), record["point"]
    rows = read_rows(swept / "results.csv")
    assert [(r["point"], r["status"]) for r in rows] == [("p000", "ok"), ("p001", "ok"), ("p002", "ok")]
    assert {r["markets.0.strategy.gamma"] for r in rows} == {"0.0005", "0.001", "0.002"}
    refused = json.loads((swept / "rejected.json").read_text())
    assert [(r["point"], r["stage"], r["problems"][0][0]) for r in refused] == [
        ("p003", "config", "markets[0].strategy.gamma")
    ]
    html = (swept / "index.html").read_text()
    assert 'id="plot-heat-pnl_quote-0"' in html and 'id="plot-pnl-0"' in html and "p003" in html


def test_best_yaml_is_a_ready_config_giving_the_same_summary(swept: Path, data: Path, tmp_path: Path) -> None:
    """``mm-bot backtest --config best.yaml`` on the same file writes the sweep's summary of that point."""
    ranked = read_rows(swept / "ranked.csv")
    assert [float(r["pnl_quote"]) for r in ranked] == sorted(
        (float(r["pnl_quote"]) for r in ranked), reverse=True
    )
    best = ranked[0]["point"]
    summary = tmp_path / "s.json"
    argv = [
        "backtest",
        "--config",
        str(swept / "best.yaml"),
        "--data",
        str(data),
        "--summary-json",
        str(summary),
        "--no-progress",
    ]
    assert main(argv) == 0
    records = {
        json.loads(line)["point"]: json.loads(line)
        for line in (swept / "summaries.jsonl").read_text().splitlines()
    }
    assert json.loads(summary.read_text()) == records[best]["summary"]


def test_resume_runs_only_the_missing_task_and_ends_with_the_same_table(
    swept: Path, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The last row lost mid-write (a partial line): ``--resume`` (one task at a time) runs that one
    task and rewrites results.csv and ranked.csv byte for byte as the full sweep wrote them."""
    out = tmp_path / "out"
    shutil.copytree(swept, out)
    lines = (swept / "results.csv").read_text().splitlines(keepends=True)
    (out / "results.csv").write_text("".join(lines[:-1]) + lines[-1][:25])
    argv = ["sweep", "--config", str(CONFIG), "--data", str(data), "--grid", GAMMAS, "--out", str(out),
            "--no-progress", "--rank-by", "pnl_quote"]  # fmt: skip
    capsys.readouterr()
    assert main([*argv, "--resume", "--max-parallel", "1"]) == 0
    err = capsys.readouterr().err
    assert "3 task(s), 2 already done" in err and "running 1 task(s)" in err
    for name in ("results.csv", "ranked.csv", "best.yaml"):
        assert (out / name).read_bytes() == (swept / name).read_bytes(), name
    assert main(argv) == 2  # without --resume an existing sweep is not overwritten
    assert "--resume continues it" in capsys.readouterr().err
    assert main([*argv[:6], "markets.0.strategy.gamma=0.0005,0.003", *argv[7:], "--resume"]) == 2
    assert "differs in points" in capsys.readouterr().err


def test_a_killed_worker_costs_one_attempt_not_the_sweep(swept: Path, data: Path, tmp_path: Path) -> None:
    """The first task to start kills its own worker process (SIGKILL) mid-task; Ray runs it again
    and the sweep ends with every row ok, equal to the full sweep's rows for those points."""
    marker = tmp_path / "killed"

    def work(recording: Recording, cfg: AppConfig, options: RunOptions) -> TaskResult:
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return run_task(recording, cfg, options)

    out = tmp_path / "out"
    args = sweep_args(
        "--config",
        str(CONFIG),
        "--data",
        str(data),
        "--grid",
        "markets.0.strategy.gamma=0.0005,0.001",
        "--out",
        str(out),
        "--no-progress",
        "--retries",
        "2",
    )
    assert run_sweep_command(args, work=work) == 0
    assert marker.read_text().isdigit()  # a worker wrote its pid and killed itself: that attempt died
    rows, full = read_rows(out / "results.csv"), read_rows(swept / "results.csv")
    assert rows == full[:2]


def test_a_task_that_keeps_failing_is_recorded_with_its_error(
    local_ray: None, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An exception on every attempt: after its retries the task is a failed row with the error, the
    report lists it, no best.yaml is written, and the sweep exits 1."""
    attempts = tmp_path / "attempts"
    attempts.mkdir()

    def work(recording: Recording, cfg: AppConfig, options: RunOptions) -> TaskResult:
        (attempts / str(len(list(attempts.iterdir())))).touch()
        raise RuntimeError("the disk is on fire")

    out = tmp_path / "out"
    args = sweep_args(
        "--config",
        str(CONFIG),
        "--data",
        str(data),
        "--grid",
        "markets.0.strategy.gamma=0.001",
        "--out",
        str(out),
        "--no-progress",
        "--retries",
        "1",
    )
    assert run_sweep_command(args, work=work) == 1
    (row,) = read_rows(out / "results.csv")
    assert row["status"] == "failed" and row["error"] == "RuntimeError: the disk is on fire"
    assert len(list(attempts.iterdir())) == 2  # the first attempt and one retry
    assert not (out / "best.yaml").exists()
    assert "the disk is on fire" in (out / "index.html").read_text()
    assert (
        "p000 on spot_btcusdt_20240808.gz failed: RuntimeError: the disk is on fire"
        in capsys.readouterr().err
    )
