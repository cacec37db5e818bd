"""One writer per journal, checked with real processes: the lock, its release on close and on
SIGKILL, and what a SIGKILLed writer leaves behind."""

from __future__ import annotations

import fcntl
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from mm_bot.engine.order_states import OrderState
from mm_bot.journal import SCHEMA_VERSION, Journal, JournalError, JournalLocked, LedgerTotals

HOLDER = """
import sys
from mm_bot.journal import Journal

journal = Journal.open(sys.argv[1])
print("open", flush=True)
sys.stdin.readline()  # hold the journal until the parent says
journal.close()
print("closed", flush=True)
"""


def start_holder(path: Path) -> subprocess.Popen[str]:
    """A child process holding the journal open; returns once it has opened it."""
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLDER), str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline() == "open\n"
    return child


def stop(child: subprocess.Popen[str]) -> int:
    """Close the child's stdin (a holder then closes its journal), wait for it, close its pipes."""
    assert child.stdin is not None and child.stdout is not None
    child.stdin.close()
    code = child.wait(timeout=30)
    child.stdout.close()
    return code


def test_second_writer_in_another_process_is_refused_naming_the_holder(tmp_path: Path) -> None:
    """A child holding the journal makes Journal.open raise JournalLocked naming path and pid."""
    path = tmp_path / "var" / "j.sqlite"
    child = start_holder(path)
    try:
        with pytest.raises(JournalLocked) as caught:
            Journal.open(path)
        assert str(caught.value) == f"journal {path} is in use by another mm-bot process (pid {child.pid})"
        assert caught.value.pid == child.pid and isinstance(caught.value, JournalError)
        with Journal.open_readonly(path) as report:
            assert report.sessions() == []
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.stdout.readline() == "closed\n"
    finally:
        assert stop(child) == 0
    with Journal.open(path) as journal:
        assert Path(f"{path}.lock").read_text() == f"{os.getpid()}\n"
        assert journal.schema_version == SCHEMA_VERSION


def test_sigkilled_writer_releases_the_lock(tmp_path: Path) -> None:
    """The OS drops the lock of a writer killed with SIGKILL (no close, no handler)."""
    path = tmp_path / "j.sqlite"
    child = start_holder(path)
    try:
        with pytest.raises(JournalLocked):
            Journal.open(path)
        child.send_signal(signal.SIGKILL)
    finally:
        assert stop(child) == -signal.SIGKILL
    Journal.open(path).close()


def test_second_writer_in_the_same_process_is_refused(tmp_path: Path) -> None:
    """A second Journal.open in the holder's own process is refused too; close() releases the lock."""
    path = tmp_path / "j.sqlite"
    first = Journal.open(path)
    with pytest.raises(JournalLocked, match=rf"in use by this process \(pid {os.getpid()}\)"):
        Journal.open(path)
    first.close()
    first.close()  # a second close does nothing (and closes no other file)
    with Journal.open(path) as again:
        assert again.sessions() == []


def test_failed_open_releases_the_lock(tmp_path: Path) -> None:
    """An open that fails after taking the lock (a newer schema) gives the lock back."""
    path = tmp_path / "j.sqlite"
    with Journal.open(path) as journal:
        journal._conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    for _ in range(2):
        with pytest.raises(JournalError, match="newer") as caught:
            Journal.open(path)
        assert not isinstance(caught.value, JournalLocked)
    fd = os.open(f"{path}.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises BlockingIOError if still held
    finally:
        os.close(fd)


def test_simultaneous_openers_get_one_writer(tmp_path: Path) -> None:
    """Of three threads opening a new journal at once, exactly one becomes the writer."""
    for round_ in range(10):
        path = tmp_path / f"j{round_}.sqlite"
        start, done = threading.Barrier(3), threading.Barrier(3)
        outcomes: list[str] = []

        def open_it(
            path: Path = path,
            start: threading.Barrier = start,
            done: threading.Barrier = done,
            outcomes: list[str] = outcomes,
        ) -> None:
            start.wait()
            try:
                journal = Journal.open(path)
            except JournalLocked:
                outcomes.append("locked")
                done.wait()
                return
            outcomes.append("writer")
            done.wait()  # hold it until every opener has tried
            journal.close()

        threads = [threading.Thread(target=open_it) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["locked", "locked", "writer"]


TRADING_LOOP = """
import sys
from decimal import Decimal
from mm_bot.engine.order_states import OrderState
from mm_bot.journal import Journal
from mm_bot.model import Instrument, Liquidity, OrderRequest, OwnFill, Side

btc = Instrument("BTC/USDT", "BTC", "USDT", Decimal("0.1"), Decimal("0.001"))
journal = Journal.open(sys.argv[1])
journal.start_session("paper", "cfg", 1)
n = 0
while True:
    n += 1
    cid, side, price, qty = f"c{n}", Side.BUY if n % 3 else Side.SELL, 1000 + n % 7, 1 + n % 5
    journal.record_order_intent(OrderRequest(cid, side, price, qty), "BTC/USDT", n)
    print("intent", cid, flush=True)
    journal.record_fill(OwnFill(n, cid, side, price, qty, Liquidity.MAKER, 0.25 * (n % 3), f"t{n}"), btc)
    print("fill", cid, f"t{n}", flush=True)
    journal.update_order_state(cid, OrderState.FILLED, n)
    journal.record_decision(n, "BTC/USDT", side, "send", "optimal_price")
"""


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_at_a_random_point_loses_no_reported_write(tmp_path: Path, seed: int) -> None:
    """After a SIGKILL mid-loop every reported intent and fill is stored, totals match, lock is free."""
    rng = random.Random(seed)
    path = tmp_path / "j.sqlite"
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(TRADING_LOOP), str(path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    lines: list[str] = []
    target = rng.randint(20, 400)
    while sum(line.startswith("fill") for line in lines) < target:
        line = child.stdout.readline()
        assert line, "the child stopped early"
        lines.append(line)
    time.sleep(rng.random() * 0.005)  # let it run on to an arbitrary point of its loop
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL
    lines += child.stdout.readlines()  # what it printed before it died
    child.stdout.close()
    # A line cut short by the kill was not reported (its print had not finished).
    records = [line.split() for line in lines if line.endswith("\n")]
    intents = [r[1] for r in records if r[0] == "intent"]
    reported = {(r[1], r[2]) for r in records if r[0] == "fill"}

    with Journal.open(path) as journal:  # the lock was released by the kill
        fills = journal.fills("BTC/USDT")
        stored = {(f.client_order_id, f.trade_id) for f in fills}
        assert reported <= stored and len(stored) <= len(reported) + 1
        assert journal.fill_keys("BTC/USDT") == stored
        for cid in intents:
            assert journal.order(cid) is not None
        assert all(journal.order(f.client_order_id) is not None for f in fills)  # intent before fill
        assert journal.totals("BTC/USDT") == LedgerTotals(
            sum(f.side * f.qty_lots for f in fills),
            sum(-f.side * f.price_ticks * f.qty_lots for f in fills),
            sum(f.fee_quote for f in fills),  # multiples of 0.25: exact in binary
            sum(f.qty_lots for f in fills),
            len(fills),
            fills[-1].ts_ns,
        )
        open_orders = journal.open_orders()  # the last order, if killed before its state update
        assert len(open_orders) <= 1 and all(o.state is OrderState.PENDING_NEW for o in open_orders)
        assert [s.id for s in journal.crashed_sessions()] == [1]
