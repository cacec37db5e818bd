"""``mm-bot backtest`` end to end on a recorded spot file: the summary holds the run contract, the
metrics, the data's A/k fit and the compared kinds; the report is written; bad input exits 2 with
one line, never a traceback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mm_bot.cli import main

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data" / "binance-btcusdt-2024-08-08" / "spot_btcusdt_20240808.gz"
CONFIG = ROOT / "config.yaml"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("bt") / DATA.name
    shutil.copy(DATA, target)
    return target


def test_backtest_writes_summary_report_and_compares(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary, report = tmp_path / "s.json", tmp_path / "report"
    argv = ["backtest", "--config", str(CONFIG), "--data", str(data), "--summary-json", str(summary),
            "--report", str(report), "--compare", "as,fixed", "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    s = json.loads(summary.read_text())
    m = s["markets"]["BTC/USDT"]
    assert s["mode"] == "backtest" and m["fills"] > 0 and m["open_orders_at_exit"] in (0, 1, 2)  # data ends
    assert {"quotes_sent", "cancels_sent", "pnl_quote", "fees_quote", "decision_reasons"} <= set(m)
    for key in ("sharpe", "max_drawdown_quote", "fill_rate", "markouts", "var_95_quote", "cvar_95_quote"):
        assert key in s["metrics"]
    assert s["metrics"]["fills"] == m["fills"]
    fit = s["intensity_fit"]
    assert fit["A_per_s"] > 0 and fit["k_per_price"] > 0 and fit["taker_orders"] > 100
    assert set(s["compare"]) == {"as", "fixed"}
    assert s["compare"]["as"] == s["metrics"]  # the configured kind is as: the same run
    assert s["compare"]["fixed"]["fills"] != s["metrics"]["fills"]
    html = (report / "index.html").read_text()
    assert "fixed" in html and "<svg" in html
    out = capsys.readouterr().out
    assert "pnl_quote" in out and "A/k of the data" in out


def test_bad_data_and_flags_exit_2_naming_them(tmp_path: Path) -> None:
    junk = tmp_path / "junk.gz"
    junk.write_bytes(b"not gzip at all")
    for args, words in (
        (["--data", str(junk)], "junk.gz"),
        (["--data", str(DATA), "--compare", "as,nope"], "--compare"),
        (["--data", str(DATA), "--market", "3"], "--market"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "mm_bot.cli", "backtest", "--config", str(CONFIG), *args],
            capture_output=True, text=True, timeout=120, cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 2, (args, done.stderr)
        assert words in done.stderr and "Traceback" not in done.stderr


def test_damaged_data_is_backtested_with_a_warning_that_says_what_is_lost(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The data commands warned about a file cut short; a backtest of it ran with exit 0 and said
    nothing (found in a fault hunt)."""
    cut = tmp_path / "cut.gz"
    cut.write_bytes(DATA.read_bytes()[:300_000])
    code = main(["backtest", "--config", str(CONFIG), "--data", str(cut), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 0
    assert "warning: cut.gz:" in err and "damaged gzip data" in err


def test_an_hftbacktest_feed_file_is_backtested_as_the_configured_market(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """hftbacktest's .npz carries no symbol: it was refused ("the data is of unknown, not BTC/USDT")
    with no way to say which market it is (found in a fault hunt). It is taken to be the configured
    market's; its tick and lot are still checked, and data of another symbol is still refused."""
    from sim.data import load, save_hftbacktest

    source = tmp_path / DATA.name
    shutil.copy(DATA, source)
    recording = load([source], cache=False)
    feed = tmp_path / "feed.npz"
    save_hftbacktest(recording, feed)
    summary = tmp_path / "s.json"
    args = ["backtest", "--config", str(CONFIG), "--no-progress", "--summary-json", str(summary)]
    assert main([*args, "--data", str(feed)]) == 0
    assert json.loads(summary.read_text())["markets"]["BTC/USDT"]["fills"] > 0
    from mm_bot.backtest.replay import check_market
    from mm_bot.config import load_config
    from mm_bot.errors import ConfigError

    eth = load_config(CONFIG).markets[0].model_copy(update={"symbol": "ETH/USDT"})
    check_market(load([feed]), eth, 0)  # the feed file cannot say
    with pytest.raises(ConfigError, match="the data is of BTCUSDT, not ETH/USDT"):
        check_market(recording, eth, 0)
