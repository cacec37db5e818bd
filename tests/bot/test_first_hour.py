"""A newcomer's first commands: ``mm-bot init`` writes a config that passes check-config, a minimal
config (symbol, order size, position limit) runs a paper session, ``mm-bot run --paper`` works from a
directory with no config, ``check-config --show`` prints the resolved config without secrets, and the
strategy defaults from the synthetic market (said once, scale-free)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mm_bot.app import RunOptions, run_app
from mm_bot.config import load_config
from mm_bot.config_cli import default_config_text

MINIMAL = """\
markets:
  - symbol: BTC/USDT
    order_size_base: 0.001
    risk: {max_position_base: 0.01}
"""


def mm_bot(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mm_bot.cli", *args], cwd=cwd, env={**os.environ, **(env or {})},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_init_writes_the_commented_default_and_it_passes_check_config(tmp_path: Path) -> None:
    made = mm_bot("init", str(tmp_path / "bot" / "config.yaml"), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    written = tmp_path / "bot" / "config.yaml"
    assert written.read_text() == default_config_text() and "# " in written.read_text()
    checked = mm_bot("check-config", "--config", str(written), cwd=tmp_path)
    assert checked.returncode == 0 and "config OK" in checked.stdout, checked.stderr
    again = mm_bot("init", str(tmp_path / "bot"), cwd=tmp_path)  # a directory: its config.yaml
    assert again.returncode == 2 and "exists" in again.stderr and "Traceback" not in again.stderr
    assert mm_bot("init", str(written), "--force", cwd=tmp_path).returncode == 0


async def test_a_minimal_config_runs_a_paper_session(tmp_path: Path) -> None:
    path = tmp_path / "minimal.yaml"
    path.write_text(MINIMAL)
    cfg = load_config(path, {"MM_BOT__journal__paper_path": str(tmp_path / "j.sqlite")})
    result = await run_app(cfg, RunOptions("paper", duration_s=3.0, metrics_port=0))
    m = result.summary["markets"]["BTC/USDT"]
    assert result.exit_code == 0 and m["quotes_sent"] > 0 and m["open_orders_at_exit"] == 0


def test_run_paper_works_from_a_directory_without_a_config(tmp_path: Path) -> None:
    """No ./config.yaml: the default config inside the package is used."""
    checked = mm_bot("check-config", cwd=tmp_path)
    assert checked.returncode == 0 and "default.yaml" in checked.stdout, checked.stderr
    ran = mm_bot(
        "run", "--paper", "--duration", "2", "--no-tui", cwd=tmp_path, env={"MM_BOT__metrics__port": "0"}
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert (tmp_path / "var" / "journal-paper.sqlite").exists()


def test_show_prints_the_resolved_config_and_never_a_secret(tmp_path: Path) -> None:
    path = tmp_path / "minimal.yaml"
    path.write_text(MINIMAL)
    env = {"MM_BOT__markets__0__lockouts__after_fill_ms": "777", "MM_API_KEY": "k3y-that-must-not-show"}
    shown = mm_bot("check-config", "--show", "--config", str(path), cwd=tmp_path, env=env)
    assert shown.returncode == 0, shown.stderr
    data = yaml.safe_load(shown.stdout)
    assert data == load_config(path, env).model_dump(mode="json", by_alias=True)
    assert data["markets"][0]["lockouts"]["after_fill_ms"] == 777  # the override
    assert data["markets"][0]["quoting"]["min_spread_bps"] == 1.0  # a default
    assert "k3y-that-must-not-show" not in shown.stdout + shown.stderr
    assert "MM_API_KEY (live.api_key_env): set" in shown.stdout


def test_the_strategy_defaults_from_the_synthetic_market_scale_free(tmp_path: Path) -> None:
    """sigma and A/k are said once (the synthetic market); price-unit defaults follow s0."""
    path = tmp_path / "eth.yaml"
    path.write_text(
        MINIMAL.replace("BTC/USDT", "ETH/USDT").replace("0.001", "0.01").replace("0.01}", "0.1}")
        + "paper:\n  synthetic:\n    markets:\n      ETH/USDT: {s0: 3000, as_flow: {a_per_s: 7}}\n"
    )
    cfg = load_config(path, {})
    m, s = cfg.markets[0], cfg.paper.synthetic.markets["ETH/USDT"]
    assert s.sigma == pytest.approx(3000 * 0.5 / math.sqrt(365 * 86400))
    assert m.volatility.sigma_fixed == s.sigma and (m.volatility.floor, m.volatility.cap) == (
        s.sigma / 5,
        s.sigma * 10,
    )
    assert (m.intensity.a_per_s, m.intensity.k_per_price) == (7, s.as_flow.k_per_price)
    assert s.as_flow.k_per_price == pytest.approx(0.2 * 60_000 / 3000)  # 1.2 per bp of mid
    assert m.strategy.gamma == pytest.approx(0.001 * 60_000 / 3000)
    assert (m.verify.mid_min, m.verify.mid_max) == (500, 10_000)
    assert cfg.paper.balances == {"ETH": 10.0, "USDT": pytest.approx(60_000.0)}
    # Given in the strategy, a value is kept as written.
    path.write_text(path.read_text().replace("risk:", "volatility: {sigma_fixed: 2.0}\n    risk:"))
    assert load_config(path, {}).markets[0].volatility.sigma_fixed == 2.0
