"""``mm-bot run --live`` with ``venue: grpc`` as a process against ``mm-bot venue serve --protocol
grpc`` (the simulator behind a gRPC gateway), both real processes on loopback: with gateway restarts
and stream gaps injected it quotes, fills and shuts down with no order open; the journal's fills are
the gateway's trades, each once, and the gateway's record of the account equals the bot's position.
A wrong token is refused with a clear message."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mm_bot.journal import Journal
from tests.bot.live_process import ROOT, SYMBOL

LOT = 0.00001
TOKEN = "gateway-test-token"


@contextmanager
def gateway(tmp: Path, *flags: str) -> Iterator[tuple[str, Path]]:
    """``mm-bot venue serve --protocol grpc`` on a free port: (host:port, state JSON path); SIGTERM at
    the end (it then writes the state JSON)."""
    state = tmp / "gateway-state.json"
    cmd = [sys.executable, "-m", "mm_bot.cli", "venue", "serve", "--protocol", "grpc", "--port", "0",
           "--token", TOKEN, "--state-json", str(state), *flags]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on" in line, (
            f"the gateway did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}"
        )
        yield line.strip().split()[-1], state
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def run_bot(target: str, journal: Path, *args: str, token: str = TOKEN) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "MM_GRPC_TOKEN": token,
        "MM_BOT__markets__0__venue": "grpc",
        "MM_BOT__live__grpc_target": target,
        "MM_BOT__journal__live_path": str(journal),
        "MM_BOT__metrics__port": "0",
        "MM_BOT__markets__0__lockouts__after_fill_ms": "100",
    }
    config = str(ROOT / "config.yaml")
    cmd = [sys.executable, "-m", "mm_bot.cli", "run", "--live", "--no-tui", "--config", config, *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_live_run_through_restarts_and_gaps_leaves_the_gateway_as_its_journal_says(tmp_path: Path) -> None:
    journal, summary = tmp_path / "live.sqlite", tmp_path / "summary.json"
    faults = "restart=0.25,stream_gap=0.4,timeout_after_commit=0.02,unavailable=0.02"  # ~6 restarts, ~10 gaps
    with gateway(tmp_path, "--seed", "3", "--faults", faults) as (target, state):
        result = run_bot(target, journal, "--duration", "25", "--summary-json", str(summary))
        assert result.returncode == 0, result.stderr[-3000:]
    m = json.loads(summary.read_text())["markets"][SYMBOL]
    record = json.loads(state.read_text())
    injected = record["faults_injected"]
    print("faults injected:", injected, "bot:", {k: m[k] for k in ("quotes_sent", "fills", "venue")})
    assert injected["restart"] >= 1 and injected["stream_gap"] >= 1, injected
    assert m["quotes_sent"] >= 10 and m["fills"] >= 3 and m["open_orders_at_exit"] == 0, m
    account = record["accounts"]["main"]
    assert account["open_orders"] == []
    with Journal.open_readonly(journal) as reader:
        trade_ids = [f.trade_id for f in reader.fills(SYMBOL)]
        position_lots = reader.totals(SYMBOL).position_lots
    gateway_ids = [t["trade_id"] for t in account["trades"]]
    assert sorted(trade_ids) == sorted(gateway_ids) and len(set(trade_ids)) == len(
        trade_ids
    )  # none lost, none twice
    traded = sum(round(float(t["qty"]) / LOT) * (1 if t["side"] == "BUY" else -1) for t in account["trades"])
    assert traded == position_lots
    base_fees = sum(float(t["fee"]) for t in account["trades"] if t["fee_asset"] == "BTC")
    base_change = (
        float(account["balances"]["BTC"]["free"])
        + float(account["balances"]["BTC"]["locked"])
        - float(account["starting_balances"]["BTC"])
    )
    assert m["position_base"] == pytest.approx(base_change, abs=1e-9)
    assert round((base_change + base_fees) / LOT) == position_lots
    assert m["reconcile_mismatches"] == []
    assert "Traceback" not in result.stderr


def test_a_wrong_token_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    with gateway(tmp_path) as (target, _state):
        result = run_bot(target, tmp_path / "live.sqlite", "--duration", "5", token="not-the-token")
    assert result.returncode == 2, result.stderr[-2000:]
    assert "live.grpc_token_env" in result.stderr and "token" in result.stderr
    assert "Traceback" not in result.stderr
    assert "not-the-token" not in result.stderr + result.stdout
