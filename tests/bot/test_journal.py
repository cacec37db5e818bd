"""The SQLite journal on real files: restarts restore state, fills are idempotent, intents survive crashes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from mm_bot.engine.orders import OrderState
from mm_bot.journal import SCHEMA_VERSION, Journal, JournalError, Position
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
