"""The journal: a SQLite file (WAL mode) of sessions, orders, fills, sampled decisions and paper
balances, so a restart knows its position and which orders may still be live.

Order safety: ``record_order_intent`` journals the client order id before the request is sent; after a
crash, ``open_orders`` lists every order the venue may still hold (state not terminal), to reconcile.
Positions are derived from the fills (never a running total that could drift); a fill is stored once
per (client order id, trade id), so a replayed fill is not double-counted.

Durability and cost (measured on a cloud VM disk, SQLite 3.40, with 2 ms between orders so caches are
cold, as between market updates; ``bench/journal_bench.py``): each call is one small autocommit
transaction. The default ``synchronous="NORMAL"`` survives a process crash (the case
journal-before-send guards against); ``"FULL"`` also survives a power loss by fsyncing the WAL at each
commit, ~170 us p50 but milliseconds at p99 on a busy disk. Orders lost to a power loss are found by
reconciling with the venue at start.

The write-ahead sits inside the decision window (event received to venue call issued). As a commit it
costs ~25 us p50, ~200 us p99 and 4-7 ms at worst, when it meets a WAL checkpoint. With
``intent_ring=True`` it is instead a slot written into an mmap ring next to the journal
(``mm_bot/intent_log.py``; the same process-crash safety as NORMAL, no system call): ~7-13 us p50,
~40-60 us p99, ~0.3 ms at worst. The row joins a pending list, committed in one transaction by
``flush_intents()`` (call it after the send: it costs what the commit did, outside the window) or by
whichever call next reads or writes orders or fills, so the API behaves as before except that another
connection sees the row only after that flush. That visibility change is why the ring is opt-in; it
refuses ``FULL``, having no fsync. ``open`` replays a crashed writer's ring whatever its own setting.
The duplicate-id check stays exact without a SQLite read for a new id: a Bloom filter of the journal's
ids (filled at open: ~0.9 s per million orders) says "absent" for sure; a possible hit is settled by a
primary-key lookup (~13 us: in WAL mode even a read takes two fcntl locks).

Decisions are buffered (~3 us a call) and written by ``flush()`` in one transaction (~2 us a row); it
runs when ``decision_batch`` rows are buffered and on close. SQLite's automatic WAL checkpoint (every
~4 MB written) copies the WAL into the main file and fsyncs it inside whichever commit crosses the
threshold: 4-8 ms for that commit, a few times per 3,000 orders, which the ring moves out of the
decision window. (Checkpointing from a worker thread instead was measured and dropped: commits still
stalled behind the checkpoint's disk flush, and the median commit got slower.) ``position`` and
``open_orders`` scan their market: start-up and reconciliation calls, not per-event ones. Paper and
live use separate files; the app passes the path.

The schema and its migrations are in ``mm_bot/journal_schema.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal, NamedTuple

from mm_bot.engine.order_states import OrderState
from mm_bot.errors import MmBotError
from mm_bot.intent_log import DEFAULT_SLOTS, IntentLog, KnownIds
from mm_bot.journal_schema import SCHEMA_VERSION, TERMINAL_SQL, migrate, schema_version, transaction
from mm_bot.model import Instrument, OrderRequest, OrderType, OwnFill, Side

__all__ = [
    "KNOWN_IDS_HEADROOM",
    "SCHEMA_VERSION",
    "Journal",
    "JournalError",
    "JournalOrder",
    "Position",
    "SessionRecord",
    "intent_ring_path",
]


class JournalError(MmBotError):
    """The journal cannot be used as asked (newer schema, duplicate client order id): do not trade."""


class Position(NamedTuple):
    """Totals over one market's fills. ``cash_quote`` is the trade cash flow (sells add, buys subtract)
    without fees; pnl at mark price m is ``cash_quote - fees_quote + position_base * m``."""

    position_base: float
    cash_quote: float
    fees_quote: float
    volume_base: float
    fill_count: int
    position_lots: int  # exact, as long as the lot size did not change


@dataclass(frozen=True, slots=True)
class JournalOrder:
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


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One run; ``ended_ns`` is None if it is running or crashed."""

    id: int
    mode: str
    started_ns: int
    ended_ns: int | None
    config_hash: str


