"""`mm-bot status` and `mm-bot trades` on the journal of one real paper run (made once for the
module, through the CLI), read while no one and while another process holds it; `--version`;
`run --metrics-port`."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mm_bot import __version__
from mm_bot.cli import main
from mm_bot.journal import Journal
from mm_bot.journal_cli import parse_since
from mm_bot.journal_views import iso_utc
from mm_bot.model import Instrument, Liquidity, OwnFill, Side
from tests.bot.journal_run import LOT, NOW, SYMBOL, mm_bot, write_config, write_journal


@dataclass(frozen=True)
class PaperRun:
    config: Path
    journal: Path
    summary: dict[str, Any]


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory: pytest.TempPathFactory) -> PaperRun:
    """One 3 s paper run through the CLI (metrics on a free port from the flag), its journal closed."""
    where = tmp_path_factory.mktemp("paper")
    config = write_config(where)
    out = where / "summary.json"
    proc = mm_bot(
        *("run", "--paper", "--duration", "3", "--no-tui", "--metrics-port", "0"),
        *("--summary-json", str(out), "--config", str(config)),
        cwd=where,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(out.read_text())
    assert summary["markets"][SYMBOL]["fills"] > 0
    return PaperRun(config, where / "var" / "journal-paper.sqlite", summary)


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``mm-bot ARGS`` in this process: exit code, stdout, stderr."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def journal_fills(path: Path) -> list[tuple[Any, ...]]:
    """The journal's fills straight from SQLite, oldest first."""
    query = (
        "SELECT ts_ns, market, side, price, qty, liquidity, fee_quote, trade_id, client_order_id, qty_lots"
        " FROM fills ORDER BY ts_ns, id"
    )
    with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as conn:
        return conn.execute(query).fetchall()


