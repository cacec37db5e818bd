"""The journal's SQLite schema: its DDL as a list of migrations, the version stored in ``meta``, the
code that brings a file up to ``SCHEMA_VERSION`` (one transaction per version step), the journal's
longer statements, and the values its rows are read as (each next to its column list).

v1: sessions, orders, fills, decisions, balances. v2: the session ``crashed`` flag, the order state's
``reason``, ``starting_balances`` and ``day_baselines``, and an index of fills by time; it drops the
id of the removed mmap intent ring from ``meta``. v3: fees charged in base or in a third asset, per
fill, and the journal's own client order id tag in ``meta`` (``order_tag``).

The journal (``mm_bot/journal.py``) refuses a file whose schema is newer than this code.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

from mm_bot.engine.ids import base36
from mm_bot.engine.order_states import TERMINAL_STATES, OrderState
from mm_bot.model import Liquidity, OrderType, OwnFill, Side

SCHEMA_VERSION: Final = 3
TERMINAL_SQL: Final = ", ".join(f"'{s.value}'" for s in sorted(TERMINAL_STATES, key=lambda s: s.value))

# _MIGRATIONS[i] takes the schema from version i to i + 1; never edit a released one, append.
_MIGRATIONS: Final[tuple[str, ...]] = (
    f"""
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        mode TEXT NOT NULL,
        started_ns INTEGER NOT NULL,
        ended_ns INTEGER,
        config_hash TEXT NOT NULL
    );
    CREATE TABLE orders (
        client_order_id TEXT PRIMARY KEY,
        session_id INTEGER REFERENCES sessions(id),
        market TEXT NOT NULL,
        side INTEGER NOT NULL CHECK (side IN (-1, 1)),
        price_ticks INTEGER NOT NULL,
        qty_lots INTEGER NOT NULL,
        order_type TEXT NOT NULL,
        state TEXT NOT NULL,
        created_ns INTEGER NOT NULL,
        updated_ns INTEGER NOT NULL
    );
    CREATE INDEX orders_not_terminal ON orders(market) WHERE state NOT IN ({TERMINAL_SQL});
    CREATE TABLE fills (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        client_order_id TEXT NOT NULL,
        market TEXT NOT NULL,
        side INTEGER NOT NULL CHECK (side IN (-1, 1)),
        price_ticks INTEGER NOT NULL,
        qty_lots INTEGER NOT NULL,
        price REAL NOT NULL,
        qty REAL NOT NULL,
        fee_quote REAL NOT NULL,
        liquidity TEXT NOT NULL,
        ts_ns INTEGER NOT NULL,
        trade_id TEXT NOT NULL,
        dedup_key TEXT NOT NULL,
        UNIQUE (client_order_id, dedup_key)
    );
    CREATE INDEX fills_market ON fills(market);
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts_ns INTEGER NOT NULL,
        market TEXT NOT NULL,
        side INTEGER,
        action TEXT NOT NULL,
        reason TEXT NOT NULL,
        price_ticks INTEGER,
        details TEXT
    );
    CREATE TABLE balances (
        mode TEXT NOT NULL,
        asset TEXT NOT NULL,
        amount REAL NOT NULL,
        updated_ns INTEGER NOT NULL,
        PRIMARY KEY (mode, asset)
    );
    """,
    """
    ALTER TABLE sessions ADD COLUMN crashed INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE orders ADD COLUMN reason TEXT NOT NULL DEFAULT '';
    DROP INDEX fills_market;
    CREATE INDEX fills_market_ts ON fills(market, ts_ns);
    CREATE TABLE starting_balances (
        account TEXT NOT NULL,
        asset TEXT NOT NULL,
        amount REAL NOT NULL,
        set_ns INTEGER NOT NULL,
        PRIMARY KEY (account, asset)
    );
    CREATE TABLE day_baselines (
        market TEXT NOT NULL,
        day INTEGER NOT NULL,
        pnl_quote REAL NOT NULL,
        set_ns INTEGER NOT NULL,
        PRIMARY KEY (market, day)
    );
    DELETE FROM meta WHERE key = 'intent_ring_id';
    """,
    # 3: fees kept in the asset the venue charged them in (base, or a third asset such as BNB); a
    # journal that already sent orders keeps the tag its ids carry (``ensure_order_tag`` gives new
    # journals their own)
    """
    ALTER TABLE fills ADD COLUMN fee_base REAL NOT NULL DEFAULT 0;
    ALTER TABLE fills ADD COLUMN fee_other REAL NOT NULL DEFAULT 0;
    ALTER TABLE fills ADD COLUMN fee_other_asset TEXT NOT NULL DEFAULT '';
    INSERT INTO meta (key, value) SELECT 'order_tag', 'mm' WHERE EXISTS (SELECT 1 FROM orders);
    """,
)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT on an autocommit connection; ROLLBACK if the body or the COMMIT
    raises. Some errors (SQLITE_FULL, I/O errors) make SQLite roll back by itself: a ROLLBACK then
    would fail ("no transaction is active") and hide the first error, hence the check. Inside an open
    transaction (``Journal.batch``) the body simply joins it."""
    if _open(conn):
        yield
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if _open(conn):
            conn.execute("ROLLBACK")
        raise


