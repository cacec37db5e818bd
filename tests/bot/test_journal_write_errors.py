"""Failing writes on real SQLite files: a full database (``max_page_count``) and a file size limit
(``RLIMIT_FSIZE`` in a child process) raise JournalWriteError and leave a consistent journal."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from mm_bot.journal import Journal, JournalError, JournalWriteError, LedgerTotals
from mm_bot.model import Instrument, Liquidity, OrderRequest, OwnFill, Side

BTC = Instrument("BTC/USDT", "BTC", "USDT", tick_size=Decimal("0.1"), lot_size=Decimal("0.001"))
PADDING = "x" * 200  # long trade ids fill pages fast


def fill(n: int) -> OwnFill:
    return OwnFill(n, "b1", Side.BUY, 1000 + n % 3, 1 + n % 4, Liquidity.MAKER, 0.5, f"t{n}{PADDING}")


def fill_up(journal: Journal) -> tuple[list[OwnFill], JournalWriteError]:
    """Cap the file at its current size (a real SQLITE_FULL) and record fills until one fails."""
    (pages,) = journal._conn.execute("PRAGMA page_count").fetchone()
    journal._conn.execute(f"PRAGMA max_page_count = {pages}")
    stored: list[OwnFill] = []
    for n in range(100, 10_000):
        try:
            assert journal.record_fill(fill(n), BTC)
        except JournalWriteError as exc:
            return stored, exc
        stored.append(fill(n))
    raise AssertionError("the capped journal never filled up")


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def test_full_database_raises_journal_write_error_and_rolls_back_whole(tmp_path: Path) -> None:
    """SQLITE_FULL raises JournalWriteError, stores nothing of the failed call, and close stays safe."""
    path = tmp_path / "j.sqlite"
    journal = Journal.open(path, decision_batch=10_000)
    journal.record_order_intent(OrderRequest("b1", Side.BUY, 1000, 5), BTC.symbol, 1)
    journal.save_balances("paper", {"USDT": 100.0}, 1)
    stored, exc = fill_up(journal)
    assert isinstance(exc.__cause__, sqlite3.OperationalError)
    assert "database or disk is full" in str(exc.__cause__) and str(path) in str(exc)
    assert not journal._conn.in_transaction
    with pytest.raises(JournalWriteError) as caught:
        journal.save_balances("paper", {f"A{i}{PADDING}": float(i) for i in range(200)}, 2)
    assert "database or disk is full" in str(caught.value.__cause__)  # not hidden by the rollback
    assert journal.load_balances("paper") == {"USDT": 100.0} and not journal._conn.in_transaction
    with pytest.raises(JournalWriteError) as caught:
        journal.record_order_intent(OrderRequest(f"c2{PADDING * 20}", Side.BUY, 1000, 5), BTC.symbol, 2)
    assert journal.order(f"c2{PADDING * 20}") is None
    assert not isinstance(caught.value.__cause__, sqlite3.IntegrityError)  # not mistaken for a duplicate
    for n in range(500):
        journal.record_decision(n, BTC.symbol, Side.BUY, "send", PADDING)
    with pytest.raises(JournalWriteError):
        journal.close()  # its flush fails; the connection and the lock go all the same
    assert integrity(path) == "ok"
    with Journal.open(path) as reopened:
        assert reopened.fills(BTC.symbol) == stored
        assert reopened.totals(BTC.symbol) == LedgerTotals(
            sum(f.qty_lots for f in stored),
            sum(-f.price_ticks * f.qty_lots for f in stored),
            0.5 * len(stored),
            sum(f.qty_lots for f in stored),
            len(stored),
            stored[-1].ts_ns,
        )
        assert reopened._conn.execute("SELECT COUNT(*) FROM decisions").fetchone() == (0,)
        assert reopened.record_fill(fill(10_001), BTC)  # no cap on a fresh connection


def test_error_in_flight_stays_the_one_raised_when_close_fails_too(tmp_path: Path) -> None:
    """An error leaving a with block stays the one raised when close fails too (the failure is a note)."""
    path = tmp_path / "j.sqlite"

    def trade() -> None:
        with Journal.open(path, decision_batch=10_000) as journal:
            journal.record_decision(1, BTC.symbol, None, "nothing", PADDING * 50)  # flushed by close
            fill_up(journal)  # returns its error
            journal.record_fill(fill(1), BTC)  # the error in flight

    with pytest.raises(JournalWriteError) as caught:
        trade()
    notes = getattr(caught.value, "__notes__", [])
    assert len(notes) == 1 and notes[0].startswith("closing the journal failed too: journal")
    Journal.open(path).close()  # the lock was released


def test_duplicate_intent_is_a_journal_error_not_a_write_error(tmp_path: Path) -> None:
    """A reused client order id is the caller's mistake (JournalError), not a storage failure."""
    with Journal.open(tmp_path / "j.sqlite") as journal:
        journal.record_order_intent(OrderRequest("c1", Side.BUY, 1000, 5), BTC.symbol, 1)
        with pytest.raises(JournalError) as caught:
            journal.record_order_intent(OrderRequest("c1", Side.BUY, 1000, 5), BTC.symbol, 2)
        assert not isinstance(caught.value, JournalWriteError)
        assert isinstance(caught.value.__cause__, sqlite3.IntegrityError)


SIZE_LIMITED = """
import os, resource, signal, sys
from decimal import Decimal
from mm_bot.journal import Journal, JournalWriteError
from mm_bot.model import Instrument, Liquidity, OrderRequest, OwnFill, Side

btc = Instrument("BTC/USDT", "BTC", "USDT", Decimal("0.1"), Decimal("0.001"))
path = sys.argv[1]
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
journal = Journal.open(path)
journal.record_order_intent(OrderRequest("b1", Side.BUY, 1000, 5), "BTC/USDT", 1)
largest = max(os.path.getsize(path), os.path.getsize(path + "-wal"))
resource.setrlimit(resource.RLIMIT_FSIZE, (largest + 512 * 1024, resource.RLIM_INFINITY))
n = 0
try:
    while True:
        n += 1
        trade_id = f"t{n}" + "x" * 200
        journal.record_fill(OwnFill(n, "b1", Side.BUY, 1000, 1, Liquidity.MAKER, 0.0, trade_id), btc)
        print("fill", trade_id, flush=True)
except JournalWriteError as exc:
    print("error", type(exc.__cause__).__name__, exc.__cause__, flush=True)
try:
    journal.close()
except JournalWriteError:
    print("close_failed", flush=True)
print("closed", flush=True)
"""


def test_file_size_limit_in_a_child_raises_journal_write_error(tmp_path: Path) -> None:
    """RLIMIT_FSIZE in a child raises JournalWriteError and keeps exactly the acknowledged fills."""
    path = tmp_path / "j.sqlite"
    code = textwrap.dedent(SIZE_LIMITED)
    run = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    acknowledged = [line.split()[1] for line in lines if line.startswith("fill ")]
    [error] = [line for line in lines if line.startswith("error ")]
    assert error.startswith("error OperationalError") and ("I/O" in error or "full" in error)
    assert lines[-1] == "closed" and len(acknowledged) > 10
    assert integrity(path) == "ok"
    with Journal.open(path) as journal:
        assert [f.trade_id for f in journal.fills(BTC.symbol)] == acknowledged
        assert journal.totals(BTC.symbol).position_lots == len(acknowledged)
        assert [o.client_order_id for o in journal.open_orders()] == ["b1"]
