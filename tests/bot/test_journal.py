"""The SQLite journal on real files: restarts restore state, fills are idempotent, intents survive crashes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mm_bot.engine.orders import OrderState
from mm_bot.intent_log import SLOT_SIZE, TEXT_MAX
from mm_bot.journal import SCHEMA_VERSION, Journal, JournalError, Position, intent_ring_path
from mm_bot.model import Instrument, Liquidity, OrderRequest, OrderType, OwnFill, Side

BTC = Instrument("BTC/USDT", "BTC", "USDT", tick_size=Decimal("0.1"), lot_size=Decimal("0.001"))
ETH = Instrument("ETH/USDT", "ETH", "USDT", tick_size=Decimal("0.01"), lot_size=Decimal("0.01"))


def req(cid: str, side: Side = Side.BUY, price: int = 1000, qty: int = 5) -> OrderRequest:
    return OrderRequest(cid, side, price, qty, OrderType.POST_ONLY)


def own_fill(
    cid: str, side: Side, price: int, qty: int, *, ts: int = 10, trade_id: str = "", fee: float = 0.01
) -> OwnFill:
    return OwnFill(ts, cid, side, price, qty, Liquidity.MAKER, fee, trade_id)


def reader(path: Path) -> sqlite3.Connection:
    """A second, read-only connection, as a dashboard or a restarted process would open it."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def test_open_creates_schema_in_wal_mode(tmp_path: Path) -> None:
    """A new journal stores its schema version in meta and uses WAL mode."""
    path = tmp_path / "var" / "journal-paper.sqlite"
    with Journal.open(path) as journal:
        assert journal.schema_version == SCHEMA_VERSION == 1
        conn = reader(path)
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("1",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        conn.close()


def test_open_waits_for_another_process_creating_the_same_journal(tmp_path: Path) -> None:
    """Two processes opening a new journal at once (the bot starting while a dashboard or a test
    polls the file): the second waits for the first's lock instead of failing "database is locked"
    (switching to WAL mode needs the lock, so the busy timeout must be set before it)."""
    path = tmp_path / "j.sqlite"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another opener in the middle of creating the file
    release = threading.Timer(0.3, holder.execute, ("COMMIT",))
    release.start()
    try:
        with Journal.open(path) as journal:
            assert journal.schema_version == SCHEMA_VERSION
    finally:
        release.join()
        holder.close()


def test_simultaneous_openers_of_a_new_journal_all_succeed(tmp_path: Path) -> None:
    """Several connections creating the same journal at the same moment: each one opens it, and the
    schema is created once (no "database is locked", no "table already exists")."""
    for round_ in range(10):
        path = tmp_path / f"j{round_}.sqlite"
        start = threading.Barrier(3)
        errors: list[BaseException] = []

        def open_it(
            path: Path = path, start: threading.Barrier = start, errors: list[BaseException] = errors
        ) -> None:
            start.wait()
            try:
                with Journal.open(path) as journal:
                    assert journal.schema_version == SCHEMA_VERSION
            except BaseException as exc:  # reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []


def test_reopen_restores_positions_balances_and_open_orders(tmp_path: Path) -> None:
    """Write, close, reopen: positions from fills, paper balances, open orders and sessions come back."""
    path = tmp_path / "j.sqlite"
    with Journal.open(path, synchronous="NORMAL") as journal:
        sid = journal.start_session("paper", "cfg123", 100)
        for cid, side in (("b1", Side.BUY), ("a1", Side.SELL), ("b2", Side.BUY)):
            journal.record_order_intent(req(cid, side), BTC.symbol, 110)
        journal.record_order_intent(req("e1"), ETH.symbol, 111)
        journal.update_order_state("b1", OrderState.FILLED, 120)
        journal.update_order_state("a1", OrderState.PARTIALLY_FILLED, 121)
        journal.update_order_state("e1", OrderState.CANCELLED, 122)
        assert journal.record_fill(own_fill("b1", Side.BUY, 1000, 5, trade_id="t1"), BTC)
        assert journal.record_fill(own_fill("a1", Side.SELL, 1010, 2, trade_id="t2"), BTC)
        journal.save_balances("paper", {"BTC": 1.003, "USDT": 9_899.8}, 130)
        journal.end_session(sid, 200)

    with Journal.open(path) as journal:
        pos = journal.position(BTC.symbol)
        assert pos.position_lots == 3 and pos.fill_count == 2
        assert pos.position_base == pytest.approx(0.003)
        assert pos.cash_quote == pytest.approx(-100.0 * 0.005 + 101.0 * 0.002)
        assert pos.fees_quote == pytest.approx(0.02)
        assert pos.volume_base == pytest.approx(0.007)
        assert journal.position(ETH.symbol) == Position(0.0, 0.0, 0.0, 0.0, 0, 0)
        assert journal.load_balances("paper") == {"BTC": 1.003, "USDT": 9_899.8}
        assert [(o.client_order_id, o.state) for o in journal.open_orders(BTC.symbol)] == [
            ("a1", OrderState.PARTIALLY_FILLED),
            ("b2", OrderState.PENDING_NEW),
        ]
        a1 = journal.order("a1")
        assert a1 is not None and (a1.side, a1.price_ticks, a1.qty_lots, a1.session_id) == (
            Side.SELL,
            1000,
            5,
            sid,
        )
        assert a1.order_type is OrderType.POST_ONLY and (a1.created_ns, a1.updated_ns) == (110, 121)
        assert [(s.id, s.mode, s.started_ns, s.ended_ns, s.config_hash) for s in journal.sessions()] == [
            (sid, "paper", 100, 200, "cfg123")
        ]


def test_replayed_fill_is_not_double_counted(tmp_path: Path) -> None:
    """The same trade id twice (or the same fill without a trade id twice) is stored once."""
    with Journal.open(tmp_path / "j.sqlite") as journal:
        journal.record_order_intent(req("b1"), BTC.symbol, 1)
        assert journal.record_fill(own_fill("b1", Side.BUY, 1000, 2, trade_id="t9"), BTC) is True
        assert journal.record_fill(own_fill("b1", Side.BUY, 1000, 2, ts=99, trade_id="t9"), BTC) is False
        no_id = own_fill("b1", Side.BUY, 1000, 1, ts=20)
        assert journal.record_fill(no_id, BTC) is True
        assert journal.record_fill(no_id, BTC) is False
        assert journal.record_fill(own_fill("b1", Side.BUY, 1000, 1, ts=21), BTC) is True
        assert journal.position(BTC.symbol).position_lots == 4
        assert journal.position(BTC.symbol).fill_count == 3


def test_intent_is_committed_before_send_and_unique(tmp_path: Path) -> None:
    """Right after record_order_intent another connection sees the order; a reused client id raises."""
    path = tmp_path / "j.sqlite"
    with Journal.open(path) as journal:
        journal.record_order_intent(req("c1"), BTC.symbol, 5)
        conn = reader(path)
        assert conn.execute("SELECT state FROM orders WHERE client_order_id = 'c1'").fetchone() == (
            "pending_new",
        )
        conn.close()
        with pytest.raises(JournalError, match="'c1' is already journaled"):
            journal.record_order_intent(req("c1"), BTC.symbol, 6)


CRASHING_RUN = """
import os, sys
from decimal import Decimal
from mm_bot.engine.orders import OrderState
from mm_bot.journal import Journal
from mm_bot.model import Instrument, Liquidity, OrderRequest, OwnFill, Side

btc = Instrument("BTC/USDT", "BTC", "USDT", Decimal("0.1"), Decimal("0.001"))
journal = Journal.open(sys.argv[1])
journal.start_session("live", "cfg", 1)
journal.record_order_intent(OrderRequest("sent", Side.BUY, 1000, 5), "BTC/USDT", 2)
journal.record_order_intent(OrderRequest("done", Side.SELL, 1010, 5), "BTC/USDT", 3)
journal.record_fill(OwnFill(4, "done", Side.SELL, 1010, 5, Liquidity.MAKER, 0.0, "t1"), btc)
journal.update_order_state("done", OrderState.FILLED, 4)
journal.record_decision(5, "BTC/USDT", Side.BUY, "send", "optimal_price")  # buffered, never flushed
os._exit(0)  # crash: no close, no flush, no checkpoint
"""


def test_crash_after_intent_reports_the_order_as_open(tmp_path: Path) -> None:
    """A process killed after the intent (no ack, no close) leaves the order in open_orders on reopen."""
    path = tmp_path / "journal-live.sqlite"
    subprocess.run([sys.executable, "-c", textwrap.dedent(CRASHING_RUN), str(path)], check=True, timeout=60)
    assert Path(f"{path}-wal").exists()  # the committed data lives in the WAL, never checkpointed
    with Journal.open(path) as journal:
        assert [(o.client_order_id, o.state) for o in journal.open_orders()] == [
            ("sent", OrderState.PENDING_NEW)
        ]
        assert journal.position("BTC/USDT").position_lots == -5
        assert journal.sessions()[0].ended_ns is None  # the crashed session never ended
        conn = reader(path)
        assert conn.execute("SELECT COUNT(*) FROM decisions").fetchone() == (0,)
        conn.close()


def test_concurrent_reader_sees_committed_data_only(tmp_path: Path) -> None:
    """While the journal is open, a reader sees fills at once and decisions only after flush()."""
    path = tmp_path / "j.sqlite"
    with Journal.open(path, decision_batch=10) as journal:
        conn = reader(path)
        journal.record_order_intent(req("b1"), BTC.symbol, 1)
        journal.record_fill(own_fill("b1", Side.BUY, 1000, 5, trade_id="t1"), BTC)
        assert conn.execute("SELECT COUNT(*), SUM(qty_lots) FROM fills").fetchone() == (1, 5)
        details = {"reservation": 99.95, "spread": 0.1}
        journal.record_decision(7, BTC.symbol, Side.BUY, "send", "optimal_price", 999, details)
        journal.record_decision(8, BTC.symbol, None, "nothing", "stale_book")
        assert journal.pending_decisions == 2
        assert conn.execute("SELECT COUNT(*) FROM decisions").fetchone() == (0,)
        assert journal.flush() == 2 and journal.pending_decisions == 0
        rows = conn.execute(
            "SELECT ts_ns, side, action, reason, price_ticks, details FROM decisions ORDER BY id"
        )
        assert rows.fetchall() == [
            (7, 1, "send", "optimal_price", 999, '{"reservation":99.95,"spread":0.1}'),
            (8, None, "nothing", "stale_book", None, None),
        ]
        for ts in range(10):  # a full buffer flushes by itself
            journal.record_decision(ts, BTC.symbol, Side.SELL, "keep", "within_tolerance")
        assert journal.pending_decisions == 0
        assert conn.execute("SELECT COUNT(*) FROM decisions").fetchone() == (12,)
        journal.record_decision(99, BTC.symbol, Side.SELL, "keep", "within_tolerance")
    assert conn.execute("SELECT COUNT(*) FROM decisions").fetchone() == (13,)  # close() flushed
    conn.close()


def test_balances_snapshot_is_replaced_per_mode(tmp_path: Path) -> None:
    """save_balances replaces the whole snapshot of its mode and leaves other modes alone."""
    with Journal.open(tmp_path / "j.sqlite") as journal:
        journal.save_balances("paper", {"BTC": 1.0, "ETH": 2.0, "USDT": 100.0}, 1)
        journal.save_balances("backtest", {"USDT": 5.0}, 1)
        journal.save_balances("paper", {"BTC": 1.5, "USDT": 50.0}, 2)
        assert journal.load_balances("paper") == {"BTC": 1.5, "USDT": 50.0}
        assert journal.load_balances("backtest") == {"USDT": 5.0}
        assert journal.load_balances("live") == {}


def test_unknown_order_state_update_returns_false(tmp_path: Path) -> None:
    """Updating an order the journal never saw reports False (reconcile it instead)."""
    with Journal.open(tmp_path / "j.sqlite") as journal:
        assert journal.update_order_state("ghost", OrderState.OPEN, 1) is False
        assert journal.order("ghost") is None


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A journal written by a newer mm-bot is not opened (no silent downgrade)."""
    path = tmp_path / "j.sqlite"
    Journal.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(JournalError, match="schema v99 is newer"):
        Journal.open(path)


def test_open_orders_query_uses_the_partial_index(tmp_path: Path) -> None:
    """The open-orders query matches the partial index predicate, so it stays cheap as orders pile up."""
    path = tmp_path / "j.sqlite"
    with Journal.open(path) as journal:
        journal.record_order_intent(req("b1"), BTC.symbol, 1)
        trace: list[str] = []
        journal._conn.set_trace_callback(trace.append)
        journal.open_orders(BTC.symbol)
        journal._conn.set_trace_callback(None)
        plan = journal._conn.execute(
            "EXPLAIN QUERY PLAN " + trace[-1].replace("'BTC/USDT'", "?"), (BTC.symbol,)
        )
        assert any("orders_not_terminal" in row[-1] for row in plan.fetchall())


@pytest.mark.parametrize(("synchronous", "level"), [("NORMAL", 1), ("FULL", 2)])
def test_durability_level_is_applied(tmp_path: Path, synchronous: str, level: int) -> None:
    """The synchronous knob reaches SQLite; anything else is refused before a file is touched."""
    with Journal.open(tmp_path / "j.sqlite", synchronous=synchronous) as journal:  # type: ignore[arg-type]
        assert journal._conn.execute("PRAGMA synchronous").fetchone() == (level,)
    with pytest.raises(ValueError, match="synchronous"):
        Journal.open(tmp_path / "other.sqlite", synchronous="OFF")  # type: ignore[arg-type]
    assert not (tmp_path / "other.sqlite").exists()


# ---------------------------------------------------------------------- the mmap intent ring
def ring_journal(path: Path, **kwargs: Any) -> Journal:
    journal = Journal.open(path, intent_ring=True, **kwargs)
    assert journal.uses_intent_ring
    return journal


def crash(journal: Journal) -> None:
    """Drop a journal as a killed process would: no flush, no close; only its OS handles go."""
    if journal._intents is not None:
        journal._intents.close()
    journal._conn.close()


def committed_ids(path: Path) -> list[str]:
    conn = reader(path)
    rows = conn.execute("SELECT client_order_id FROM orders ORDER BY rowid").fetchall()
    conn.close()
    return [cid for (cid,) in rows]


RING_CRASH = """
import os, sys
from mm_bot.journal import Journal
from mm_bot.model import OrderRequest, Side

journal = Journal.open(sys.argv[1], intent_ring=True)
assert journal.uses_intent_ring
journal.start_session("live", "cfg", 1)
journal.record_order_intent(OrderRequest("sent", Side.SELL, 1010, 5), "BTC/USDT", 2)
os._exit(0)  # killed between the write-ahead and its flush
"""


def test_ring_intent_survives_a_killed_process(tmp_path: Path) -> None:
    """An intent only in the ring (never committed) is an open pending_new order after reopening."""
    path = tmp_path / "journal-live.sqlite"
    subprocess.run([sys.executable, "-c", textwrap.dedent(RING_CRASH), str(path)], check=True, timeout=60)
    assert committed_ids(path) == []
    with Journal.open(path) as journal:  # any opener replays, ring or not
        [order] = journal.open_orders()
        assert (order.client_order_id, order.state, order.side, order.price_ticks, order.qty_lots) == (
            "sent",
            OrderState.PENDING_NEW,
            Side.SELL,
            1010,
            5,
        )
        assert (order.order_type, order.created_ns, order.session_id) == (OrderType.POST_ONLY, 2, 1)


def test_torn_ring_slot_is_ignored_on_reopen(tmp_path: Path) -> None:
    """A slot that fails its CRC (crash mid-write: that order was never sent) is not resurrected."""
    path = tmp_path / "j.sqlite"
    journal = ring_journal(path, intent_slots=8)
    journal.record_order_intent(req("ok"), BTC.symbol, 1)
    journal.record_order_intent(req("torn"), BTC.symbol, 2)
    crash(journal)
    ring = Path(f"{path}.intents")
    raw = bytearray(ring.read_bytes())
    raw[(2 % 8 + 1) * SLOT_SIZE + 50] ^= 0x5A  # inside seq 2's client order id (text starts at 48)
    ring.write_bytes(bytes(raw))
    with ring_journal(path) as journal:
        assert [o.client_order_id for o in journal.open_orders()] == ["ok"]


def test_more_intents_than_slots_are_all_kept(tmp_path: Path) -> None:
    """With no flush for longer than the ring, the journal commits before reusing a pending slot."""
    path = tmp_path / "j.sqlite"
    journal = ring_journal(path, intent_slots=4)
    for n in range(10):
        journal.record_order_intent(req(f"w{n}"), BTC.symbol, n)
        assert journal.pending_intents <= 4
    assert committed_ids(path) == [f"w{n}" for n in range(8)]
    crash(journal)
    with ring_journal(path, intent_slots=4) as journal:
        assert [o.client_order_id for o in journal.open_orders()] == [f"w{n}" for n in range(10)]


def test_duplicate_id_raises_pending_flushed_or_replayed(tmp_path: Path) -> None:
    """A known client order id raises before anything is written: pending, committed, from an
    earlier run, or only in a crashed run's ring."""
    path = tmp_path / "j.sqlite"
    journal = ring_journal(path)
    journal.record_order_intent(req("c1"), BTC.symbol, 1)
    with pytest.raises(JournalError, match="'c1' is already journaled"):
        journal.record_order_intent(req("c1"), BTC.symbol, 2)
    assert journal.flush_intents() == 1 and journal.flush_intents() == 0
    with pytest.raises(JournalError, match="'c1' is already journaled"):
        journal.record_order_intent(req("c1"), BTC.symbol, 3)
    journal.record_order_intent(req("c2"), BTC.symbol, 4)
    crash(journal)
    with ring_journal(path) as journal:
        for cid in ("c1", "c2"):
            with pytest.raises(JournalError, match=f"'{cid}' is already journaled"):
                journal.record_order_intent(req(cid), BTC.symbol, 5)
        assert journal.pending_intents == 0
        order = journal.order("c1")
        assert order is not None and order.created_ns == 1


def test_order_calls_right_after_the_intent_see_it(tmp_path: Path) -> None:
    """update_order_state, record_fill, order, open_orders and position commit pending intents first."""
    path = tmp_path / "j.sqlite"
    with ring_journal(path) as journal:
        journal.record_order_intent(req("b1"), BTC.symbol, 1)
        assert committed_ids(path) == []  # the visibility ring mode trades away
        assert journal.update_order_state("b1", OrderState.OPEN, 2) is True
        assert journal.pending_intents == 0 and committed_ids(path) == ["b1"]
        journal.record_order_intent(req("b2"), BTC.symbol, 3)
        assert journal.record_fill(own_fill("b2", Side.BUY, 1000, 2, trade_id="t1"), BTC) is True
        journal.record_order_intent(req("b3"), BTC.symbol, 4)
        assert [o.client_order_id for o in journal.open_orders(BTC.symbol)] == ["b1", "b2", "b3"]
        journal.record_order_intent(req("b4"), BTC.symbol, 5)
        order = journal.order("b4")
        assert order is not None and order.state is OrderState.PENDING_NEW
        journal.record_order_intent(req("b5"), BTC.symbol, 6)
        assert journal.position(BTC.symbol).position_lots == 2
        journal.record_order_intent(req("b6"), BTC.symbol, 7)
        journal.record_decision(8, BTC.symbol, Side.BUY, "send", "optimal_price")
        assert journal.flush() == 1 and journal.pending_intents == 0
        journal.record_order_intent(req("b7"), BTC.symbol, 9)
    assert committed_ids(path) == [f"b{n}" for n in range(1, 8)]  # close() flushed


def test_replay_is_idempotent_across_reopenings(tmp_path: Path) -> None:
    """Replaying slots whose orders SQLite already holds changes nothing: no duplicate, no state
    reset to pending_new, however often the journal is reopened."""
    path = tmp_path / "j.sqlite"
    journal = ring_journal(path)
    for cid in ("r1", "r2", "r3"):
        journal.record_order_intent(req(cid), BTC.symbol, 1)
    journal.update_order_state("r1", OrderState.CANCELLED, 2)  # r1 to r3 committed, still in the ring
    journal.record_order_intent(req("r4"), BTC.symbol, 3)  # only in the ring
    crash(journal)
    for _ in range(2):
        with Journal.open(path) as journal:
            assert [(o.client_order_id, o.state) for o in journal.open_orders()] == [
                ("r2", OrderState.PENDING_NEW),
                ("r3", OrderState.PENDING_NEW),
                ("r4", OrderState.PENDING_NEW),
            ]
            order = journal.order("r1")
            assert order is not None and order.state is OrderState.CANCELLED
    assert committed_ids(path) == ["r1", "r2", "r3", "r4"]


def test_second_opener_neither_writes_nor_replays_a_live_ring(tmp_path: Path) -> None:
    """While a writer holds the ring, another journal on the file (a monitor, a second bot) leaves the
    ring alone and commits its own intents at once."""
    path = tmp_path / "j.sqlite"
    with ring_journal(path) as writer:
        writer.record_order_intent(req("w1"), BTC.symbol, 1)
        with Journal.open(path) as monitor:
            assert monitor.open_orders() == []  # not flushed yet, and not stolen from the ring
        with Journal.open(path, intent_ring=True) as second:
            assert not second.uses_intent_ring
            second.record_order_intent(req("s1"), BTC.symbol, 2)
            assert committed_ids(path) == ["s1"]
        assert writer.pending_intents == 1
    assert committed_ids(path) == ["s1", "w1"]


def test_ring_of_another_journal_file_is_not_replayed(tmp_path: Path) -> None:
    """Deleting the journal but not its ring must not bring the deleted journal's orders back."""
    path = tmp_path / "j.sqlite"
    journal = ring_journal(path)
    journal.record_order_intent(req("old"), BTC.symbol, 1)
    crash(journal)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with Journal.open(path) as journal:
        assert journal.open_orders() == []
    with ring_journal(path) as journal:
        assert journal.open_orders() == []
        journal.record_order_intent(req("new"), BTC.symbol, 2)
    assert committed_ids(path) == ["new"]


def test_overlong_id_is_committed_directly(tmp_path: Path) -> None:
    """An id and market too long for a slot fall back to a commit (visible at once), in order."""
    path = tmp_path / "j.sqlite"
    long_id = "L" * TEXT_MAX
    with ring_journal(path) as journal:
        journal.record_order_intent(req("short"), BTC.symbol, 1)
        journal.record_order_intent(req(long_id), BTC.symbol, 2)
        assert committed_ids(path) == ["short", long_id] and journal.pending_intents == 0
        with pytest.raises(JournalError, match="already journaled"):
            journal.record_order_intent(req(long_id), BTC.symbol, 3)


def test_ring_refuses_full_durability(tmp_path: Path) -> None:
    """FULL asks for an fsync per intent, which the ring cannot give: refused, not silently weakened."""
    with pytest.raises(ValueError, match="FULL"):
        Journal.open(tmp_path / "j.sqlite", synchronous="FULL", intent_ring=True)


def test_ring_in_another_directory_replays_after_a_crash_and_goes_on_a_clean_close(tmp_path: Path) -> None:
    """``ring_dir`` (the app puts the ring on tmpfs): one ring per journal there, replayed after a
    crash like one beside the journal, and deleted by a clean close (it then holds nothing new)."""
    path, shm = tmp_path / "j.sqlite", tmp_path / "shm"
    shm.mkdir()
    ring = Path(intent_ring_path(path, shm))
    assert ring.parent == shm and ring != Path(intent_ring_path(tmp_path / "other.sqlite", shm))
    journal = ring_journal(path, ring_dir=shm)
    journal.record_order_intent(req("c1"), BTC.symbol, 1)
    crash(journal)
    assert ring.exists() and not Path(f"{path}.intents").exists()
    with ring_journal(path, ring_dir=shm) as journal:
        assert [o.client_order_id for o in journal.open_orders()] == ["c1"]
        journal.record_order_intent(req("c2"), BTC.symbol, 2)
    assert not ring.exists()
    assert committed_ids(path) == ["c1", "c2"]