def _open(conn: sqlite3.Connection) -> bool:
    """Whether a transaction is open (a function: the answer changes under every statement)."""
    return conn.in_transaction


def ensure_order_tag(conn: sqlite3.Connection) -> None:
    """Give a journal without one its own client order id tag: ``mb`` and four random base-36
    characters (not ``mm``: a journal from before tags, whose ids start with ``mm``, would take every
    ``mm...`` id for its own). Every order the journal's sessions send carries it, so two bots with
    their own journals on one account and symbol never adopt, cancel or count each other's orders
    and fills. Committed with FULL sync: losing it to a power loss would make the lost session's
    orders someone else's."""
    with transaction(conn):
        if order_tag(conn) is None:
            tag = "mb" + base36(secrets.randbelow(36**4)).rjust(4, "0")
            conn.execute("INSERT INTO meta (key, value) VALUES ('order_tag', ?)", (tag,))


def order_tag(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'order_tag'").fetchone()
    return None if row is None else str(row[0])


def schema_version(conn: sqlite3.Connection) -> int:
    has_meta = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
    if has_meta is None:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return 0 if row is None else int(row[0])


def migrate(conn: sqlite3.Connection, version: int) -> None:
    """Bring the schema from ``version`` (``schema_version(conn)``, not newer than ``SCHEMA_VERSION``:
    the caller refuses that) up to ``SCHEMA_VERSION``."""
    for target in range(version + 1, SCHEMA_VERSION + 1):
        with transaction(conn):
            if schema_version(conn) >= target:
                continue  # another process opening the same journal migrated it while we waited
            for statement in _MIGRATIONS[target - 1].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (str(target),)
            )


@dataclass(frozen=True, slots=True)
class JournalOrder:
    """One order row; ``reason`` is the venue's reject or cancel reason, or "reconciled"."""

    client_order_id: str
    market: str
    side: Side
    price_ticks: int
    qty_lots: int
    order_type: OrderType
    state: OrderState
    created_ns: int
    updated_ns: int
    session_id: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One run; ``ended_ns`` is None while it runs, ``crashed`` if it never ended and a later session
    closed it (``ended_ns`` is then when that was noticed)."""

    id: int
    mode: str
    started_ns: int
    ended_ns: int | None
    config_hash: str
    crashed: bool


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One fill row as reports show it: ``price`` and ``qty`` in units as stored with the fill (the
    ticks and lots times the market's sizes when it was journaled), its market, its row id."""

    id: int
    market: str
    ts_ns: int
    client_order_id: str
    side: Side
    price: float
    qty: float
    price_ticks: int
    qty_lots: int
    liquidity: Liquidity
    fee_quote: float
    fee_base: float
    fee_other: float
    fee_other_asset: str
    trade_id: str


ORDER_COLUMNS: Final = (
    "client_order_id, market, side, price_ticks, qty_lots, order_type, state, created_ns, updated_ns,"
    " session_id, reason"
)
SESSION_COLUMNS: Final = "id, mode, started_ns, ended_ns, config_hash, crashed"
FILL_COLUMNS: Final = (
    "ts_ns, client_order_id, side, price_ticks, qty_lots, liquidity, fee_quote, trade_id,"
    " fee_base, fee_other, fee_other_asset"
)
RECORD_COLUMNS: Final = (
    "id, market, ts_ns, client_order_id, side, price, qty, price_ticks, qty_lots, liquidity, fee_quote,"
    " fee_base, fee_other, fee_other_asset, trade_id"
)

