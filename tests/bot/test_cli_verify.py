"""`mm-bot verify` and the proof gate in front of `mm-bot run`, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Passes config validation, but with a 100-USD tick, a low mid band and a 90% fat-finger guard a
# long position's bid rounds down to 0 ticks: the positive-prices proof fails.
COARSE = {
    "MM_BOT__markets__0__tick_size": "100",
    "MM_BOT__markets__0__verify__mid_min": "150",
    "MM_BOT__markets__0__verify__mid_max": "1000",
    "MM_BOT__markets__0__quoting__max_distance_bps": "9000",
    "MM_BOT__markets__0__quoting__max_spread_bps": "15000",
    "MM_BOT__paper__synthetic__markets__BTC/USDT__s0": "500",
}


def mm_bot(
    args: list[str], extra_env: dict[str, str] | None = None, tmp: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **(extra_env or {})}
    if tmp is not None:
        env["MM_BOT__journal__paper_path"] = str(tmp / "j.sqlite")
        env["MM_BOT__metrics__port"] = "0"
    return subprocess.run(
        [sys.executable, "-m", "mm_bot.cli", *args, "--config", str(ROOT / "config.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_verify_json_proves_every_property_of_the_default_config() -> None:
    """Exit 0 and a JSON report where every property of the default market is proved."""
    proc = mm_bot(["verify", "--json"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is True
    results = [r for m in report["markets"] for r in m["results"]]
    names = {r["property"] for r in results}
    assert {
        "ordered",
        "min_spread",
        "post_only",
        "max_distance",
        "inventory_skew",
        "position_limit",
        "tolerance_band",
    } <= names
    assert all(r["status"] == "proved" for r in results)


def test_run_refuses_to_start_when_a_proof_fails(tmp_path: Path) -> None:
    """A config whose quotes can reach a zero price: verify fails, run exits 1 with the counterexample
    and never trades (no journal session is started)."""
    verify = mm_bot(["verify"], COARSE)
    assert verify.returncode == 1
    assert "positive_prices" in verify.stdout
    assert "FAILED" in verify.stdout
    run = mm_bot(["run", "--paper", "--duration", "2", "--no-tui"], COARSE, tmp_path)
    assert run.returncode == 1
    assert "counterexample" in run.stderr
    assert "refusing to start" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "j.sqlite").exists()