# Built once from constants (never from input), hence the noqa.
_ORDER_COLUMNS: Final = (
    "client_order_id, market, side, price_ticks, qty_lots, order_type, state, created_ns, updated_ns,"
    " session_id"
)
_INSERT_ORDER: Final = f"INSERT INTO orders ({_ORDER_COLUMNS}) VALUES ({', '.join('?' * 10)})"  # noqa: S608
# Pending and replayed intents: a row already there (replayed twice, or committed) is left as it is.
_INSERT_INTENT: Final = _INSERT_ORDER.replace("INSERT", "INSERT OR IGNORE", 1)
_SELECT_ORDERS: Final = f"SELECT {_ORDER_COLUMNS} FROM orders"  # noqa: S608
_NOT_TERMINAL: Final = f" WHERE state NOT IN ({TERMINAL_SQL})"  # the partial index's exact predicate
_DecisionRow = tuple[int, str, int | None, str, str, int | None, str | None]
_OrderRow = tuple[str, str, int, int, int, str, str, int, int, int | None]
_PendingIntent = tuple[OrderRequest, str, int, int | None]  # request, market, now_ns, session id
_PENDING_NEW: Final = OrderState.PENDING_NEW.value
_RING_ID_KEY: Final = "intent_ring_id"
KNOWN_IDS_HEADROOM: Final = 1_000_000  # new ids one run may add before the filter's hit rate rises


