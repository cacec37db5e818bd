"""The journal's SQLite schema: its DDL as a list of migrations, the version stored in ``meta``, and
the code that brings a file up to ``SCHEMA_VERSION`` (one transaction per version step).

The journal (``mm_bot/journal.py``) refuses a file whose schema is newer than this code.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from mm_bot.engine.order_states import TERMINAL_STATES

SCHEMA_VERSION: Final = 1
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
)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT on an autocommit connection; ROLLBACK if the body raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


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
