"""``mm-bot sweep`` refusing before any task is scheduled: Ray missing (exit 2, how to install it),
bad flags and grids (exit 2 naming them), points that all fail their config (exit 2, YAML path) or
their proofs (exit 1, counterexample). Nothing here starts Ray."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mm_bot.cli import main
from tests.bot.sweep.conftest import CONFIG
from tests.bot.sweep.test_grid import COARSE


def sweep(*argv: str) -> list[str]:
    return ["sweep", "--config", str(CONFIG), "--no-progress", *argv]


def test_without_ray_it_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], data: Path, tmp_path: Path
) -> None:
    """``import ray`` fails (None in sys.modules): exit 2 and the pip command of the extra."""
    monkeypatch.setitem(sys.modules, "ray", None)
    assert main(sweep("--data", str(data), "--grid", "markets.0.strategy.gamma=0.001")) == 2
    assert "pip install 'mm-bot[sweep]'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--grid", "markets.0.strategy.gamma"], "--grid: "),
        (["--grid", "markets.0.strategy.gamma=log:0.001..0.01"], "needs --samples"),
        (["--grid", "a=1", "--seed", "3"], "--seed"),
        (["--grid", "a=1", "--max-parallel", "0"], "--max-parallel"),
        (["--grid", "a=1", "--rank-by", "luck"], "--rank-by"),
    ],
)
def test_bad_flags_exit_2_naming_them(
    argv: list[str], words: str, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(sweep("--data", str(data), "--out", str(tmp_path / "out"), *argv)) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_missing_or_same_named_data_exit_2(
    tmp_path: Path, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "elsewhere" / data.name
    other.parent.mkdir()
    other.write_bytes(b"")
    grid = ["--grid", "markets.0.strategy.gamma=0.001"]
    assert main(sweep("--data", str(tmp_path / "nope.gz"), *grid)) == 2
    assert "nope.gz: no such file" in capsys.readouterr().err
    assert main(sweep("--data", str(data), str(other), *grid)) == 2
    assert "same name" in capsys.readouterr().err


def test_points_that_all_fail_their_config_exit_2_with_the_yaml_path(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert (
        main(sweep("--data", str(data), "--out", str(out), "--grid", "markets.0.strategy.gama=0.1,0.2")) == 2
    )
    err = capsys.readouterr().err
    assert "p000 (gama=0.1): refused by config, not run" in err
    assert "markets[0].strategy.gama: unknown key; did you mean 'gamma'?" in err
    assert not out.exists()


def test_points_that_all_fail_their_proofs_exit_1_with_the_counterexample(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in COARSE.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "out"
    assert (
        main(
            sweep("--data", str(data), "--out", str(out), "--grid", "markets.0.quoting.max_distance_bps=9000")
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "refused by verify, not run" in err and "positive_prices" in err and "counterexample" in err
    assert not out.exists()
