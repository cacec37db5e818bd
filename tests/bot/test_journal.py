"""The SQLite journal on real files: what a restart restores, exact totals, once-only rows, migration."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from mm_bot.engine.ledger import Ledger
from mm_bot.engine.order_states import OrderState
from mm_bot.journal import (
    SCHEMA_VERSION,
    Journal,
    JournalError,
    JournalWriteError,
    LedgerTotals,
    utc_day,
)
from mm_bot.journal_schema import _MIGRATIONS, INSERT_FILL, transaction
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
    """A raw read-only connection, as a dashboard or the sqlite3 shell would open the file."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def test_open_creates_schema_in_wal_mode(tmp_path: Path) -> None:
    """A new journal stores its schema version in meta and uses WAL mode."""
    path = tmp_path / "var" / "journal-paper.sqlite"
    with Journal.open(path) as journal:
        assert journal.schema_version == SCHEMA_VERSION == 3
        conn = reader(path)
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("3",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        conn.close()


def test_open_waits_for_another_connection_creating_the_same_file(tmp_path: Path) -> None:
    """A raw connection locking a new file delays the switch to WAL mode instead of failing it."""
    path = tmp_path / "j.sqlite"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, holder.execute, ("COMMIT",))
    release.start()
    try:
        with Journal.open(path) as journal:
            assert journal.schema_version == SCHEMA_VERSION
    finally:
        release.join()
        holder.close()


def test_reopen_restores_orders_fills_sessions_and_balances(tmp_path: Path) -> None:
    """Write, close, reopen: open orders, their rows, totals, balances and sessions come back."""
    path = tmp_path / "j.sqlite"
    with Journal.open(path) as journal:
        sid = journal.start_session("paper", "cfg123", 100)
        for cid, side in (("b1", Side.BUY), ("a1", Side.SELL), ("b2", Side.BUY)):
            journal.record_order_intent(req(cid, side), BTC.symbol, 110)
        journal.record_order_intent(req("e1"), ETH.symbol, 111)
        journal.update_order_state("b1", OrderState.FILLED, 120)
        journal.update_order_state("a1", OrderState.PARTIALLY_FILLED, 121)
        journal.update_order_state("e1", OrderState.CANCELLED, 122, reason="expired")
        journal.update_order_state("e1", OrderState.CANCELLED, 123)  # a late fill: the reason stays
        assert journal.record_fill(own_fill("b1", Side.BUY, 1000, 5, ts=120, trade_id="t1"), BTC)
        assert journal.record_fill(own_fill("a1", Side.SELL, 1010, 2, ts=121, trade_id="t2"), BTC)
        journal.set_starting_balances("paper/BTC/USDT", {"BTC": 1.0, "USDT": 10_000.0}, 100)
        journal.end_session(sid, 200)

    with Journal.open(path) as journal:
        assert journal.totals(BTC.symbol) == LedgerTotals(3, -5000 + 2020, 0.02, 7, 2, 121)
        assert journal.starting_balances("paper/BTC/USDT") == {"BTC": 1.0, "USDT": 10_000.0}
        assert [(o.client_order_id, o.state) for o in journal.open_orders(BTC.symbol)] == [
            ("a1", OrderState.PARTIALLY_FILLED),
            ("b2", OrderState.PENDING_NEW),
        ]
        a1 = journal.order("a1")
        assert a1 is not None
        assert (a1.side, a1.price_ticks, a1.qty_lots, a1.order_type, a1.session_id) == (
            Side.SELL,
            1000,
            5,
            OrderType.POST_ONLY,
            sid,
        )
        assert (a1.created_ns, a1.updated_ns, a1.reason) == (110, 121, "")
        e1 = journal.order("e1")
        assert e1 is not None and (e1.state, e1.updated_ns, e1.reason) == (
            OrderState.CANCELLED,
            123,
            "expired",
        )
        [session] = journal.sessions()
        assert (session.id, session.mode, session.started_ns, session.ended_ns) == (sid, "paper", 100, 200)
        assert (session.config_hash, session.crashed) == ("cfg123", False)


