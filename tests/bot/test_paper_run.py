"""End to end: a real paper run on the synthetic market (in-process and through the CLI), the
metrics endpoint scraped over HTTP while it runs, the journal carried across a restart."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from mm_bot.app import RunOptions, run_app
from mm_bot.config import AppConfig, load_config
from mm_bot.journal import Journal, JournalError

ROOT = Path(__file__).resolve().parents[2]
SUMMARY_FIELDS = {
    "quotes_sent",
    "cancels_sent",
    "fills",
    "volume_base",
    "position_base",
    "max_abs_position_base",
    "pnl_quote",
    "fees_quote",
    "decision_reasons",
    "open_orders_at_exit",
    "decision_latency_us",
}


def lively_config(tmp_path: Path, seed: int = 7) -> AppConfig:
    """The default config with a busier synthetic market (so a few seconds see fills) and a
    journal in ``tmp_path``."""
    cfg = load_config(
        ROOT / "config.yaml",
        environ={
            "MM_BOT__paper__synthetic__seed": str(seed),
            "MM_BOT__paper__synthetic__markets__BTC/USDT__as_flow__a_per_s": "15.0",
            "MM_BOT__journal__paper_path": str(tmp_path / "journal.sqlite"),
            "MM_BOT__markets__0__lockouts__after_fill_ms": "100",
        },
    )
    return cfg


async def run_for(
    cfg: AppConfig, seconds: float, summary: Path | None = None, scrape: list[str] | None = None
) -> dict[str, Any]:
    registry = CollectorRegistry()
    ports: list[int] = []
    started = asyncio.Event()

    def on_started(info: dict[str, Any]) -> None:
        ports.append(info["metrics_port"])
        started.set()

    async def scraper() -> None:
        async with asyncio.timeout(seconds + 30):
            await started.wait()
        await asyncio.sleep(seconds * 0.7)
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{ports[0]}/metrics") as resp,
        ):
            assert resp.status == 200
            assert scrape is not None
            scrape.append(await resp.text())

    task = asyncio.create_task(scraper()) if scrape is not None else None
    result = await run_app(
        cfg,
        RunOptions("paper", duration_s=seconds, summary_json=summary, metrics_port=0),
        registry=registry,
        on_started=on_started,
    )
    if task is not None:
        await task
    assert result.exit_code == 0
    return result.summary


async def test_paper_run_quotes_fills_and_exits_clean(tmp_path: Path) -> None:
    """A few seconds of paper trading: quotes and fills happen, position stays within limits, no
    order is left open, the summary has every contract field, and /metrics served live values."""
    cfg = lively_config(tmp_path)
    scraped: list[str] = []
    summary = await run_for(cfg, 4.0, tmp_path / "summary.json", scraped)
    m = summary["markets"]["BTC/USDT"]
    assert set(m) >= SUMMARY_FIELDS
    assert summary["mode"] == "paper"
    assert summary["duration_s"] >= 4.0
    assert m["quotes_sent"] > 0
    assert m["fills"] > 0
    assert m["volume_base"] > 0
    max_pos = cfg.markets[0].risk.max_position_base
    assert m["max_abs_position_base"] <= max_pos + 1e-12
    assert abs(m["position_base"]) <= max_pos + 1e-12
    assert m["open_orders_at_exit"] == 0
    assert m["decision_reasons"].get("send(optimal_price)", 0) > 0
    assert m["decision_latency_us"]["samples"] > 0
    assert m["decision_latency_us"]["p50"] <= m["decision_latency_us"]["p99"]
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    # each order journaled has the decision that sent it (recorded once its request was out)
    with contextlib.closing(sqlite3.connect(tmp_path / "journal.sqlite")) as conn:
        orders = conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
        placing = "SELECT COUNT(*) FROM decisions WHERE action IN ('send', 'replace')"
        assert conn.execute(placing).fetchone()[0] == orders > 0
    # the live scrape, parsed with prometheus' own parser
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(scraped[0])
        for s in fam.samples
    }
    assert samples[("mm_up", ())] == 1.0
    sent = sum(v for (name, labels), v in samples.items() if name == "mm_orders_sent_total")
    assert sent > 0
    market = (("market", "BTC/USDT"),)
    assert samples[("mm_mid_price", market)] > 0
    assert samples[("mm_decision_latency_seconds_count", market)] > 0
    assert samples[("mm_sigma", market)] > 0
    assert samples[("mm_intensity_k", market)] > 0
    assert samples[("mm_spread_bps", market)] > 0


async def test_restart_on_same_journal_restores_position_and_balances(tmp_path: Path) -> None:
    """A second paper session on the same journal starts from the first one's position, cash and
    balances: all of them are what the journal's fills say."""
    cfg = lively_config(tmp_path)
    first = (await run_for(cfg, 3.0))["markets"]["BTC/USDT"]
    assert first["fills"] > 0
    with Journal.open_readonly(tmp_path / "journal.sqlite") as journal:
        totals = journal.totals("BTC/USDT")
        balances = journal.load_balances("paper/BTC/USDT")
    assert totals.position_lots * 0.00001 == pytest.approx(first["position_base"], abs=1e-12)
    assert totals.fill_count == first["fills"] == first["cumulative"]["fills"]
    start = cfg.paper.balances
    assert balances["BTC"] == pytest.approx(start["BTC"] + first["position_base"], abs=1e-9)
    assert balances["USDT"] == pytest.approx(start["USDT"] + first["cumulative"]["cash_quote"], abs=1e-6)

    second = (await run_for(cfg, 2.0))["markets"]["BTC/USDT"]
    # This session's figures start at zero; the cumulative ones continue the first session's.
    assert second["cumulative"]["fills"] == first["fills"] + second["fills"]
    assert second["cumulative"]["fees_quote"] == pytest.approx(
        first["fees_quote"] + second["fees_quote"], abs=1e-9
    )
    with Journal.open_readonly(tmp_path / "journal.sqlite") as journal:
        totals2 = journal.totals("BTC/USDT")
        balances2 = journal.load_balances("paper/BTC/USDT")
        assert len(journal.sessions()) == 2
    assert totals2.position_lots * 0.00001 == pytest.approx(second["position_base"], abs=1e-12)
    assert balances2["BTC"] == pytest.approx(start["BTC"] + second["position_base"], abs=1e-9)


