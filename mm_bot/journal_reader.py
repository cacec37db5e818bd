"""The read side of the journal: ``JournalReader`` answers queries on an open SQLite connection
(sessions, orders, fills and their totals, balances, day baselines) and writes nothing. ``Journal``
(``mm_bot.journal``) adds the writes and opens both kinds; see there for the journal's guarantees."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import TracebackType

from mm_bot import journal_schema as schema
from mm_bot.engine.ledger import LedgerTotals
from mm_bot.journal_schema import FillRecord, JournalOrder, SessionRecord
from mm_bot.model import OwnFill

__all__ = ["JournalReader"]


class JournalReader:
    """The reads of an open journal; ``Journal`` adds the writes. Not thread-safe (one event loop)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    @property
    def schema_version(self) -> int:
        return schema.schema_version(self._conn)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> JournalReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def order_tag(self) -> str:
        """What every client order id of this journal's sessions starts with (see ``ensure_order_tag``;
        ``mm`` for a journal written before there was one)."""
        return schema.order_tag(self._conn) or "mm"

    def sessions(self) -> list[SessionRecord]:
        rows = self._conn.execute(schema.SELECT_SESSIONS + " ORDER BY id")
        return [schema.session_of_row(row) for row in rows]

    def order(self, client_order_id: str) -> JournalOrder | None:
        query = schema.SELECT_ORDERS + " WHERE client_order_id = ?"
        row = self._conn.execute(query, (client_order_id,)).fetchone()
        return None if row is None else schema.order_of_row(row)

    def open_orders(self, market: str | None = None) -> list[JournalOrder]:
        """Orders not known to be terminal (the venue may still hold them), oldest first."""
        by_market = "" if market is None else " AND market = ?"
        rows = self._conn.execute(
            schema.SELECT_ORDERS + schema.NOT_TERMINAL + by_market + " ORDER BY created_ns, rowid",
            () if market is None else (market,),
        )
        return [schema.order_of_row(row) for row in rows]

    def totals(self, market: str) -> LedgerTotals:
        """Position, cash flow, fees, volume and count of ``market``'s fills, summed in one scan."""
        position, notional, fees_quote, volume, count, last, fees_base = self._conn.execute(
            schema.SELECT_TOTALS, (market,)
        ).fetchone()
        other = tuple(self._conn.execute(schema.SELECT_OTHER_FEES, (market,)).fetchall())
        return LedgerTotals(position, notional, fees_quote, volume, count, last, fees_base, other)

    def fill_keys(self, market: str) -> set[tuple[str, str]]:
        """(client order id, trade id) of every stored fill of ``market`` that has a trade id, to seed
        the in-memory dedup after a restart. Fills without one (deduplicated here by client order id,
        receive time, price and quantity) are left out: ("cid", "") would match any of them."""
        query = "SELECT client_order_id, trade_id FROM fills WHERE market = ? AND trade_id != ''"
        return set(self._conn.execute(query, (market,)).fetchall())

    def fills(self, market: str, since_ts_ns: int | None = None) -> list[OwnFill]:
        """``market``'s stored fills received at or after ``since_ts_ns`` (all if None), oldest first."""
        if since_ts_ns is None:
            rows = self._conn.execute(schema.SELECT_FILLS + " ORDER BY ts_ns, id", (market,))
        else:
            rows = self._conn.execute(
                schema.SELECT_FILLS + " AND ts_ns >= ? ORDER BY ts_ns, id", (market, since_ts_ns)
            )
        return [schema.fill_of_row(row) for row in rows]

    def markets(self) -> list[str]:
        """Every market the journal has a fill or an order of, sorted."""
        rows = self._conn.execute("SELECT market FROM fills UNION SELECT market FROM orders ORDER BY 1")
        return [str(row[0]) for row in rows]

    def fill_records(
        self, market: str | None = None, since_ts_ns: int | None = None, limit: int | None = None
    ) -> list[FillRecord]:
        """The fills of ``market`` (every market if None) received at or after ``since_ts_ns``; with
        ``limit``, only the newest ``limit`` of them; oldest first (by receive time, then row)."""
        params = {"market": market, "since": since_ts_ns, "limit": -1 if limit is None else limit}
        rows = self._conn.execute(schema.SELECT_FILL_RECORDS, params).fetchall()
        return [schema.record_of_row(row) for row in reversed(rows)]

    def fill_amounts(self, market: str) -> tuple[float, float, float]:
        """``market``'s traded base (buys minus sells), cash flow (sells minus buys, fees left out) and
        volume, summed over the price and quantity stored with each fill (floats: use ``totals``'
        ticks and lots where the market's sizes are known)."""
        traded, cash_flow, volume = self._conn.execute(schema.SELECT_AMOUNTS, (market,)).fetchone()
        return float(traded), float(cash_flow), float(volume)

    def starting_accounts(self) -> dict[str, int]:
        """Each account with starting balances, and when they were stored."""
        query = "SELECT account, MIN(set_ns) FROM starting_balances GROUP BY account ORDER BY account"
        return {str(account): int(ns) for account, ns in self._conn.execute(query)}

    def saved_balances_ns(self) -> dict[str, int]:
        """Each mode key with a ``save_balances`` snapshot (``paper/BTC/USDT``), and when it was saved."""
        query = "SELECT mode, MAX(updated_ns) FROM balances GROUP BY mode ORDER BY mode"
        return {str(mode): int(ns) for mode, ns in self._conn.execute(query)}

    def starting_balances(self, account: str) -> dict[str, float]:
        """The balances ``set_starting_balances`` stored for ``account`` (empty if none)."""
        query = "SELECT asset, amount FROM starting_balances WHERE account = ? ORDER BY asset"
        return dict(self._conn.execute(query, (account,)).fetchall())

    def starting_balances_set_ns(self, account: str) -> int | None:
        """When ``account``'s starting balances were stored (its first start), None if never."""
        query = "SELECT MIN(set_ns) FROM starting_balances WHERE account = ?"
        value = self._conn.execute(query, (account,)).fetchone()[0]
        return None if value is None else int(value)

    def load_balances(self, mode: str = "paper") -> dict[str, float]:
        """The last ``save_balances`` snapshot of ``mode``: informational (reports), not for restore."""
        rows = self._conn.execute("SELECT asset, amount FROM balances WHERE mode = ? ORDER BY asset", (mode,))
        return dict(rows.fetchall())

    def day_baseline(self, market: str, day: int) -> float | None:
        """The PnL stored as ``market``'s baseline for UTC day ``day`` (``utc_day``), if any."""
        query = "SELECT pnl_quote FROM day_baselines WHERE market = ? AND day = ?"
        row = self._conn.execute(query, (market, day)).fetchone()
        return None if row is None else float(row[0])
