"""The journal: one SQLite file (WAL mode) of sessions, orders, fills, sampled decisions, balances and
daily loss baselines, so a restart knows its position and which orders the venue may still hold.

- Intent before send: ``record_order_intent`` commits the order as ``pending_new`` before it returns,
  so an order sent just before a crash is in ``open_orders`` for reconciliation. Every write is
  committed when its call returns, except decisions: buffered, written by ``flush()``.
- Durability: with ``synchronous="NORMAL"`` (the default) a commit survives the process dying
  (SIGKILL included) but the last ones may be lost to a power cut or an OS crash; ``"FULL"`` fsyncs
  the WAL at each commit and survives those too. What the venue cannot give back is made durable
  whatever the setting, by a checkpoint (which syncs the WAL and the file): the schema and the
  order tag at open, the starting balances and the daily loss baselines when first stored.
- Checkpoints off the order path: ``checkpoint_if_due()`` checkpoints the WAL once enough rows were
  written; the runner calls it after an event's requests are out. SQLite's own checkpoint (kept as
  a backstop, at several times that size, for a writer that never calls it) runs inside the commit that
  crosses its threshold, an order's intent commit, whose order its syncs then delayed by 2-5 ms.
- One writer: ``Journal.open`` holds an exclusive ``flock`` on ``<path>.lock`` (holding its pid) until
  ``close()`` or the process's death; another writer, in any process, gets ``JournalLocked``.
  ``Journal.open_readonly`` (reports) takes no lock and has no write methods; ``writer_lock`` takes
  only the lock (``run --fresh`` moving the files aside).
- A failed write (disk full, I/O error, read-only file) raises ``JournalWriteError``, and is rolled
  back whole (one statement, or ``transaction``): the file stays consistent.
- Restore derives from the fills: a market's position, cash flow, fees and volume are sums over them
  (``totals``) in exact ticks and lots; a fill is stored once per (client order id, trade id). Paper
  balances are ``starting_balances`` plus what the fills say, so they agree with the position after a
  SIGKILL; ``save_balances`` is an informational snapshot.

The schema, its migrations, the longer statements and the row types are in ``mm_bot/journal_schema.py``;
the reads (``JournalReader``, re-exported here) in ``mm_bot/journal_reader.py``.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Final, Literal

from mm_bot import journal_schema as schema
from mm_bot.engine.ledger import LedgerTotals
from mm_bot.engine.order_states import OrderState
from mm_bot.errors import MmBotError
from mm_bot.journal_reader import JournalReader
from mm_bot.journal_schema import SCHEMA_VERSION, JournalOrder, SessionRecord, transaction
from mm_bot.model import Instrument, OrderRequest, OwnFill, Side

__all__ = [
    "DAY_NS",
    "SCHEMA_VERSION",
    "Journal",
    "JournalError",
    "JournalLocked",
    "JournalOrder",
    "JournalReader",
    "JournalWriteError",
    "LedgerTotals",
    "SessionRecord",
    "utc_day",
    "writer_lock",
]

DAY_NS: Final = 86_400_000_000_000


def utc_day(ts_ns: int) -> int:
    """The UTC day number of a time (days since 1970-01-01), as ``day_baselines`` stores it."""
    return ts_ns // DAY_NS


class JournalError(MmBotError):
    """The journal cannot be used as asked (newer schema, duplicate client order id): do not trade."""


class JournalLocked(JournalError):
    """Another Journal has the file open for writing (in this process or another): do not start."""

    def __init__(self, path: Path, pid: int | None) -> None:
        self.path = path
        self.pid = pid
        holder = "this process" if pid == os.getpid() else "another mm-bot process"
        super().__init__(f"journal {path} is in use by {holder} (pid {pid or 'unknown'})")


class JournalWriteError(JournalError):
    """A write failed (disk full, I/O error, read-only file); the original error is ``__cause__``.
    Nothing of the failed call was stored: stop quoting, the next intent could not be journaled."""


_PENDING_NEW: Final = OrderState.PENDING_NEW.value
_CHECKPOINT_ROWS: Final = 1_000  # 1,100-1,400 WAL pages of a live run's writes (SQLite's default: 1,000)
_BACKSTOP_PAGES: Final = 4_000
_DecisionRow = tuple[int, str, int | None, str, str, int | None, str | None]


class Journal(JournalReader):
    """The one writer of a journal file. Create with ``Journal.open(path)``."""

    def __init__(self, conn: sqlite3.Connection, path: Path, lock_fd: int, decision_batch: int) -> None:
        super().__init__(conn, path)
        self._lock_fd = lock_fd
        self._decision_batch = decision_batch
        self._decisions: list[_DecisionRow] = []
        self.session_id: int | None = None
        self._checkpoint_due = False  # a row the venue cannot give back waits for its transaction
        self._changes_at_checkpoint = 0  # the connection's total_changes at the last checkpoint

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        decision_batch: int = 256,
    ) -> Journal:
        """Lock, open (or create) the journal at ``path`` and bring its schema to ``SCHEMA_VERSION``.

        Raises ``JournalLocked`` if another Journal holds ``<path>.lock``, ``JournalError`` if the
        schema is newer than this code. The lock file stays on close: deleting it could let two openers
        each lock a different file."""
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be NORMAL or FULL, got {synchronous!r}")
        if decision_batch < 1:
            raise ValueError(f"decision_batch must be positive, got {decision_batch}")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock_fd = _lock(path)
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(path, isolation_level=None)  # autocommit; explicit BEGIN where needed
            conn.execute("PRAGMA busy_timeout=2000")
            mode = _enable_wal(conn)
            if mode != "wal":
                raise JournalError(f"{path}: cannot use WAL mode (got {mode!r})")
            conn.execute(f"PRAGMA synchronous={synchronous}")
            conn.execute(f"PRAGMA wal_autocheckpoint={_BACKSTOP_PAGES}")
            version = schema.schema_version(conn)
            if version > SCHEMA_VERSION:
                raise JournalError(
                    f"{path}: journal schema v{version} is newer than this mm-bot (v{SCHEMA_VERSION})"
                )
            with _write_errors(path):
                schema.migrate(conn, version)
                schema.ensure_order_tag(conn)
                conn.execute("PRAGMA wal_checkpoint(FULL)")  # the tag: see the module docstring
        except BaseException:
            if conn is not None:
                conn.close()
            os.close(lock_fd)
            raise
        return cls(conn, path, lock_fd, decision_batch)

    @classmethod
    def open_readonly(cls, path: str | Path) -> JournalReader:
        """Open an existing journal for reading (``mode=ro``), without the writer's lock: a running
        writer's commits are visible. A journal on an older schema must first be opened by a writer."""
        path = Path(path)
        if not path.is_file():
            raise JournalError(f"{path}: no journal there")
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            conn.execute("PRAGMA busy_timeout=2000")
            version = schema.schema_version(conn)
            if version == 0:  # an empty file, or a writer creating it this very moment
                raise JournalError(f"{path}: not a journal yet (no schema)")
            if version != SCHEMA_VERSION:
                hint = " (open it once read-write to migrate)" if 0 < version < SCHEMA_VERSION else ""
                raise JournalError(
                    f"{path}: journal schema v{version}, this mm-bot reads v{SCHEMA_VERSION}{hint}"
                )
        except BaseException:
            conn.close()
            raise
        return JournalReader(conn, path)

    def close(self) -> None:
        """Flush buffered decisions, close the connection (checkpointing the WAL) and release the lock;
        the last two happen even if the flush raises. A second call does nothing."""
        if self._lock_fd < 0:
            return
        try:
            self.flush()
        finally:
            try:
                self._conn.close()
            finally:
                os.close(self._lock_fd)  # releases the flock
                self._lock_fd = -1

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.close()
            return
        try:
            self.close()
        except JournalError as close_exc:  # the error in flight stays the one raised; it names both
            exc.add_note(f"closing the journal failed too: {close_exc}")

    def _writes(self) -> AbstractContextManager[None]:
        return _write_errors(self.path)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Everything written inside is committed together when the block ends: one transaction, so
        one commit (with FULL, one fsync) instead of one per statement. If anything fails, all of it
        is rolled back and ``JournalWriteError`` raised: nothing of the batch is stored."""
        with self._writes(), transaction(self._conn):
            yield
        if self._checkpoint_due:
            self._make_durable()

    def _make_durable(self) -> None:
        """Sync what is committed to disk (a checkpoint), now or when the open transaction ends."""
        if self._conn.in_transaction:
            self._checkpoint_due = True
            return
        with self._writes():
            self._conn.execute("PRAGMA wal_checkpoint(FULL)")
        self._checkpoint_due = False

    def checkpoint_if_due(self) -> bool:
        """Checkpoint the WAL (PASSIVE: it never waits for a reader) if ``_CHECKPOINT_ROWS`` rows were
        written since the last one and no transaction is open; True if it did."""
        conn = self._conn
        with self._writes():  # a closed journal, too, raises JournalWriteError
            if conn.in_transaction or conn.total_changes - self._changes_at_checkpoint < _CHECKPOINT_ROWS:
                return False
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            self._changes_at_checkpoint = conn.total_changes
        return True

    def _execute(self, sql: str, params: tuple[object, ...]) -> sqlite3.Cursor:
        """One write statement, committed on return (autocommit)."""
        with self._writes():
            return self._conn.execute(sql, params)

    def start_session(self, mode: str, config_hash: str, now_ns: int) -> int:
        sql = "INSERT INTO sessions (mode, started_ns, config_hash) VALUES (?, ?, ?)"
        cur = self._execute(sql, (mode, now_ns, config_hash))
        assert cur.lastrowid is not None
        self.session_id = cur.lastrowid
        return cur.lastrowid

    def end_session(self, session_id: int, now_ns: int) -> None:
        self.flush()
        self._execute("UPDATE sessions SET ended_ns = ? WHERE id = ?", (now_ns, session_id))

    def crashed_sessions(self) -> list[SessionRecord]:
        """Sessions that never ended, other than this one. The writer holds the lock, so none of them
        can still be running: each one crashed."""
        query = schema.SELECT_SESSIONS + " WHERE ended_ns IS NULL AND id IS NOT ? ORDER BY id"
        return [schema.session_of_row(row) for row in self._conn.execute(query, (self.session_id,))]

    def close_crashed_sessions(self, now_ns: int) -> list[int]:
        """Mark the ``crashed_sessions`` ended at ``now_ns`` with the crashed flag; returns their ids."""
        with self._writes(), transaction(self._conn):
            ids = [s.id for s in self.crashed_sessions()]
            self._conn.execute(
                "UPDATE sessions SET ended_ns = ?, crashed = 1 WHERE ended_ns IS NULL AND id IS NOT ?",
                (now_ns, self.session_id),
            )
        return ids

    def record_order_intent(self, request: OrderRequest, market: str, now_ns: int) -> None:
        """Commit the order as ``pending_new`` BEFORE it is sent; a known client order id raises."""
        r = request
        row = (r.client_order_id, int(r.side), r.price_ticks, r.qty_lots, r.order_type.value, market)
        params = (*row, _PENDING_NEW, now_ns, now_ns, self.session_id)
        with self._writes():
            try:
                self._conn.execute(schema.INSERT_INTENT, params)
            except sqlite3.IntegrityError as exc:  # the primary key: a known id
                raise JournalError(f"client order id {r.client_order_id!r} is already journaled") from exc

    def update_order_state(
        self, client_order_id: str, state: OrderState, now_ns: int, reason: str = ""
    ) -> bool:
        """Store the order's new state and why (the venue's reject or cancel reason, "reconciled"; an
        empty reason keeps the stored one, e.g. on a late fill); False if the journal lacks the order."""
        sql = (
            "UPDATE orders SET state = ?, updated_ns = ?, reason = COALESCE(NULLIF(?, ''), reason)"
            " WHERE client_order_id = ?"
        )
        return self._execute(sql, (state.value, now_ns, reason, client_order_id)).rowcount == 1

    def record_fill(self, fill: OwnFill, instrument: Instrument) -> bool:
        """Store a fill of ``instrument`` (market = its symbol); False if it was already stored.

        Identity is (client order id, trade id), or (client order id, receive time, price, qty) when
        the venue gives no trade id; only a trade id makes a fill replayed after a reconnect idempotent.
        """
        f = fill
        key = f"t:{f.trade_id}" if f.trade_id else f"ts:{f.ts_ns}:{f.price_ticks}:{f.qty_lots}"
        price, qty = instrument.price_of(f.price_ticks), instrument.qty_of(f.qty_lots)
        row = (f.client_order_id, instrument.symbol, int(f.side), f.price_ticks, f.qty_lots, price, qty)
        fees = (f.fee_base, f.fee_other, f.fee_other_asset)
        params = (*row, f.fee_quote, f.liquidity.value, f.ts_ns, f.trade_id, key, *fees)
        return self._execute(schema.INSERT_FILL, params).rowcount == 1

    def set_starting_balances(self, account: str, balances: Mapping[str, float], now_ns: int) -> bool:
        """Store ``account``'s starting balances (asset -> amount) once: True if stored, False (and
        nothing changed) if the account already has them."""
        if not balances:
            raise ValueError(f"no starting balances for {account!r}")
        with self._writes(), transaction(self._conn):
            query = "SELECT 1 FROM starting_balances WHERE account = ? LIMIT 1"
            if self._conn.execute(query, (account,)).fetchone() is not None:
                return False
            self._conn.executemany(
                "INSERT INTO starting_balances (account, asset, amount, set_ns) VALUES (?, ?, ?, ?)",
                [(account, asset, float(amount), now_ns) for asset, amount in balances.items()],
            )
        self._make_durable()
        return True

    def save_balances(self, mode: str, balances: Mapping[str, float], now_ns: int) -> None:
        """Replace the snapshot of the last seen balances of ``mode`` (asset -> amount) atomically.
        Informational (reports): restore derives balances from ``starting_balances`` and the fills."""
        with self._writes(), transaction(self._conn):
            self._conn.execute("DELETE FROM balances WHERE mode = ?", (mode,))
            self._conn.executemany(
                "INSERT INTO balances (mode, asset, amount, updated_ns) VALUES (?, ?, ?, ?)",
                [(mode, asset, float(amount), now_ns) for asset, amount in balances.items()],
            )

    def set_day_baseline(self, market: str, day: int, pnl_quote: float, now_ns: int) -> bool:
        """Store ``market``'s PnL at the start of UTC day ``day`` (``utc_day``) once: True if stored,
        False if that day already has one (a restart keeps the first)."""
        cur = self._execute(schema.INSERT_DAY_BASELINE, (market, day, pnl_quote, now_ns))
        if cur.rowcount == 1:
            self._make_durable()
        return cur.rowcount == 1

    def record_decision(
        self,
        ts_ns: int,
        market: str,
        side: Side | None,
        action: str,
        reason: str,
        price_ticks: int | None = None,
        details: Mapping[str, object] | None = None,
    ) -> None:
        """Buffer one (already sampled) decision; written by the next ``flush()``."""
        blob = None if details is None else json.dumps(details, separators=(",", ":"), default=str)
        side_value = None if side is None else int(side)
        self._decisions.append((ts_ns, market, side_value, action, reason, price_ticks, blob))
        if len(self._decisions) >= self._decision_batch:
            self.flush()

    @property
    def pending_decisions(self) -> int:
        return len(self._decisions)

    def flush(self) -> int:
        """Write the buffered decisions in one transaction; returns how many. If it raises, that batch
        is dropped (decisions are diagnostics; keeping them would grow the buffer while the disk is full)."""
        if not self._decisions:
            return 0
        rows, self._decisions = self._decisions, []
        with self._writes(), transaction(self._conn):
            self._conn.executemany(
                "INSERT INTO decisions (ts_ns, market, side, action, reason, price_ticks, details)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return len(rows)


@contextmanager
def _write_errors(path: Path) -> Iterator[None]:
    """Re-raise a failed write's sqlite3 error as ``JournalWriteError``."""
    try:
        yield
    except sqlite3.Error as exc:
        raise JournalWriteError(f"journal {path}: write failed: {exc}") from exc


@contextmanager
def writer_lock(path: str | Path) -> Iterator[None]:
    """Hold the writer's lock of the journal at ``path`` (``JournalLocked`` if another holds it)
    without opening the journal: for moving its files while no run can open it."""
    fd = _lock(Path(path))
    try:
        yield
    finally:
        os.close(fd)


def _lock(path: Path) -> int:
    """Take ``<path>.lock`` (exclusive, non-blocking) and write our pid into it; returns its fd, whose
    closing (by ``close()``, or by the OS when the process dies) releases the lock. Child processes do
    not inherit it: Python opens files non-inheritable."""
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).strip()
        os.close(fd)
        raise JournalLocked(path, int(holder) if holder.isdigit() else None) from None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _enable_wal(conn: sqlite3.Connection, timeout_s: float = 2.0) -> str:
    """``PRAGMA journal_mode=WAL``, retried while another connection (a reader, a shell) holds the
    lock of a new file. SQLite answers "locked" at once here rather than calling the busy
    handler: the switch upgrades a read lock, and waiting on a writer from there could deadlock."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(0.005)