class Journal:
    """One open journal file. Create with ``Journal.open(path)``; not thread-safe (one event loop)."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        decision_batch: int,
        intents: IntentLog | None = None,
        known_ids: KnownIds | None = None,
    ) -> None:
        self._conn = conn
        self.path = path
        self._decision_batch = decision_batch
        self._decisions: list[_DecisionRow] = []
        self._intents = intents
        self._ring_capacity = 0 if intents is None else intents.capacity
        self._known_ids = known_ids
        # Intents in the ring, not yet in SQLite, oldest first; rows are built at flush, off the hot path.
        self._pending: dict[str, _PendingIntent] = {}
        self.session_id: int | None = None
        self._ring_path = f"{path}.intents"

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        decision_batch: int = 256,
        intent_ring: bool = False,
        intent_slots: int = DEFAULT_SLOTS,
        ring_dir: str | Path | None = None,
    ) -> Journal:
        """Open (or create) the journal at ``path`` and bring its schema up to ``SCHEMA_VERSION``.

        Intents a crashed writer left in the ring ``<path>.intents`` are inserted as ``pending_new``
        first (unless a live process holds the ring). ``intent_ring`` writes intents to that ring
        (``intent_slots`` slots) and commits them lazily; if another process holds the ring, intents
        are committed one by one as without it (``uses_intent_ring`` says which).

        ``ring_dir`` puts the ring in another directory (``intent_ring_path``), typically a tmpfs such
        as ``/dev/shm``: a page of a file on a disk filesystem that the kernel has written back takes
        a write fault on the next store (ext4's page_mkwrite, measured at ~200 us here, once per page
        per writeback cycle); tmpfs has no writeback, and keeps the same process-crash durability.
        """
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be NORMAL or FULL, got {synchronous!r}")
        if intent_ring and synchronous != "NORMAL":
            raise ValueError("intent_ring is process-crash durable only: it cannot honour synchronous=FULL")
        if intent_slots < 1:
            raise ValueError(f"intent_slots must be positive, got {intent_slots}")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Locked before the SQLite file exists, so nothing that waits for that file takes the ring.
        # A writer waits out an opener that is only replaying (milliseconds); others do not wait.
        ring_path = intent_ring_path(path, ring_dir)
        ring = IntentLog.open(ring_path, create=intent_ring, wait_s=0.5 if intent_ring else 0.0)
        conn = sqlite3.connect(path, isolation_level=None)  # autocommit; explicit BEGIN where needed
        known_ids = None
        try:
            conn.execute("PRAGMA busy_timeout=2000")
            mode = _enable_wal(conn)
            if mode != "wal":
                raise JournalError(f"{path}: cannot use WAL mode (got {mode!r})")
            conn.execute(f"PRAGMA synchronous={synchronous}")
            _migrate(conn, path)
            if ring is not None:
                _recover_intents(conn, ring, intent_slots if intent_ring else None)
                if intent_ring:
                    (count,) = conn.execute("SELECT COUNT(*) FROM orders").fetchone()
                    ids = (cid for (cid,) in conn.execute("SELECT client_order_id FROM orders"))
                    known_ids = KnownIds(count + KNOWN_IDS_HEADROOM, ids)  # ~1 s per million ids
                else:
                    ring.close()
                    ring = None
        except BaseException:
            conn.close()
            if ring is not None:
                ring.close()
            raise
        journal = cls(conn, path, decision_batch, ring, known_ids)
        journal._ring_path = ring_path
        return journal

    @property
    def schema_version(self) -> int:
        return schema_version(self._conn)

    @property
    def uses_intent_ring(self) -> bool:
        """True if intents go to the mmap ring (committed lazily), False if each one is committed."""
        return self._intents is not None

    @property
    def pending_intents(self) -> int:
        """Intents in the ring whose rows ``flush_intents`` has not committed yet."""
        return len(self._pending)

    def close(self) -> None:
        """Flush buffered decisions and pending intents and close; WAL content is checkpointed into
        the main file. If the flush fails, pending intents stay in the ring for the next ``open``;
        if it succeeds the ring holds nothing SQLite lacks and is deleted."""
        flushed = False
        try:
            self.flush()
            flushed = True
        finally:
            self._conn.close()
            if self._intents is not None:
                self._intents.close()
                if flushed:
                    Path(self._ring_path).unlink(missing_ok=True)

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ sessions
    def start_session(self, mode: str, config_hash: str, now_ns: int) -> int:
        cur = self._conn.execute(
            "INSERT INTO sessions (mode, started_ns, config_hash) VALUES (?, ?, ?)",
            (mode, now_ns, config_hash),
        )
        assert cur.lastrowid is not None
        self.session_id = cur.lastrowid
        return cur.lastrowid

    def end_session(self, session_id: int, now_ns: int) -> None:
        self.flush()
        self._conn.execute("UPDATE sessions SET ended_ns = ? WHERE id = ?", (now_ns, session_id))

    def sessions(self) -> list[SessionRecord]:
        rows = self._conn.execute(
            "SELECT id, mode, started_ns, ended_ns, config_hash FROM sessions ORDER BY id"
        )
        return [SessionRecord(*row) for row in rows]

    # ------------------------------------------------------------------ orders
    def record_order_intent(self, request: OrderRequest, market: str, now_ns: int) -> None:
        """Journal the order as ``pending_new`` BEFORE it is sent. A known client order id (committed
        or pending) raises. With the ring: a slot write plus a pending entry, no SQLite call for a new
        id; without it (or if the id and market overflow a slot): a commit."""
        ring, known = self._intents, self._known_ids
        if ring is None or known is None:
            self._insert_order(_order_row(request, market, now_ns, self.session_id))
            return
        cid = request.client_order_id
        pending = self._pending
        if cid in pending or (known.add(cid) and self._has_order(cid)):
            raise JournalError(f"client order id {cid!r} is already journaled")
        if len(pending) >= self._ring_capacity:
            self.flush_intents()  # the slot about to be reused holds the oldest pending intent
        session_id = self.session_id
        if ring.append(request, market, now_ns, session_id):
            pending[cid] = (request, market, now_ns, session_id)
        else:
            self.flush_intents()  # keep rowids in intent order
            self._insert_order(_order_row(request, market, now_ns, session_id))

    def flush_intents(self) -> int:
        """Commit the pending intents in one transaction (~20-50 us: call it after the send, off the
        decision path); returns how many. Every call that reads or writes orders or fills runs it
        first, folded into its own transaction where it writes."""
        n = len(self._pending)
        if n:
            with transaction(self._conn):
                self._insert_pending()
            self._pending.clear()
        return n

    def _insert_pending(self) -> None:
        """Insert the pending intents inside the caller's transaction; the caller clears them once it
        has committed (if the commit fails they stay pending, and in the ring)."""
        if self._pending:
            rows = [_order_row(*intent) for intent in self._pending.values()]
            self._conn.executemany(_INSERT_INTENT, rows)

    def _insert_order(self, row: _OrderRow) -> None:
        try:
            self._conn.execute(_INSERT_ORDER, row)
        except sqlite3.IntegrityError as exc:
            raise JournalError(f"client order id {row[0]!r} is already journaled") from exc

    def _has_order(self, client_order_id: str) -> bool:
        query = "SELECT 1 FROM orders WHERE client_order_id = ?"
        return self._conn.execute(query, (client_order_id,)).fetchone() is not None

    def _write(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Cursor:
        """One statement, preceded in the same transaction by the pending intents (one commit, not two)."""
        if not self._pending:
            return self._conn.execute(sql, params)
        with transaction(self._conn):
            self._insert_pending()
            cur = self._conn.execute(sql, params)
        self._pending.clear()
        return cur

    def update_order_state(self, client_order_id: str, state: OrderState, now_ns: int) -> bool:
        """Store the order's new state; False if the journal does not know the order."""
        cur = self._write(
            "UPDATE orders SET state = ?, updated_ns = ? WHERE client_order_id = ?",
            (state.value, now_ns, client_order_id),
        )
        return cur.rowcount == 1

    def order(self, client_order_id: str) -> JournalOrder | None:
        self.flush_intents()
        row = self._conn.execute(_SELECT_ORDERS + " WHERE client_order_id = ?", (client_order_id,)).fetchone()
        return None if row is None else _order_of(row)

    def open_orders(self, market: str | None = None) -> list[JournalOrder]:
        """Orders not known to be terminal (the venue may still hold them), oldest first."""
        self.flush_intents()
        by_market = "" if market is None else " AND market = ?"
        rows = self._conn.execute(
            _SELECT_ORDERS + _NOT_TERMINAL + by_market + " ORDER BY created_ns, rowid",
            () if market is None else (market,),
        )
        return [_order_of(row) for row in rows]

    # ------------------------------------------------------------------ fills and positions
    def record_fill(self, fill: OwnFill, instrument: Instrument) -> bool:
        """Store a fill of ``instrument`` (market = its symbol); False if it was already stored.

        Identity is (client order id, trade id), or (client order id, receive time, price, qty) when
        the venue gives no trade id; only a trade id makes a fill replayed after a reconnect idempotent.
        """
        key = f"t:{fill.trade_id}" if fill.trade_id else f"ts:{fill.ts_ns}:{fill.price_ticks}:{fill.qty_lots}"
        cur = self._write(
            "INSERT OR IGNORE INTO fills (client_order_id, market, side, price_ticks, qty_lots, price, qty,"
            " fee_quote, liquidity, ts_ns, trade_id, dedup_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                fill.client_order_id,
                instrument.symbol,
                int(fill.side),
                fill.price_ticks,
                fill.qty_lots,
                instrument.price_of(fill.price_ticks),
                instrument.qty_of(fill.qty_lots),
                fill.fee_quote,
                fill.liquidity.value,
                fill.ts_ns,
                fill.trade_id,
                key,
            ),
        )
        return cur.rowcount == 1

    def position(self, market: str) -> Position:
        """Position, cash, fees, volume and fill count of ``market``, summed over its fills."""
        self.flush_intents()
        row = self._conn.execute(
            "SELECT TOTAL(side * qty), TOTAL(-side * price * qty), TOTAL(fee_quote), TOTAL(qty), COUNT(*),"
            " COALESCE(SUM(side * qty_lots), 0) FROM fills WHERE market = ?",
            (market,),
        ).fetchone()
        return Position(row[0], row[1], row[2], row[3], row[4], row[5])

    # ------------------------------------------------------------------ decisions (batched)
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
        """Write buffered decisions and pending intents in one transaction; returns how many decisions
        were written."""
        if not self._decisions:
            self.flush_intents()
            return 0
        rows, self._decisions = self._decisions, []
        with transaction(self._conn):
            self._insert_pending()
            self._conn.executemany(
                "INSERT INTO decisions (ts_ns, market, side, action, reason, price_ticks, details)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        self._pending.clear()
        return len(rows)

    # ------------------------------------------------------------------ paper balances
    def save_balances(self, mode: str, balances: Mapping[str, float], now_ns: int) -> None:
        """Replace the balance snapshot of ``mode`` (asset -> amount) atomically."""
        with transaction(self._conn):
            self._conn.execute("DELETE FROM balances WHERE mode = ?", (mode,))
            self._conn.executemany(
                "INSERT INTO balances (mode, asset, amount, updated_ns) VALUES (?, ?, ?, ?)",
                [(mode, asset, float(amount), now_ns) for asset, amount in balances.items()],
            )

    def load_balances(self, mode: str = "paper") -> dict[str, float]:
        rows = self._conn.execute("SELECT asset, amount FROM balances WHERE mode = ? ORDER BY asset", (mode,))
        return dict(rows.fetchall())


def intent_ring_path(journal_path: str | Path, ring_dir: str | Path | None = None) -> str:
    """Where the journal at ``journal_path`` keeps its intent ring: ``<journal>.intents`` beside it,
    or in ``ring_dir`` under a name derived from the journal's absolute path (one ring per journal)."""
    if ring_dir is None:
        return f"{journal_path}.intents"
    digest = hashlib.sha256(str(Path(journal_path).resolve()).encode()).hexdigest()[:16]
    return str(Path(ring_dir) / f"mm-bot-{digest}.intents")


def _recover_intents(conn: sqlite3.Connection, ring: IntentLog, slots: int | None) -> None:
    """Insert the ring's intact intents as ``pending_new`` orders (a known id is left alone), then
    empty the ring: for writing with ``slots`` slots, or at its own size if ``slots`` is None.

    The ring is only trusted if its id is the one this journal stored: a ring left over from a
    deleted journal file would otherwise resurrect that file's orders."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (_RING_ID_KEY,)).fetchone()
    journal_ring_id = None if row is None else int(row[0])
    ours = journal_ring_id is not None and ring.ring_id == journal_ring_id
    intents = ring.replay() if ours else []
    if slots is None and not intents:
        return  # not writing, nothing to recover: leave the file as it is
    ring_id = journal_ring_id or int.from_bytes(os.urandom(8), "little") >> 1 or 1
    with transaction(conn):
        rows = [_order_row(i.request(), i.market, i.ts_ns, i.session_id) for i in intents]
        conn.executemany(_INSERT_INTENT, rows)
        if journal_ring_id is None:
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (_RING_ID_KEY, str(ring_id)))
    ring.reset(ring_id, slots)


def _order_row(request: OrderRequest, market: str, now_ns: int, session_id: int | None) -> _OrderRow:
    """The orders row of a new (``pending_new``) order."""
    return (
        request.client_order_id,
        market,
        int(request.side),
        request.price_ticks,
        request.qty_lots,
        request.order_type.value,
        _PENDING_NEW,
        now_ns,
        now_ns,
        session_id,
    )


def _order_of(row: tuple[Any, ...]) -> JournalOrder:
    cid, market, side, price, qty, otype, state, created, updated, session = row
    return JournalOrder(
        cid, market, Side(side), price, qty, OrderType(otype), OrderState(state), created, updated, session
    )


def _enable_wal(conn: sqlite3.Connection, timeout_s: float = 2.0) -> str:
    """``PRAGMA journal_mode=WAL``, retried while another connection holds the lock (another process
    creating the same new journal). SQLite answers "locked" at once here rather than calling the busy
    handler: the switch upgrades a read lock, and waiting on a writer from there could deadlock."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(0.005)


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the schema up to ``SCHEMA_VERSION``; a newer one (a newer mm-bot wrote it) is refused."""
    version = schema_version(conn)
    if version > SCHEMA_VERSION:
        raise JournalError(f"{path}: journal schema v{version} is newer than this mm-bot (v{SCHEMA_VERSION})")
    migrate(conn, version)
