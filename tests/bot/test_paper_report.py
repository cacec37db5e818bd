"""``mm-bot run --paper --report DIR``: the backtest's report for a paper session, from the trace the
runner's observer recorded while the real paper run traded."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mm_bot.app import RunOptions, run_app
from mm_bot.config import check_writable_paths
from mm_bot.errors import ConfigError
from tests.bot.backtest.test_report import PLOT_IDS
from tests.bot.test_paper_run import lively_config


def _embedded_metrics(html: str) -> dict:
    block = re.search(r'<script type="application/json" id="run-metrics">\n(.*?)\n</script>', html, re.DOTALL)
    assert block is not None
    return json.loads(block.group(1))


async def test_a_paper_session_writes_the_report_of_what_it_traded(tmp_path: Path) -> None:
    """Every chart has data, and the report's figures are the session's own: its fills, quotes and
    volume as the run summary states them."""
    cfg = lively_config(tmp_path)
    out = tmp_path / "report"
    result = await run_app(cfg, RunOptions("paper", duration_s=4.0, metrics_port=0, report_dir=out))
    assert result.exit_code == 0
    m = result.summary["markets"]["BTC/USDT"]
    assert m["fills"] > 0
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "mm-bot paper: BTC/USDT" in html
    for plot_id in PLOT_IDS:
        block = re.search(rf'<figure class="plot" id="{plot_id}">(.*?)</figure>', html, re.DOTALL)
        assert block and '<g class="data"' in block.group(1), plot_id
    metrics = _embedded_metrics(html)
    assert metrics["fills"] == m["fills"]
    assert metrics["quotes_sent"] == m["quotes_sent"]
    assert metrics["volume_base"] == pytest.approx(m["volume_base"], abs=1e-12)
    assert metrics["decisions"] > 0 and metrics["samples"] > 10


async def test_a_report_that_cannot_be_written_fails_the_run_but_the_orders_are_still_cancelled(
    tmp_path: Path,
) -> None:
    """The directory turns into a file during the run: the session still stops cleanly (no open
    order), and the exit code says something went wrong."""
    cfg = lively_config(tmp_path)
    out = tmp_path / "report"
    out.write_text("not a directory")
    result = await run_app(cfg, RunOptions("paper", duration_s=1.0, metrics_port=0, report_dir=out))
    assert result.exit_code == 1
    assert result.summary["markets"]["BTC/USDT"]["open_orders_at_exit"] == 0


def test_an_unwritable_report_directory_is_refused_before_trading(tmp_path: Path) -> None:
    cfg = lively_config(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError) as refused:
        check_writable_paths(cfg, "paper", None, tmp_path / "file" / "report")
    assert [where for where, _ in refused.value.problems] == ["--report"]