def test_totals_are_exact_sums_over_the_fills(tmp_path: Path) -> None:
    """totals() sums side*qty, -side*price*qty, fees, qty and count of one market, hand-computed."""
    with Journal.open(tmp_path / "j.sqlite") as journal:
        assert journal.totals(BTC.symbol) == LedgerTotals(0, 0, 0.0, 0, 0, None)
        journal.record_fill(own_fill("b1", Side.BUY, 1000, 5, ts=30, trade_id="t1", fee=0.5), BTC)
        journal.record_fill(own_fill("a1", Side.SELL, 1010, 2, ts=20, trade_id="t2", fee=-0.25), BTC)
        journal.record_fill(own_fill("e1", Side.SELL, 7, 100, ts=99, trade_id="t3"), ETH)
        totals = journal.totals(BTC.symbol)
        # buy 5 lots at 1000 ticks: -5000; sell 2 lots at 1010: +2020
        assert totals == LedgerTotals(3, -2980, 0.25, 7, 2, 30)
        cash = Decimal(totals.notional_ticklots) * BTC.tick_size * BTC.lot_size
        assert cash == Decimal("-0.298")  # -100.0 * 0.005 + 101.0 * 0.002
        assert journal.totals(ETH.symbol) == LedgerTotals(-100, 700, 0.01, 100, 1, 99)


def test_fees_in_base_and_third_assets_survive_a_restart(tmp_path: Path) -> None:
    """Fees charged in base and in BNB are stored per fill and summed by asset when the journal is
    reopened: a restarted ledger holds the same position net of base fees."""
    path = tmp_path / "j.sqlite"
    buy = OwnFill(10, "b1", Side.BUY, 1000, 5, Liquidity.MAKER, 0.0, "t1", fee_base=0.00002)
    bnb = OwnFill(11, "a1", Side.SELL, 1010, 2, Liquidity.TAKER, 0.0, "t2", 0.0, 0.003, "BNB")
    quote = OwnFill(12, "a2", Side.SELL, 1010, 1, Liquidity.TAKER, 0.25, "t3")
    with Journal.open(path) as journal:
        for fill in (buy, bnb, quote):
            journal.record_fill(fill, BTC)
    with Journal.open(path) as journal:
        totals = journal.totals(BTC.symbol)
        assert journal.fills(BTC.symbol) == [buy, bnb, quote]
    assert totals == LedgerTotals(2, -5000 + 3030, 0.25, 8, 3, 12, 0.00002, (("BNB", 0.003),))
    ledger = Ledger(float(BTC.tick_size), float(BTC.lot_size))
    ledger.restore(totals, ())
    assert ledger.position_base == pytest.approx(2 * float(BTC.lot_size) - 0.00002)
    assert ledger.fees_other == {"BNB": 0.003}


def test_volume_of_100k_tiny_fills_is_an_exact_integer(tmp_path: Path) -> None:
    """100,000 fills of 0.00001 sum to exactly 100,000 lots, where the float sum of qty is off."""
    sats = Instrument("BTC/USDT", "BTC", "USDT", tick_size=Decimal("0.01"), lot_size=Decimal("0.00001"))
    rows = []
    for i in range(100_000):
        side = Side.BUY if i % 3 else Side.SELL
        price = 6_000_000 + i % 101
        amounts = (price, 1, sats.price_of(price), sats.qty_of(1))
        rows.append(
            (f"c{i}", sats.symbol, int(side), *amounts, 0.0, "maker", i, f"t{i}", f"t:t{i}", 0.0, 0.0, "")
        )
    with Journal.open(tmp_path / "j.sqlite") as journal:
        with transaction(journal._conn):
            journal._conn.executemany(INSERT_FILL, rows)  # record_fill's statement
        totals = journal.totals(sats.symbol)
        (float_volume,) = journal._conn.execute("SELECT TOTAL(qty) FROM fills").fetchone()
    assert (totals.volume_lots, totals.fill_count, totals.last_fill_ts_ns) == (100_000, 100_000, 99_999)
    assert totals.position_lots == sum(row[2] for row in rows)
    assert totals.notional_ticklots == sum(-row[2] * row[3] for row in rows)
    assert float_volume != 1.0  # why the volume is an integer sum of lots
    assert totals.volume_lots * sats.lot_size == Decimal(1)


def test_replayed_fill_is_not_double_counted(tmp_path: Path) -> None:
    """The same trade id twice (or the same fill without a trade id twice) is stored once."""
    with Journal.open(tmp_path / "j.sqlite") as journal:
        assert journal.record_fill(own_fill("b1", Side.BUY, 1000, 2, trade_id="t9"), BTC) is True
        assert journal.record_fill(own_fill("b1", Side.BUY, 1000, 2, ts=99, trade_id="t9"), BTC) is False
        no_id = own_fill("b1", Side.BUY, 1000, 1, ts=20)
        assert journal.record_fill(no_id, BTC) is True
        assert journal.record_fill(no_id, BTC) is False
        assert journal.record_fill(own_fill("b1", Side.BUY, 1000, 1, ts=21), BTC) is True
        assert journal.record_fill(own_fill("b2", Side.BUY, 1000, 1, trade_id="t9"), BTC) is True
        totals = journal.totals(BTC.symbol)
        assert (totals.position_lots, totals.fill_count) == (5, 4)


def test_fills_and_fill_keys_read_back_what_was_stored(tmp_path: Path) -> None:
    """fills() gives back the OwnFills oldest first (since inclusive); fill_keys() the trade-id keys."""
    late = OwnFill(50, "b1", Side.BUY, 1000, 2, Liquidity.TAKER, 0.125, "t2")
    early = OwnFill(40, "b1", Side.BUY, 1001, 1, Liquidity.MAKER, -0.5, "t1")
    no_id = OwnFill(45, "a1", Side.SELL, 1002, 3, Liquidity.MAKER, 0.0, "")
    other = OwnFill(41, "e1", Side.SELL, 7, 1, Liquidity.MAKER, 0.0, "t1")
    with Journal.open(tmp_path / "j.sqlite") as journal:
        for fill in (late, early, no_id):
            journal.record_fill(fill, BTC)
        journal.record_fill(other, ETH)
        assert journal.fills(BTC.symbol) == [early, no_id, late]
        assert journal.fills(BTC.symbol, since_ts_ns=45) == [no_id, late]
        assert journal.fills(BTC.symbol, since_ts_ns=51) == []
        assert journal.fill_keys(BTC.symbol) == {("b1", "t1"), ("b1", "t2")}
        assert journal.fill_keys(ETH.symbol) == {("e1", "t1")}


def test_intent_is_committed_before_send_and_unique(tmp_path: Path) -> None:
    """Right after record_order_intent another connection sees the order; a reused client id raises."""
    path = tmp_path / "j.sqlite"
    with Journal.open(path) as journal:
        sid = journal.start_session("live", "cfg", 1)
        journal.record_order_intent(req("c1"), BTC.symbol, 5)
        conn = reader(path)
        row = conn.execute("SELECT state, session_id, created_ns FROM orders WHERE client_order_id = 'c1'")
        assert row.fetchone() == ("pending_new", sid, 5)
        conn.close()
        with pytest.raises(JournalError, match="'c1' is already journaled"):
            journal.record_order_intent(req("c1", Side.SELL), BTC.symbol, 6)
        order = journal.order("c1")
        assert order is not None and order.side is Side.BUY  # the first intent is left as it was


def test_a_batch_commits_once_at_its_end_or_not_at_all(tmp_path: Path) -> None:
    """Writes inside ``batch`` (transactions of their own included) are invisible to others until the
    block ends, then all there; a failure inside stores none of them."""
    path = tmp_path / "j.sqlite"
    with Journal.open(path) as journal:
        journal.start_session("paper", "cfg", 1)
        conn = reader(path)
        with journal.batch():
            journal.record_order_intent(req("c1"), BTC.symbol, 5)
            journal.record_fill(own_fill("c1", Side.BUY, 1000, 5, trade_id="t1"), BTC)
            journal.set_starting_balances("paper/BTC/USDT", {"BTC": 1.0}, 5)
            assert conn.execute("SELECT COUNT(*) FROM orders").fetchone() == (0,)  # not yet committed
        assert conn.execute("SELECT COUNT(*) FROM orders").fetchone() == (1,)
        assert journal.totals(BTC.symbol).fill_count == 1

        def failing_batch() -> None:
            with journal.batch():
                journal.record_order_intent(req("c2"), BTC.symbol, 6)
                journal.record_order_intent(req("c1"), BTC.symbol, 7)  # a duplicate: the batch fails

        with pytest.raises(JournalError):
            failing_batch()
        assert journal.order("c2") is None
        assert conn.execute("SELECT COUNT(*) FROM orders").fetchone() == (1,)
        conn.close()