def copy_journal(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with (
        contextlib.closing(sqlite3.connect(f"{src.as_uri()}?mode=ro", uri=True)) as source,
        contextlib.closing(sqlite3.connect(dst)) as target,
    ):
        source.backup(target)


def test_status_json_matches_the_run_summary_and_the_journal(
    paper_run: PaperRun, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fills, position, fees, volume and cash agree with the run's summary; the PnL is marked at the
    journal's last fill price; one ended session; balances from the start and the fills."""
    code, out, err = run_main(capsys, "status", "--json", "--config", str(paper_run.config))
    assert code == 0, err
    view = json.loads(out)
    assert set(view) == {
        "mode",
        "journal",
        "config_key",
        "schema_version",
        "order_tag",
        "sessions",
        "markets",
    }
    assert view["mode"] == "paper" and view["config_key"] == "journal.paper_path"
    assert view["journal"] == str(paper_run.journal)
    m, s = view["markets"][SYMBOL], paper_run.summary["markets"][SYMBOL]
    assert list(view["markets"]) == [SYMBOL]
    assert m["in_config"] is True
    assert m["fills"] == s["fills"] == s["cumulative"]["fills"]
    assert m["position_base"] == s["position_base"]  # the same lots times the same lot size
    assert m["fees_quote"] == pytest.approx(s["fees_quote"], abs=1e-9)
    assert m["volume_base"] == s["volume_base"]
    assert m["cash_quote"] == pytest.approx(s["cumulative"]["cash_quote"], abs=1e-9)
    fills = journal_fills(paper_run.journal)
    assert len(fills) == m["fills"]
    assert sum(f[2] * f[9] for f in fills) * LOT == pytest.approx(m["position_base"], abs=1e-12)
    assert m["last_fill_price"] == fills[-1][3] and m["last_fill_ns"] == fills[-1][0]
    assert m["last_fill"] == iso_utc(fills[-1][0])
    expected_pnl = m["cash_quote"] + m["position_base"] * fills[-1][3]
    assert m["pnl_quote_at_last_fill"] == pytest.approx(expected_pnl, abs=1e-9)
    assert m["open_orders"] == [] and s["open_orders_at_exit"] == 0

    b = m["balances"]
    assert b["account"] == f"paper/{SYMBOL}"
    start = b["starting"]
    assert b["from_fills"]["BTC"] == pytest.approx(start["BTC"] + m["position_base"], abs=1e-12)
    assert b["from_fills"]["USDT"] == pytest.approx(start["USDT"] + m["cash_quote"], abs=1e-6)
    for asset, amount in b["saved"].items():  # the simulated account at exit agrees with the fills
        assert amount == pytest.approx(b["from_fills"][asset], abs=1e-6)
    assert b["saved_ns"] is not None

    [session] = view["sessions"]
    assert session["state"] == "ended" and session["mode"] == "paper"
    with contextlib.closing(sqlite3.connect(paper_run.journal)) as conn:
        row = conn.execute("SELECT started_ns, ended_ns, config_hash FROM sessions").fetchone()
        tag = conn.execute("SELECT value FROM meta WHERE key = 'order_tag'").fetchone()[0]
    assert (session["started_ns"], session["ended_ns"], session["config_hash"]) == row
    assert session["started"] == iso_utc(row[0]) and session["ended"] == iso_utc(row[1])
    assert view["order_tag"] == tag and all(f[8].startswith(tag) for f in fills)


def test_status_text_says_what_the_pnl_is_marked_at(
    paper_run: PaperRun, capsys: pytest.CaptureFixture[str]
) -> None:
    """The human status: the journal and its key, the session, the market's position and a PnL
    that says it is at the last fill price."""
    code, out, _ = run_main(capsys, "status", "--config", str(paper_run.config))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"paper journal {paper_run.journal} (journal.paper_path): order tag mb")
    assert any(line.startswith("  #1 paper ") and "config " in line for line in lines)
    assert f"{SYMBOL}:" in lines
    assert any("at the last fill price" in line for line in lines)
    assert any(line.startswith("  open       0 unsettled order(s)") for line in lines)


def test_status_shows_unsettled_orders_other_markets_and_crashed_sessions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A journal written through its API: a BTC/USDT order never seen to end (priced with the
    config's tick), an ETH/USDT market the config lacks (amounts from the fill rows, fees in base
    and in BNB), a crashed session a later one closed."""
    config = str(write_config(tmp_path))
    path = tmp_path / "var" / "journal-paper.sqlite"
    path.parent.mkdir()
    write_journal(path, fills=2, open_orders=1)
    eth = Instrument("ETH/USDT", "ETH", "USDT", Decimal("0.01"), Decimal("0.0001"))
    with Journal.open(path) as journal:
        journal.start_session("paper", "crashes", NOW + 20)
        journal.record_fill(
            OwnFill(NOW + 21, "x1", Side.BUY, 300_000, 50, Liquidity.TAKER, 0.0, "e1", 0.001), eth
        )
        journal.record_fill(
            OwnFill(NOW + 22, "x2", Side.SELL, 300_100, 20, Liquidity.MAKER, 0.0, "e2", 0.0, 0.5, "BNB"), eth
        )
    with Journal.open(path) as journal:  # the next session finds the one before it crashed
        later = journal.start_session("paper", "later", NOW + 30)
        journal.close_crashed_sessions(NOW + 30)
        journal.end_session(later, NOW + 31)
    code, out, _ = run_main(capsys, "status", "--json", "--config", config)
    assert code == 0
    view = json.loads(out)
    assert [s["state"] for s in view["sessions"]] == ["ended", "crashed", "ended"]
    assert view["sessions"][1]["ended"] == iso_utc(NOW + 30)  # when the crash was noticed
    btc, other = view["markets"][SYMBOL], view["markets"]["ETH/USDT"]
    [order] = btc["open_orders"]
    assert (order["side"], order["price"], order["qty"], order["state"]) == (
        "buy",
        60000.02,
        0.001,
        "pending_new",
    )
    assert (order["price_ticks"], order["qty_lots"], order["created"]) == (6_000_002, 100, iso_utc(NOW + 2))
    assert btc["position_base"] == pytest.approx(0.002, abs=1e-15) and btc["fees_quote"] == pytest.approx(
        -0.006
    )
    assert other["in_config"] is False and other["balances"]["account"] is None
    assert other["position_base"] == pytest.approx(0.005 - 0.002 - 0.001, abs=1e-15)
    assert other["cash_quote"] == pytest.approx(-3000.0 * 0.005 + 3001.0 * 0.002, abs=1e-9)
    assert (other["fees_base"], other["fees_other"], other["last_fill_price"]) == (
        0.001,
        {"BNB": 0.5},
        3001.0,
    )

    code, out, _ = run_main(capsys, "status", "--config", config)
    assert code == 0
    assert f"  #2 paper {iso_utc(NOW + 20)} -> crashed (noticed {iso_utc(NOW + 30)}), config crashes" in out
    assert f"    buy  0.001 @ 60000.02 pending_new {order['client_order_id']} since {iso_utc(NOW + 2)}" in out
    assert "ETH/USDT: (not in the config: amounts from the fill rows)" in out
    assert "  fees       +0.0000 USDT, +0.001 ETH, +0.5 BNB (negative: rebates)" in out


def test_trades_json_lists_exactly_the_journal_fills(
    paper_run: PaperRun, capsys: pytest.CaptureFixture[str]
) -> None:
    """`trades --json --limit 0` is every fill of the journal, oldest first, field for field;
    `--limit N` the newest N, still newest last; `--market` of another symbol is refused."""
    config = ("--config", str(paper_run.config))
    code, out, _ = run_main(capsys, "trades", "--json", "--limit", "0", *config)
    assert code == 0
    trades = json.loads(out)
    fills = journal_fills(paper_run.journal)
    assert [
        (
            t["ts_ns"],
            t["market"],
            t["side"],
            t["price"],
            t["qty"],
            t["liquidity"],
            t["fee_quote"],
            t["trade_id"],
            t["client_order_id"],
        )
        for t in trades
    ] == [(f[0], f[1], "buy" if f[2] == 1 else "sell", *f[3:7], f[7] or None, f[8]) for f in fills]
    assert all(t["time"] == iso_utc(t["ts_ns"]) for t in trades)

    code, out, _ = run_main(capsys, "trades", "--json", "--limit", "3", "--market", SYMBOL, *config)
    assert code == 0 and json.loads(out) == trades[-3:]
    code, out, _ = run_main(capsys, "trades", "--limit", "2", *config)
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split()[:3] == ["time", "(UTC)", "market"] and len(rows) == 2
    assert rows[-1].startswith(trades[-1]["time"]) and rows[-1].endswith(trades[-1]["client_order_id"])
    code, _, err = run_main(capsys, "trades", "--market", "BTCUSDT", *config)
    assert code == 2 and err == f"mm-bot: --market: the journal has nothing of BTCUSDT (it has: {SYMBOL})\n"


def test_since_filters_by_iso_ns_and_time_ago(
    paper_run: PaperRun, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--since` as ns, as ISO-8601 and as a time ago keeps the fills received at or after it."""
    config = ("--config", str(paper_run.config))
    fills = journal_fills(paper_run.journal)
    middle = fills[len(fills) // 2][0]
    expected = [f[0] for f in fills if f[0] >= middle]
    iso_ms = middle // 1_000_000 * 1_000_000  # ISO to the ms: from the start of that ms
    for since, want in (
        (str(middle), expected),
        (iso_utc(middle), [f[0] for f in fills if f[0] >= iso_ms]),
        ("1h", [f[0] for f in fills]),  # the run was moments ago
        ("2099-01-01", []),
    ):
        code, out, err = run_main(capsys, "trades", "--json", "--limit", "0", "--since", since, *config)
        assert code == 0, err
        assert [t["ts_ns"] for t in json.loads(out)] == want, since


def test_parse_since_reads_each_form() -> None:
    """Hand-checked values of every form --since takes."""
    now = 1_723_161_480_000_000_000  # 2024-08-08T23:58:00Z
    assert parse_since("2024-08-08T23:58:00Z", now) == now
    assert parse_since("2024-08-09T01:58:00.5+02:00", now) == now + 500_000_000
    assert parse_since("2024-08-08", now) == now - (23 * 3600 + 58 * 60) * 10**9
    assert parse_since(str(now), now) == now
    assert parse_since("30m", now) == now - 1800 * 10**9
    assert parse_since("1.5h", now) == now - 5400 * 10**9
    assert parse_since("2d", now) == now - 2 * 86_400 * 10**9
    assert parse_since("90s", now) == now - 90 * 10**9


@pytest.mark.parametrize("bad", ["yesterday", "5x", "-1h", "2024-13-01", ""])
def test_bad_since_exits_2_naming_the_flag(
    paper_run: PaperRun, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    """A --since that is none of its forms is a usage error naming the flag."""
    with pytest.raises(SystemExit) as caught:
        main(["trades", "--since", bad, "--config", str(paper_run.config)])
    assert caught.value.code == 2
    assert "argument --since:" in capsys.readouterr().err


def test_missing_journal_exits_2_naming_the_config_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No journal where the config points: one line naming the key and what to run, exit 2."""
    config = str(write_config(tmp_path))
    for command, mode in (("status", "paper"), ("trades", "paper"), ("status", "live"), ("trades", "live")):
        code, out, err = run_main(capsys, command, f"--{mode}", "--config", config)
        path = tmp_path / "var" / f"journal-{mode}.sqlite"
        assert code == 2 and out == ""
        assert err == f"mm-bot: journal.{mode}_path: no journal at {path} (run mm-bot run --{mode} first)\n"
    path = tmp_path / "var" / "journal-paper.sqlite"
    path.parent.mkdir()
    path.write_text("not a database, " * 100)
    code, _, err = run_main(capsys, "status", "--config", config)
    assert code == 2 and err == f"mm-bot: journal.paper_path: {path}: file is not a database\n"


HOLDER = """
import sys, time
from mm_bot.journal import Journal

journal = Journal.open(sys.argv[1])
journal.start_session("paper", "held-by-test", time.time_ns())
print("open", flush=True)
sys.stdin.readline()  # hold the journal (and leave the session unended) until killed
"""


def test_status_reads_a_journal_another_process_holds_and_fresh_is_refused(
    paper_run: PaperRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """While another process writes the journal: status reads it (its session "running"), and
    `run --fresh` exits 2 naming the journal's key and the holder, leaving the journal in place.
    Once the holder is SIGKILLed its session shows "crashed"."""
    copy_journal(paper_run.journal, tmp_path / "var" / "journal-paper.sqlite")
    config = str(write_config(tmp_path))
    journal = tmp_path / "var" / "journal-paper.sqlite"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLDER), str(journal)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        code, out, err = run_main(capsys, "status", "--json", "--config", config)
        assert code == 0, err
        view = json.loads(out)
        assert [s["state"] for s in view["sessions"]] == ["ended", "running"]
        assert view["markets"][SYMBOL]["fills"] == paper_run.summary["markets"][SYMBOL]["fills"]

        proc = mm_bot(
            "run", "--paper", "--fresh", "--duration", "1", "--no-tui", "--config", config, cwd=tmp_path
        )
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert (
            f"journal.paper_path: journal {journal} is in use by another mm-bot process (pid {holder.pid})"
            in (proc.stderr)
        )
        assert "Traceback" not in proc.stderr
        assert journal.exists() and not list(journal.parent.glob("journal-paper.2*"))  # not moved
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        for pipe in (holder.stdin, holder.stdout):
            if pipe is not None:
                pipe.close()
    code, out, _ = run_main(capsys, "status", "--json", "--config", config)
    assert [s["state"] for s in json.loads(out)["sessions"]] == ["ended", "crashed"]


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`mm-bot --version` prints `mm-bot <mm_bot.__version__>` and exits 0."""
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out == f"mm-bot {__version__}\n"


@pytest.mark.parametrize("bad", ["65536", "-1", "http", "80.5"])
def test_metrics_port_out_of_range_exits_2_naming_the_flag(
    capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    """A --metrics-port outside 0..65535 (or not a number) is refused before anything loads."""
    with pytest.raises(SystemExit) as caught:
        main(["run", "--paper", "--metrics-port", bad, "--config", "/nonexistent.yaml"])
    assert caught.value.code == 2
    assert "argument --metrics-port:" in capsys.readouterr().err


def test_metrics_port_in_use_exits_2_naming_the_flag(tmp_path: Path) -> None:
    """`--metrics-port P` replaces metrics.port (0 in the config here): P taken is exit 2 naming the
    flag and the address, without a traceback."""
    config = str(write_config(tmp_path))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = mm_bot(
            *(
                "run",
                "--paper",
                "--duration",
                "5",
                "--no-tui",
                "--metrics-port",
                str(port),
                "--config",
                config,
            ),
            cwd=tmp_path,
            env={"MM_BOT__metrics__port": "0"},
        )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert f"--metrics-port: cannot listen on 127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr
