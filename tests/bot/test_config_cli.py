"""`mm-bot run` refuses bad flags and unwritable output paths with exit 2 before trading."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mm_bot.config import load_config
from mm_bot.errors import ConfigError

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"


def mm_bot_run(
    tmp_path: Path, *flags: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``mm-bot run --paper`` with the journal under ``tmp_path`` (unless ``env`` moves it)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("MM_BOT__")}
    base["MM_BOT__journal__paper_path"] = str(tmp_path / "j.sqlite")
    base["MM_BOT__metrics__port"] = "0"
    try:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "mm_bot.cli",
                "run",
                "--paper",
                "--no-tui",
                "--config",
                str(REPO_CONFIG),
                *flags,
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env={**base, **(env or {})},
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"mm-bot run {' '.join(flags)} was still running after 30 s")


# --- --duration -------------------------------------------------------------------------------------


@pytest.mark.parametrize("duration", ["nan", "inf", "-inf", "1e400", "0", "-1"])
def test_bad_duration_is_refused_before_trading(tmp_path: Path, duration: str) -> None:
    """--duration must be finite and > 0: exit 2 naming --duration, no traceback, no journal."""
    proc = mm_bot_run(tmp_path, "--duration", duration)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "--duration" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "j.sqlite").exists()


def test_bad_duration_is_refused_before_the_config_is_read(tmp_path: Path) -> None:
    """The flag is checked first: a missing config file is not even opened."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mm_bot.cli",
            "run",
            "--paper",
            "--duration",
            "nan",
            "--config",
            str(tmp_path / "no.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert "--duration" in proc.stderr and "file not found" not in proc.stderr


# --- writable paths ---------------------------------------------------------------------------------


def test_check_writable_paths_accepts_good_paths_and_leaves_nothing(tmp_path: Path) -> None:
    """Writable paths pass; parents are created but no journal, summary or probe file is left behind."""
    from mm_bot.config import check_writable_paths

    env = {"MM_BOT__journal__paper_path": str(tmp_path / "a" / "b" / "j.sqlite")}
    cfg = load_config(REPO_CONFIG, env)
    check_writable_paths(cfg, "paper", tmp_path / "out" / "summary.json")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["a", "a/b", "out"]


@pytest.mark.parametrize("mode", ["paper", "live"])
def test_journal_under_a_regular_file_is_refused(tmp_path: Path, mode: str) -> None:
    """A journal whose parent is a file (root cannot write there either) is reported at its key."""
    from mm_bot.config import check_writable_paths

    (tmp_path / "file.txt").write_text("x")
    bad = str(tmp_path / "file.txt" / "journal.sqlite")
    cfg = load_config(REPO_CONFIG, {f"MM_BOT__journal__{mode}_path": bad})
    with pytest.raises(ConfigError) as info:
        check_writable_paths(cfg, mode, None)
    problems = dict(info.value.problems)
    assert list(problems) == [f"journal.{mode}_path"]
    assert "file.txt" in problems[f"journal.{mode}_path"]


@pytest.mark.parametrize("where", ["proc", "directory", "under_file"])
def test_unwritable_summary_json_is_refused(tmp_path: Path, where: str) -> None:
    """--summary-json in /proc, on an existing directory or under a file is reported at --summary-json."""
    from mm_bot.config import check_writable_paths

    (tmp_path / "file.txt").write_text("x")
    summary = {
        "proc": Path("/proc/self/mm-bot-summary.json"),
        "directory": tmp_path,
        "under_file": tmp_path / "file.txt" / "s.json",
    }[where]
    cfg = load_config(REPO_CONFIG, {"MM_BOT__journal__paper_path": str(tmp_path / "j.sqlite")})
    with pytest.raises(ConfigError) as info:
        check_writable_paths(cfg, "paper", summary)
    assert list(dict(info.value.problems)) == ["--summary-json"]


def test_run_refuses_unwritable_paths_before_trading(tmp_path: Path) -> None:
    """`mm-bot run` with an unwritable journal and summary exits 2 naming both, before any trading."""
    (tmp_path / "file.txt").write_text("x")
    journal = tmp_path / "file.txt" / "journal.sqlite"
    proc = mm_bot_run(
        tmp_path,
        "--duration",
        "1",
        "--summary-json",
        str(tmp_path / "file.txt" / "s.json"),
        env={"MM_BOT__journal__paper_path": str(journal)},
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "journal.paper_path" in proc.stderr and "--summary-json" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "refusing to start" not in proc.stderr  # refused before the proofs, not by them