def test_unknown_order_state_update_returns_false(tmp_path: Path) -> None:
    """Updating an order the journal never saw reports False (reconcile it instead)."""
    with Journal.open(tmp_path / "j.sqlite") as journal:
        assert journal.update_order_state("ghost", OrderState.OPEN, 1) is False
        assert journal.order("ghost") is None


def test_crashed_sessions_are_listed_then_closed_once(tmp_path: Path) -> None:
    """A session that never ended is crashed for the next writer; closing marks it ended and crashed, once."""
    path = tmp_path / "j.sqlite"
    with Journal.open(path) as journal:
        clean = journal.start_session("paper", "cfg", 1)
        journal.end_session(clean, 2)
        crashed = journal.start_session("paper", "cfg", 3)  # closed below without end_session
    with Journal.open(path) as journal:
        current = journal.start_session("paper", "cfg", 10)
        assert [s.id for s in journal.crashed_sessions()] == [crashed]
        assert journal.close_crashed_sessions(11) == [crashed]
        assert journal.crashed_sessions() == []
        assert journal.close_crashed_sessions(12) == []
        assert [(s.id, s.ended_ns, s.crashed) for s in journal.sessions()] == [
            (clean, 2, False),
            (crashed, 11, True),
            (current, None, False),
        ]


def test_starting_balances_are_stored_once_per_account(tmp_path: Path) -> None:
    """The first set_starting_balances of an account is kept across calls and reopenings."""
    path = tmp_path / "j.sqlite"
    with Journal.open(path) as journal:
        assert journal.starting_balances("paper/BTC/USDT") == {}
        assert journal.set_starting_balances("paper/BTC/USDT", {"BTC": 1.0, "USDT": 1000.0}, 1) is True
        assert journal.set_starting_balances("paper/BTC/USDT", {"BTC": 9.0}, 2) is False
        assert journal.set_starting_balances("paper/ETH/USDT", {"ETH": 2.0}, 3) is True
        with pytest.raises(ValueError, match="no starting balances"):
            journal.set_starting_balances("paper/X", {}, 4)
    with Journal.open(path) as journal:
        assert journal.set_starting_balances("paper/BTC/USDT", {"USDT": 5.0}, 5) is False
        assert journal.starting_balances("paper/BTC/USDT") == {"BTC": 1.0, "USDT": 1000.0}
        assert journal.starting_balances("paper/ETH/USDT") == {"ETH": 2.0}


def test_day_baseline_is_stored_once_per_market_and_day(tmp_path: Path) -> None:
    """The first baseline of a (market, UTC day) survives later calls and a restart."""
    path = tmp_path / "j.sqlite"
    day = utc_day(1_704_067_200 * 10**9)  # 2024-01-01T00:00:00Z
    assert day == 19_723 and utc_day(day * 86_400 * 10**9 - 1) == day - 1
    with Journal.open(path) as journal:
        assert journal.day_baseline(BTC.symbol, day) is None
        assert journal.set_day_baseline(BTC.symbol, day, -12.5, 1) is True
        assert journal.set_day_baseline(BTC.symbol, day, 40.0, 2) is False
        assert journal.set_day_baseline(BTC.symbol, day + 1, 3.0, 3) is True
        assert journal.set_day_baseline(ETH.symbol, day, 7.0, 4) is True
    with Journal.open(path) as journal:
        assert journal.set_day_baseline(BTC.symbol, day, 99.0, 5) is False
        assert journal.day_baseline(BTC.symbol, day) == -12.5
        assert journal.day_baseline(BTC.symbol, day + 1) == 3.0
        assert journal.day_baseline(ETH.symbol, day) == 7.0