# Built once from constants (never from input), hence the noqa.
SELECT_ORDERS: Final = f"SELECT {ORDER_COLUMNS} FROM orders"  # noqa: S608
NOT_TERMINAL: Final = f" WHERE state NOT IN ({TERMINAL_SQL})"  # the partial index's exact predicate
SELECT_SESSIONS: Final = f"SELECT {SESSION_COLUMNS} FROM sessions"  # noqa: S608
SELECT_FILLS: Final = f"SELECT {FILL_COLUMNS} FROM fills WHERE market = ?"  # noqa: S608
INSERT_INTENT: Final = (
    "INSERT INTO orders (client_order_id, side, price_ticks, qty_lots, order_type, market, state,"
    " created_ns, updated_ns, session_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_FILL: Final = (
    "INSERT INTO fills (client_order_id, market, side, price_ticks, qty_lots, price, qty, fee_quote,"
    " liquidity, ts_ns, trade_id, dedup_key, fee_base, fee_other, fee_other_asset)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT DO NOTHING"  # the (client_order_id, dedup_key) key: a fill seen before
)
# Reports: fills of one market or all, newest first (the caller reverses), with the price and
# quantity in units as stored with each fill; and their sums in those units.
SELECT_FILL_RECORDS: Final = (
    f"SELECT {RECORD_COLUMNS} FROM fills WHERE (:market IS NULL OR market = :market)"  # noqa: S608
    " AND (:since IS NULL OR ts_ns >= :since) ORDER BY ts_ns DESC, id DESC LIMIT :limit"
)
SELECT_AMOUNTS: Final = (
    "SELECT TOTAL(side * qty), TOTAL(-side * price * qty), TOTAL(qty) FROM fills WHERE market = ?"
)
SELECT_TOTALS: Final = (
    "SELECT COALESCE(SUM(side * qty_lots), 0), COALESCE(SUM(-side * price_ticks * qty_lots), 0),"
    " TOTAL(fee_quote), COALESCE(SUM(qty_lots), 0), COUNT(*), MAX(ts_ns), TOTAL(fee_base)"
    " FROM fills WHERE market = ?"
)
SELECT_OTHER_FEES: Final = (
    "SELECT fee_other_asset, TOTAL(fee_other) FROM fills WHERE market = ? AND fee_other_asset != ''"
    " GROUP BY fee_other_asset ORDER BY fee_other_asset"
)
INSERT_DAY_BASELINE: Final = (
    "INSERT INTO day_baselines (market, day, pnl_quote, set_ns) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
)


def order_of_row(row: tuple[Any, ...]) -> JournalOrder:
    """A row of ``ORDER_COLUMNS``."""
    cid, market, side, price, qty, order_type, state, created, updated, session, reason = row
    side, order_type, state = Side(side), OrderType(order_type), OrderState(state)
    return JournalOrder(cid, market, side, price, qty, order_type, state, created, updated, session, reason)


def session_of_row(row: tuple[Any, ...]) -> SessionRecord:
    """A row of ``SESSION_COLUMNS``."""
    sid, mode, started, ended, config_hash, crashed = row
    return SessionRecord(sid, mode, started, ended, config_hash, bool(crashed))


def fill_of_row(row: tuple[Any, ...]) -> OwnFill:
    """A row of ``FILL_COLUMNS``."""
    ts, cid, side, price, qty, liquidity, fee, trade_id, fee_base, fee_other, other_asset = row
    return OwnFill(
        ts, cid, Side(side), price, qty, Liquidity(liquidity), fee, trade_id, fee_base, fee_other, other_asset
    )


def record_of_row(row: tuple[Any, ...]) -> FillRecord:
    """A row of ``RECORD_COLUMNS``."""
    rid, market, ts, cid, side, price, qty, ticks, lots, liquidity, fee, fee_base, other, asset, tid = row
    return FillRecord(
        rid,
        market,
        ts,
        cid,
        Side(side),
        price,
        qty,
        ticks,
        lots,
        Liquidity(liquidity),
        fee,
        fee_base,
        other,
        asset,
        tid,
    )