def test_cli_paper_run_writes_summary_and_exits_zero(tmp_path: Path) -> None:
    """`mm-bot run --paper --duration 2 --no-tui --summary-json` as a user runs it."""
    env = {
        **os.environ,
        "MM_BOT__journal__paper_path": str(tmp_path / "j.sqlite"),
        "MM_BOT__metrics__port": "0",
    }
    out = tmp_path / "s.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mm_bot.cli",
            "run",
            "--paper",
            "--duration",
            "2",
            "--no-tui",
            "--summary-json",
            str(out),
            "--config",
            str(ROOT / "config.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(out.read_text())
    assert set(summary["markets"]["BTC/USDT"]) >= SUMMARY_FIELDS
    assert summary["markets"]["BTC/USDT"]["open_orders_at_exit"] == 0
    assert "Traceback" not in proc.stderr


def test_cli_bad_config_exits_2_with_yaml_path_and_no_traceback(tmp_path: Path) -> None:
    """Every command refuses a bad config with exit 2, naming the YAML path of the problem."""
    text = (ROOT / "config.yaml").read_text().replace("max_position_base: 0.01", "max_position_base: -1")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    for args in (["run", "--paper", "--duration", "1", "--no-tui"], ["check-config"]):
        proc = subprocess.run(
            [sys.executable, "-m", "mm_bot.cli", *args, "--config", str(bad)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 2
        assert "markets[0].risk.max_position_base" in proc.stderr
        assert "Traceback" not in proc.stderr


def test_metrics_port_in_use_is_a_clear_error_and_the_journal_is_closed(tmp_path: Path) -> None:
    """A metrics port another process holds: exit 2 naming ``metrics.port``, no traceback, and the
    journal's session is ended (nothing was left open)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            **os.environ,
            "MM_BOT__journal__paper_path": str(tmp_path / "j.sqlite"),
            "MM_BOT__metrics__port": str(port),
        }
        proc = subprocess.run(
            [sys.executable, "-m", "mm_bot.cli", "run", "--paper", "--duration", "5", "--no-tui"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
            cwd=ROOT,
        )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert f"metrics.port: cannot listen on 127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr
    with Journal.open_readonly(tmp_path / "j.sqlite") as journal:
        assert journal.open_orders() == []
    rows = sqlite3.connect(tmp_path / "j.sqlite").execute("SELECT ended_ns FROM sessions").fetchall()
    assert len(rows) == 1 and rows[0][0] is not None


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signal_stops_the_run_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    """SIGTERM, Ctrl-C (SIGINT) or SIGHUP: own orders cancelled, summary written, exit 0."""
    env = {
        **os.environ,
        "MM_BOT__journal__paper_path": str(tmp_path / "j.sqlite"),
        "MM_BOT__metrics__port": "0",
    }
    out = tmp_path / "s.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mm_bot.cli",
            "run",
            "--paper",
            "--no-tui",
            "--summary-json",
            str(out),
            "--config",
            str(ROOT / "config.yaml"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until it is quoting (the journal has an order)
            if (tmp_path / "j.sqlite").exists():
                try:
                    with Journal.open_readonly(tmp_path / "j.sqlite") as journal:
                        if journal.open_orders("BTC/USDT"):
                            break
                except JournalError:  # the writer may be creating the file right now
                    pass
            time.sleep(0.2)
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr[-2000:]
    summary = json.loads(out.read_text())
    m = summary["markets"]["BTC/USDT"]
    assert m["quotes_sent"] > 0
    assert m["open_orders_at_exit"] == 0
    assert "Traceback" not in stderr


async def test_kill_switch_cancels_everything_and_exits_3_with_reason(tmp_path: Path) -> None:
    """A maker fee of 50 bps (0.30 USDT per 0.001 BTC fill, against ~0.006 of spread captured) and
    a 0.1 USDT daily loss limit: the first fills fire the kill switch; the run stops by itself well
    before its duration, cancels all own orders, keeps /metrics up for metrics.kill_grace_s showing
    the trip, and reports exit code 3 with the reason."""
    cfg = load_config(
        ROOT / "config.yaml",
        environ={
            "MM_BOT__paper__synthetic__markets__BTC/USDT__as_flow__a_per_s": "15.0",
            "MM_BOT__paper__fees__maker_bps": "50",
            "MM_BOT__markets__0__risk__daily_loss_limit_quote": "0.1",
            "MM_BOT__journal__paper_path": str(tmp_path / "journal.sqlite"),
            "MM_BOT__metrics__kill_grace_s": "1.0",
        },
    )
    ports: list[int] = []
    run = asyncio.create_task(
        run_app(
            cfg,
            RunOptions("paper", duration_s=60.0, metrics_port=0),
            registry=CollectorRegistry(),
            on_started=lambda info: ports.append(info["metrics_port"]),
        )
    )
    scraped = ""
    async with aiohttp.ClientSession() as session:
        while 'reason="daily_loss_limit"} 1.0' not in scraped and not run.done():
            await asyncio.sleep(0.05)
            if ports:
                async with session.get(f"http://127.0.0.1:{ports[0]}/metrics") as resp:
                    scraped = await resp.text()
        assert 'mm_kill_switch_total{market="BTC/USDT",reason="daily_loss_limit"} 1.0' in scraped
        tripped = time.monotonic()
        result = await run  # the server stays up for the grace, then the run returns
        assert time.monotonic() - tripped > 0.5
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"http://127.0.0.1:{ports[0]}/metrics")
    assert result.exit_code == 3
    assert result.summary["kill_reason"] == "daily_loss_limit"
    m = result.summary["markets"]["BTC/USDT"]
    assert m["kill_reason"] == "daily_loss_limit"
    assert m["open_orders_at_exit"] == 0
    assert m["pnl_quote"] < -0.1
    assert result.summary["duration_s"] < 60.0
    assert (
        m["decision_reasons"].get("cancel(kill_switch)", 0)
        + m["decision_reasons"].get("nothing(kill_switch)", 0)
        + m["decision_reasons"].get("cancel(shutdown)", 0)
        > 0
    )


async def test_crash_still_cancels_own_orders_and_exits_nonzero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected error inside a market task: every own order is still cancelled, the summary
    names the error, the exit code is 1."""
    from mm_bot.engine import market

    real = market.MarketCore.on_event
    calls = {"n": 0}

    def flaky(self: market.MarketCore, event: object, now_ns: int) -> list[market.Command]:
        calls["n"] += 1
        if calls["n"] >= 60 and self.table.live_orders() and not calls.get("raised"):
            calls["raised"] = 1  # once, while quotes are resting (not on a fixed event: CI load varies)
            raise RuntimeError("injected failure")
        return real(self, event, now_ns)  # type: ignore[arg-type]

    monkeypatch.setattr(market.MarketCore, "on_event", flaky)
    result = await run_app(
        lively_config(tmp_path),
        RunOptions("paper", duration_s=20.0, metrics_port=0),
        registry=CollectorRegistry(),
    )
    assert result.exit_code == 1
    assert "injected failure" in result.summary["error"]
    assert result.summary["markets"]["BTC/USDT"]["open_orders_at_exit"] == 0
    assert result.summary["duration_s"] < 20.0


async def test_one_market_crashing_stops_the_others_through_their_normal_shutdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two markets; BTC/USDT's core fails. ETH/USDT is not torn down from outside: it halts, cancels
    its quotes and chases them like any shutdown, so the journal shows none of its orders open.
    The run exits 1 naming the error."""
    import yaml

    from mm_bot.engine import market

    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    eth = {**raw["markets"][0], "symbol": "ETH/USDT", "lot_size": 0.0001, "order_size_base": 0.01}
    eth["risk"] = {**eth["risk"], "max_position_base": 0.1, "hard_position_base": 0.2}
    eth["verify"] = {"mid_min": 500.0, "mid_max": 20000.0}
    raw["markets"].append(eth)
    synthetic = raw["paper"]["synthetic"]["markets"]
    synthetic["BTC/USDT"]["as_flow"]["a_per_s"] = 15.0
    synthetic["ETH/USDT"] = {**synthetic["BTC/USDT"], "s0": 3000.0, "sigma": 0.27}
    raw["paper"]["balances"]["ETH"] = 1.0
    raw["journal"]["paper_path"] = str(tmp_path / "journal.sqlite")
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(raw))
    cfg = load_config(path, environ={})

    real = market.MarketCore.on_event
    calls = {"n": 0}

    def flaky(self: market.MarketCore, event: object, now_ns: int) -> list[market.Command]:
        if self.instrument.symbol == "BTC/USDT":
            calls["n"] += 1
            if calls["n"] >= 60 and self.table.live_orders() and not calls.get("fired"):
                calls["fired"] = 1  # once, while quotes are resting
                raise RuntimeError("injected failure")
        return real(self, event, now_ns)  # type: ignore[arg-type]

    monkeypatch.setattr(market.MarketCore, "on_event", flaky)
    result = await run_app(
        cfg, RunOptions("paper", duration_s=20.0, metrics_port=0), registry=CollectorRegistry()
    )
    assert result.exit_code == 1
    assert "injected failure" in result.summary["error"]
    assert result.summary["duration_s"] < 20.0
    btc, eth_m = result.summary["markets"]["BTC/USDT"], result.summary["markets"]["ETH/USDT"]
    assert btc["open_orders_at_exit"] == 0
    assert eth_m["open_orders_at_exit"] == 0
    assert eth_m["quotes_sent"] > 0
    with Journal.open_readonly(tmp_path / "journal.sqlite") as reader:
        assert reader.open_orders("ETH/USDT") == []