def test_balances_snapshot_is_replaced_per_mode(tmp_path: Path) -> None:
    """save_balances replaces the whole snapshot of its mode and leaves other modes alone."""
    with Journal.open(tmp_path / "j.sqlite") as journal:
        journal.save_balances("paper", {"BTC": 1.0, "ETH": 2.0, "USDT": 100.0}, 1)
        journal.save_balances("backtest", {"USDT": 5.0}, 1)
        journal.save_balances("paper", {"BTC": 1.5, "USDT": 50.0}, 2)
        assert journal.load_balances("paper") == {"BTC": 1.5, "USDT": 50.0}
        assert journal.load_balances("backtest") == {"USDT": 5.0}
        assert journal.load_balances("live") == {}


def test_the_wal_is_checkpointed_when_asked_not_inside_an_intents_commit(tmp_path: Path) -> None:
    """400 intents, each its own commit (about 1,200 WAL pages, past SQLite's default checkpoint of
    1,000), leave the database file as the open left it: no intent's commit copied the WAL back.
    checkpoint_if_due, which the runner calls once its requests are out, does once 1,000 rows are
    new; not inside a batch, not when little is new."""
    path = tmp_path / "j.sqlite"
    with Journal.open(path) as journal:
        journal.start_session("live", "test", 0)
        opened_size = path.stat().st_size
        for n in range(400):
            journal.record_order_intent(OrderRequest(f"c{n}", Side.BUY, 1000 + n, 5), BTC.symbol, n)
        assert path.stat().st_size == opened_size
        with journal.batch():
            for n in range(400, 1000):
                journal.record_order_intent(OrderRequest(f"c{n}", Side.BUY, 1000 + n, 5), BTC.symbol, n)
            assert journal.checkpoint_if_due() is False  # its transaction is open
        assert journal.checkpoint_if_due() is True
        assert path.stat().st_size > opened_size
        conn = reader(path)  # every row still there
        assert conn.execute("SELECT COUNT(*) FROM orders").fetchone() == (1000,)
        conn.close()
        journal.update_order_state("c1", OrderState.OPEN, 1001)
        assert journal.checkpoint_if_due() is False  # one row since: nothing worth a checkpoint
    with pytest.raises(JournalWriteError):  # closed: a journal error the recorder handles, not sqlite's
        journal.checkpoint_if_due()


def test_decisions_are_written_in_batches(tmp_path: Path) -> None:
    """A reader sees fills at once and decisions only after flush(), a full buffer or close()."""
    path = tmp_path / "j.sqlite"
    with Journal.open(path, decision_batch=10) as journal:
        conn = reader(path)
        journal.record_fill(own_fill("b1", Side.BUY, 1000, 5, trade_id="t1"), BTC)
        assert conn.execute("SELECT COUNT(*), SUM(qty_lots) FROM fills").fetchone() == (1, 5)
        details = {"reservation": 99.95, "spread": 0.1}
        journal.record_decision(7, BTC.symbol, Side.BUY, "send", "optimal_price", 999, details)
        journal.record_decision(8, BTC.symbol, None, "nothing", "stale_book")
        assert journal.pending_decisions == 2
        assert conn.execute("SELECT COUNT(*) FROM decisions").fetchone() == (0,)
        assert journal.flush() == 2 and journal.pending_decisions == 0 and journal.flush() == 0
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


