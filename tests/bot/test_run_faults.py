"""The paper bot as a process under faults: SIGKILL at several points then a restart, a second
process on the same journal, the disk filling up mid-run, signals during the shutdown, a kill switch
(exit 3 after its metrics grace). Each run is the real CLI in a child process, checked against its
real SQLite journal."""

from __future__ import annotations

import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mm_bot.journal import Journal, JournalError, utc_day

ROOT = Path(__file__).resolve().parents[2]
TICK, LOT = 0.01, 0.00001
LIVELY = {  # a busier synthetic market, so a few seconds see fills
    "MM_BOT__paper__synthetic__markets__BTC/USDT__as_flow__a_per_s": "15.0",
    "MM_BOT__markets__0__lockouts__after_fill_ms": "100",
    "MM_BOT__metrics__port": "0",
}


def env_for(journal: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, **LIVELY, "MM_BOT__journal__paper_path": str(journal), **extra}


def bot_command(*args: str) -> list[str]:
    """``mm-bot run --paper`` on the default config, without the terminal view, plus ``args``."""
    return [
        sys.executable,
        "-m",
        "mm_bot.cli",
        "run",
        "--paper",
        "--no-tui",
        "--config",
        str(ROOT / "config.yaml"),
        *args,
    ]


def start_bot(
    journal: Path, *args: str, env: dict[str, str] | None = None, **popen: Any
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        bot_command(*args),
        env=env or env_for(journal),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def run_bot(journal: Path, *args: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
    """Run the bot to its end (``--duration`` in ``args``)."""
    return subprocess.run(
        bot_command(*args),
        env=env_for(journal),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def wait_for_fills(journal: Path, fills: int, timeout_s: float = 60.0) -> None:
    """Wait until the running bot has journaled at least ``fills`` fills and has orders resting
    (read-only: no lock)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if journal.exists():
            try:
                with Journal.open_readonly(journal) as reader:
                    if reader.totals("BTC/USDT").fill_count >= fills and reader.open_orders("BTC/USDT"):
                        return
            except (JournalError, sqlite3.Error):  # the writer may be creating the file right now
                pass
        time.sleep(0.02)
    raise AssertionError(f"no {fills} fills journaled within {timeout_s} s")


def stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """Kill the child if it still runs and collect its output (closing its pipes)."""
    if proc.poll() is None:
        proc.kill()
    return proc.communicate(timeout=60)


def wait_for_start(proc: subprocess.Popen[str], timeout_s: float = 60.0) -> list[str]:
    """Read the child's log lines until it says it is trading; returns them."""
    assert proc.stderr is not None
    lines = []
    deadline = time.monotonic() + timeout_s
    for line in proc.stderr:
        lines.append(line)
        if "run_started" in line or time.monotonic() > deadline:
            return lines
    raise AssertionError("the bot ended before it started trading:\n" + "".join(lines[-20:]))


def cash_of(totals: Any) -> float:
    return totals.notional_ticklots * TICK * LOT - totals.fees_quote


def test_sigkill_at_several_points_then_restart_continues_exactly(tmp_path: Path) -> None:
    """Three sessions SIGKILLed at different moments, then a clean one: the restarted bot's position,
    cash with fees, volume and balances are what the journal's fills say, and the day's loss baseline
    is the one the first session set."""
    journal = tmp_path / "j.sqlite"
    journaled = 0
    left_open: list[int] = []  # orders each killed session left that the journal has not seen end
    for i, fills_in_session in enumerate((1, 2, 3)):
        proc = start_bot(journal)
        try:
            wait_for_fills(journal, journaled + fills_in_session)
            time.sleep(0.15 * i)  # somewhere else in its loop each time
            proc.send_signal(signal.SIGKILL)
        finally:
            stop(proc)
        assert proc.returncode == -signal.SIGKILL
        with Journal.open_readonly(journal) as reader:
            journaled = reader.totals("BTC/USDT").fill_count
            left_open.append(len(reader.open_orders("BTC/USDT")))
    with Journal.open_readonly(journal) as reader:
        before = reader.totals("BTC/USDT")
        baseline = reader.day_baseline("BTC/USDT", utc_day(time.time_ns()))
        starting = reader.starting_balances("paper/BTC/USDT")
    assert before.fill_count >= 6 and baseline is not None
    assert any(left_open), "a killed session leaves orders the journal has not seen end"
    summary_path = tmp_path / "s.json"
    restart = run_bot(journal, "--duration", "1.5", "--summary-json", str(summary_path), timeout_s=120)
    assert restart.returncode == 0, restart.stderr[-3000:]
    m = json.loads(summary_path.read_text())["markets"]["BTC/USDT"]
    with Journal.open_readonly(journal) as reader:
        after = reader.totals("BTC/USDT")
        balances = reader.load_balances("paper/BTC/USDT")
        sessions = reader.sessions()
        assert reader.open_orders("BTC/USDT") == []  # the crashed sessions' rows were closed
        assert reader.day_baseline("BTC/USDT", utc_day(time.time_ns())) == baseline
    assert [s.crashed for s in sessions] == [True, True, True, False]
    # The restarted session began exactly where the fills left off ...
    assert m["cumulative"]["fills"] == after.fill_count
    assert m["cumulative"]["fills"] - m["fills"] == before.fill_count
    assert m["position_base"] == pytest.approx(after.position_lots * LOT, abs=1e-12)
    assert m["cumulative"]["cash_quote"] == pytest.approx(cash_of(after), abs=1e-9)
    assert m["cumulative"]["fees_quote"] == pytest.approx(after.fees_quote, abs=1e-12)
    assert m["cumulative"]["volume_base"] == pytest.approx(after.volume_lots * LOT, abs=1e-12)
    assert m["day_baseline_pnl_quote"] == pytest.approx(baseline, abs=1e-12)
    # ... and the paper account holds what the fills say, SIGKILLs or not.
    assert balances["BTC"] == pytest.approx(starting["BTC"] + after.position_lots * LOT, abs=1e-9)
    assert balances["USDT"] == pytest.approx(starting["USDT"] + cash_of(after), abs=1e-6)
    assert m["venue"].get("reconcile_mismatches", 0) == 0


def test_a_second_process_on_the_same_journal_is_refused(tmp_path: Path) -> None:
    """While one bot trades, a second one on its journal exits 2 naming the journal and the holder;
    the first goes on and exits cleanly."""
    journal = tmp_path / "j.sqlite"
    first = start_bot(journal)
    try:
        wait_for_start(first)
        second = run_bot(journal, "--duration", "5", timeout_s=60)
        assert second.returncode == 2
        assert f"journal {journal} is in use by another mm-bot process (pid {first.pid})" in second.stderr
        assert "journal.paper_path" in second.stderr and "Traceback" not in second.stderr
        assert first.poll() is None  # still trading
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=60)
    finally:
        stop(first)
    assert first.returncode == 0, err[-2000:]


def _limit_file_size(limit_bytes: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))


def test_disk_full_mid_run_stops_quoting_cancels_and_still_writes_the_summary(tmp_path: Path) -> None:
    """The journal's file cannot grow past 192 KB (a real write failure from the OS): the bot stops
    quoting, cancels every order, writes the summary and exits 1 naming the journal."""
    journal = tmp_path / "j.sqlite"
    summary_path = tmp_path / "s.json"
    proc = start_bot(
        journal,
        "--duration",
        "60",
        "--summary-json",
        str(summary_path),
        preexec_fn=lambda: _limit_file_size(192 * 1024),
    )
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err[-3000:]
    assert "journal_write_failed" in err
    summary = json.loads(summary_path.read_text())
    assert summary["error"].startswith("journal: ")
    m = summary["markets"]["BTC/USDT"]
    assert m["open_orders_at_exit"] == 0
    assert m["quotes_sent"] > 0
    assert summary["duration_s"] < 60
    assert "Traceback" not in err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signals_during_the_shutdown_do_not_interrupt_it(tmp_path: Path, sig: signal.Signals) -> None:
    """A stop signal, then two more while the bot is cancelling: the cleanup runs to its end (no
    order left open, the summary written, the journal's session closed), exit 0, no traceback."""
    journal = tmp_path / "j.sqlite"
    summary_path = tmp_path / "s.json"
    # Slow order replies make the shutdown take a while, so the signals land inside it.
    env = env_for(journal, MM_BOT__paper__latency__order_ms="150")
    proc = start_bot(journal, "--summary-json", str(summary_path), env=env)
    try:
        wait_for_fills(journal, 1)
        # Close together: a quiet moment can leave nothing to cancel and the cleanup done within
        # 50 ms; the later signals must still find the bot stopping (each is handled in order).
        proc.send_signal(sig)
        time.sleep(0.005)
        proc.send_signal(sig)
        time.sleep(0.005)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        stop(proc)
    assert proc.returncode == 0, err[-3000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "signal_ignored_while_stopping" in err
    m = json.loads(summary_path.read_text())["markets"]["BTC/USDT"]
    assert m["open_orders_at_exit"] == 0
    with Journal.open_readonly(journal) as reader:
        assert reader.sessions()[-1].ended_ns is not None
        assert reader.open_orders("BTC/USDT") == []


def test_a_summary_that_cannot_be_written_at_exit_is_printed_and_exit_1(tmp_path: Path) -> None:
    """The summary's directory disappears during the run: the summary is still printed, the failure is
    logged, and the exit code says something went wrong."""
    target = tmp_path / "out"
    target.mkdir()
    proc = start_bot(tmp_path / "j.sqlite", "--duration", "2", "--summary-json", str(target / "s.json"))
    wait_for_start(proc)
    target.rmdir()
    target.write_text("now a file: the summary cannot go under it")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err[-2000:]
    assert "summary_write_failed" in err and "Traceback" not in err
    assert "paper run:" in out and "BTC/USDT: quotes" in out


def test_a_kill_switch_exits_3_and_a_signal_ends_its_metrics_grace(tmp_path: Path) -> None:
    """What a supervisor sees of a kill switch (a 50 bps maker fee, a 0.1 USDT daily loss limit):
    the process keeps /metrics up for metrics.kill_grace_s, a SIGTERM ends that wait at once, and it
    exits 3, the code systemd's RestartPreventExitStatus names."""
    journal = tmp_path / "j.sqlite"
    env = env_for(
        journal,
        MM_BOT__paper__fees__maker_bps="50",
        MM_BOT__markets__0__risk__daily_loss_limit_quote="0.1",
        MM_BOT__metrics__kill_grace_s="60",
    )
    proc = start_bot(journal, "--duration", "60", env=env)
    try:
        assert proc.stderr is not None
        lines = []
        for line in proc.stderr:  # JSON log lines; the grace starts after the summary is written
            lines.append(line)
            if '"metrics_kept_up_after_kill"' in line:
                break
        assert '"metrics_kept_up_after_kill"' in lines[-1], "".join(lines[-20:])
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        stop(proc)
    assert proc.returncode == 3, err[-2000:]
    assert time.monotonic() - signalled < 10
    assert '"signal_received"' in err and "Traceback" not in err
    assert "KILLED: daily_loss_limit" in out