CRASH_AFTER_INTENT = """
import os, sys
from decimal import Decimal
from mm_bot.engine.ledger import Ledger
from mm_bot.engine.order_states import OrderState
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
    """A writer dying after an intent leaves the order open, its fill counted, its session crashed."""
    path = tmp_path / "journal-live.sqlite"
    code = textwrap.dedent(CRASH_AFTER_INTENT)
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, timeout=60)
    assert Path(f"{path}-wal").exists()  # the committed data lives in the WAL, never checkpointed
    with Journal.open(path) as journal:
        assert [(o.client_order_id, o.state) for o in journal.open_orders()] == [
            ("sent", OrderState.PENDING_NEW)
        ]
        assert journal.totals("BTC/USDT").position_lots == -5
        assert [s.id for s in journal.crashed_sessions()] == [1]
        conn = reader(path)
        assert conn.execute("SELECT COUNT(*) FROM decisions").fetchone() == (0,)
        conn.close()


def test_readonly_opener_reads_a_live_journal_and_cannot_write(tmp_path: Path) -> None:
    """open_readonly needs no lock, sees the live writer's commits and cannot write."""
    path = tmp_path / "j.sqlite"
    with Journal.open(path) as writer:
        writer.record_order_intent(req("b1"), BTC.symbol, 1)
        writer.record_fill(own_fill("b1", Side.BUY, 1000, 5, trade_id="t1"), BTC)
        with Journal.open_readonly(path) as report:
            assert [o.client_order_id for o in report.open_orders()] == ["b1"]
            assert report.totals(BTC.symbol).position_lots == 5
            writer.record_fill(own_fill("b1", Side.BUY, 1000, 1, trade_id="t2"), BTC)
            assert report.totals(BTC.symbol).position_lots == 6
            assert not hasattr(report, "record_fill") and not hasattr(report, "record_order_intent")
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                report._conn.execute("DELETE FROM fills")
        assert writer.totals(BTC.symbol).fill_count == 2
    with pytest.raises(JournalError, match="no journal there"):
        Journal.open_readonly(tmp_path / "missing.sqlite")
    assert not (tmp_path / "missing.sqlite").exists()
    (tmp_path / "empty.sqlite").touch()  # what a reader may see while a writer creates the file
    with pytest.raises(JournalError, match="not a journal yet"):
        Journal.open_readonly(tmp_path / "empty.sqlite")


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A journal written by a newer mm-bot is not opened, for writing or reading (no silent downgrade)."""
    path = tmp_path / "j.sqlite"
    Journal.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(JournalError, match="schema v99 is newer"):
        Journal.open(path)
    with pytest.raises(JournalError, match="schema v99, this mm-bot reads v3"):
        Journal.open_readonly(path)


def write_v1_journal(path: Path) -> None:
    """A journal as the v1 code left it: its DDL, and rows of two sessions (one crashed)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(_MIGRATIONS[0])
    conn.executescript(
        """
        INSERT INTO meta VALUES ('schema_version', '1'), ('intent_ring_id', '12345');
        INSERT INTO sessions (mode, started_ns, ended_ns, config_hash) VALUES ('paper', 1, 9, 'h1');
        INSERT INTO sessions (mode, started_ns, ended_ns, config_hash) VALUES ('paper', 10, NULL, 'h2');
        INSERT INTO orders VALUES ('o1', 1, 'BTC/USDT', 1, 1000, 5, 'post_only', 'filled', 2, 3);
        INSERT INTO orders VALUES ('o2', 2, 'BTC/USDT', -1, 1010, 4, 'post_only', 'open', 11, 12);
        INSERT INTO fills (client_order_id, market, side, price_ticks, qty_lots, price, qty, fee_quote,
            liquidity, ts_ns, trade_id, dedup_key)
            VALUES ('o1', 'BTC/USDT', 1, 1000, 5, 100.0, 0.005, 0.01, 'maker', 3, 't1', 't:t1'),
                   ('o2', 'BTC/USDT', -1, 1010, 1, 101.0, 0.001, 0.0, 'maker', 13, '', 'ts:13:1010:1');
        INSERT INTO balances VALUES ('paper/BTC/USDT', 'USDT', 99.5, 9);
        INSERT INTO decisions (ts_ns, market, side, action, reason) VALUES (4, 'BTC/USDT', 1, 'send', 'x');
        """
    )
    conn.close()


def test_each_new_journal_has_its_own_order_tag_and_keeps_it(tmp_path: Path) -> None:
    """Two bots with their own journals on one account never share a client id tag (so neither
    adopts, cancels or counts the other's orders); a journal keeps its tag across reopenings."""
    tags = []
    for name in ("a", "b", "c"):
        with Journal.open(tmp_path / f"{name}.sqlite") as journal:
            tags.append(journal.order_tag)
    assert len(set(tags)) == 3
    assert all(len(t) == 6 and t.startswith("mb") and t.isalnum() for t in tags)
    assert not any(t.startswith("mm") for t in tags)  # a journal from before tags owns every mm... id
    with Journal.open(tmp_path / "a.sqlite") as journal:
        assert journal.order_tag == tags[0]
    with Journal.open_readonly(tmp_path / "a.sqlite") as reader_:
        assert reader_.order_tag == tags[0]


def test_what_the_venue_cannot_give_back_survives_a_power_loss(tmp_path: Path) -> None:
    """With NORMAL sync a power loss keeps only what reached the database file (the WAL's recent
    commits may be gone). The order tag and the starting balances must be there (review finding:
    a lost tag made the lost session's orders someone else's for good); a power loss is simulated by
    reading a copy of the file without its WAL."""
    path = tmp_path / "j.sqlite"
    with Journal.open(path) as journal:
        tag = journal.order_tag
        journal.set_starting_balances("live/x/BTC/USDT", {"BTC": 1.0}, 5)
        journal.record_fill(own_fill("b1", Side.BUY, 1000, 5, ts=30, trade_id="t1"), BTC)  # may be lost
        lost = tmp_path / "after-power-loss.sqlite"
        lost.write_bytes(path.read_bytes())  # the database file alone, as the disk holds it
        conn = sqlite3.connect(lost)
        assert conn.execute("SELECT value FROM meta WHERE key = 'order_tag'").fetchone() == (tag,)
        assert conn.execute("SELECT asset, amount, set_ns FROM starting_balances").fetchall() == [
            ("BTC", 1.0, 5)
        ]
        conn.close()


def test_v1_journal_is_migrated_to_the_current_version(tmp_path: Path) -> None:
    """A v1 file opens at the current version with its rows kept, new columns defaulted and new
    tables usable."""
    path = tmp_path / "j.sqlite"
    write_v1_journal(path)
    with pytest.raises(JournalError, match="open it once read-write to migrate"):
        Journal.open_readonly(path)
    for _ in range(2):
        with Journal.open(path) as journal:
            assert journal.schema_version == SCHEMA_VERSION == 3
            [o2] = journal.open_orders("BTC/USDT")
            assert (o2.client_order_id, o2.state, o2.session_id, o2.reason) == ("o2", OrderState.OPEN, 2, "")
            assert journal.totals("BTC/USDT") == LedgerTotals(4, -5000 + 1010, 0.01, 6, 2, 13)
            assert journal.fill_keys("BTC/USDT") == {("o1", "t1")}
            assert journal.record_fill(own_fill("o2", Side.SELL, 1010, 1, ts=13), BTC) is False
            assert journal.load_balances("paper/BTC/USDT") == {"USDT": 99.5}
            assert [(s.id, s.crashed) for s in journal.sessions()] == [(1, False), (2, False)]
            assert [s.id for s in journal.crashed_sessions()] == [2]
            conn = reader(path)
            assert conn.execute("SELECT key FROM meta ORDER BY key").fetchall() == [
                ("order_tag",),
                ("schema_version",),
            ]
            assert journal.order_tag == "mm"  # its orders' ids carry the old tag: still ours
            assert conn.execute("SELECT COUNT(*) FROM decisions").fetchone() == (1,)
            conn.close()
    with Journal.open(path) as journal:
        assert journal.update_order_state("o2", OrderState.CANCELLED, 20, reason="reconciled") is True
        assert journal.set_starting_balances("paper/BTC/USDT", {"USDT": 100.0}, 21) is True
        assert journal.set_day_baseline("BTC/USDT", 0, 1.5, 22) is True
        assert journal.close_crashed_sessions(23) == [2]
    with Journal.open_readonly(path) as report:
        order = report.order("o2")
        assert order is not None and order.reason == "reconciled"
        assert report.day_baseline("BTC/USDT", 0) == 1.5


def test_open_orders_query_uses_the_partial_index(tmp_path: Path) -> None:
    """The open-orders query matches the partial index predicate, so it stays cheap as orders pile up."""
    with Journal.open(tmp_path / "j.sqlite") as journal:
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
    with pytest.raises(ValueError, match="decision_batch"):
        Journal.open(tmp_path / "other.sqlite", decision_batch=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["j.sqlite", "j.sqlite.lock"]
