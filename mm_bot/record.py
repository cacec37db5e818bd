"""``record``: books and trades of one market of any ccxt exchange with WebSocket books, into a capture
that ``sim.data.load`` reads (the format: ``sim/data/mmbot_capture.py``).

Through ccxt pro's unified, public ``watch_order_book(symbol, depth)`` and ``watch_trades(symbol)``
on the client ``make_exchange`` builds (``endpoint`` rebases its URLs; no keys). What is recorded is
ccxt's book: it keeps it in sync with the venue and raises when it cannot. Each book ccxt hands over
whose top ``depth`` levels differ from the last one written becomes a ``book`` record; each new trade
a ``trade`` record. When a stream fails, one ``gap`` record is written and the stream is watched
again every ``retry_delay_s``; the next book after a book gap is a fresh, resynced one.

Numbers: ccxt hands over floats parsed from the venue's text. ``decimal_text`` writes the shortest
decimal that reads back as the same float (the venue's digits, for any value of up to 15 significant
digits), snapped to the market's tick or lot where it is off that grid by float noise only, padded
to the step's decimals. A value genuinely off the grid (Binance's far levels finer than the lot) is
kept as it is.

Receive times are the wall clock at start plus the monotonic clock since, in ns, so they never go
back. The file is gzip, flushed every ``flush_interval_s`` (a sync flush: everything written so far
reads back, even if the process is then killed) and at the end. Stopping: the ``stop`` event (the CLI
sets it on SIGINT/SIGTERM) or ``duration_s``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import json
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any, Final

import structlog
from ccxt.base.decimal_to_precision import DECIMAL_PLACES, TICK_SIZE

from mm_bot import __version__
from mm_bot.clock import steady_wall_clock
from mm_bot.venues.ccxt_client import make_exchange
from sim.data.meta import decimals_of
from sim.data.mmbot_capture import FORMAT, VERSION

__all__ = [
    "RecordError",
    "RecordOptions",
    "RecordSummary",
    "decimal_text",
    "market_step",
    "open_exchange",
    "record",
]

log = structlog.get_logger("mm_bot.record")

_NOISE: Final = Decimal("1e-12")
"""Relative distance to the grid below which a value is float noise (a float carries ~1e-16)."""
_RECENT_TRADES: Final = 10_000
_CLOSE_TIMEOUT_S: Final = 5.0


class RecordError(Exception):
    """Nothing can be recorded as asked (unknown exchange or symbol, no WebSocket books, a bad
    option): a usage error, exit 2. Raised before the file is created."""


@dataclass(frozen=True, slots=True)
class RecordOptions:
    exchange_id: str
    symbol: str
    out: Path
    duration_s: float | None = None
    endpoint: str | None = None
    depth: int = 20
    retry_delay_s: float = 1.0
    flush_interval_s: float = 1.0
    start_timeout_s: float = 30.0


@dataclass(slots=True)
class RecordSummary:
    out: str
    books: int = 0
    trades: int = 0
    gaps: int = 0
    bytes: int = 0
    """The file's size on disk (compressed) at the end."""
    books_unchanged: int = 0
    """Books ccxt handed over whose top ``depth`` levels were those of the last one written."""
    dropped: int = 0
    """Books or trades ccxt handed over that could not be written (a non-finite number ...)."""
    duration_s: float = 0.0
    failures: list[str] = field(default_factory=list)
    """What each gap was (stream: error)."""

    def line(self) -> str:
        return (
            f"recorded {self.books} books, {self.trades} trades, {self.gaps} gaps, {self.bytes} bytes "
            f"in {self.duration_s:.1f} s to {self.out}"
        )


def decimal_text(value: float, step: Decimal | None) -> str:
    """``value`` as the decimal it was read from (see the module docstring); ``ValueError`` if it is
    not a finite number."""
    exact = Decimal(repr(float(value)))
    if not exact.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    if step is None:
        return f"{exact.normalize():f}"
    snapped = (exact / step).to_integral_value(ROUND_HALF_EVEN) * step
    if abs(snapped - exact) <= abs(exact) * _NOISE:
        exact = snapped
    padded = exact.quantize(Decimal(1).scaleb(-decimals_of(f"{step:f}")))
    return f"{padded if padded == exact else exact.normalize():f}"


def market_step(exchange: Any, market: dict[str, Any], key: str) -> Decimal | None:
    """The tick (``key`` ``price``) or lot (``amount``) of a ccxt market from its precision; None if
    ccxt gives none, or counts significant digits (no fixed step)."""
    value = (market.get("precision") or {}).get(key)
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    mode = getattr(exchange, "precisionMode", TICK_SIZE)
    if mode == TICK_SIZE:
        step = Decimal(repr(float(value)))
    elif mode == DECIMAL_PLACES:
        step = Decimal(1).scaleb(-int(value))
    else:
        return None
    return step.normalize() if step.is_finite() and step > 0 else None


class _Writer:
    """The capture file: one ``<local_ns> <json>`` line per record, gzip, flushed on demand."""

    def __init__(self, path: Path) -> None:
        self._gz = gzip.open(path, "wb", compresslevel=6)  # noqa: SIM115 - closed by close()

    def write(self, local_ns: int, record: dict[str, Any]) -> None:
        self._gz.write(f"{local_ns} {json.dumps(record, separators=(',', ':'))}\n".encode())

    def flush(self) -> None:
        self._gz.flush()  # zlib's sync flush: a reader sees every line written so far

    def close(self) -> None:
        self._gz.close()


class _Recorder:
    """The two stream loops and what they write; ``tick``/``lot`` None where ccxt gives no step."""

    def __init__(
        self,
        options: RecordOptions,
        exchange: Any,
        market: dict[str, Any],
        writer: _Writer,
        clock: Callable[[], int],
    ) -> None:
        self.options = options
        self.ex = exchange
        self.market = market
        self.writer = writer
        self.clock = clock
        self.summary = RecordSummary(out=str(options.out))
        self.tick = market_step(exchange, market, "price")
        self.lot = market_step(exchange, market, "amount")
        self.has_trades = bool(exchange.has.get("watchTrades"))
        self._last_view: tuple[list[list[str]], list[list[str]]] | None = None
        self._book_up = False  # a book was written since the start or the last book gap
        self._trades_up = True
        self._seen: deque[str] = deque(maxlen=_RECENT_TRADES)
        self._seen_set: set[str] = set()

    def write_header(self) -> None:
        opts, market = self.options, self.market
        header = {
            "mmbot": "header",
            "format": FORMAT,
            "version": VERSION,
            "recorder": f"mm-bot {__version__}",
            "exchange": opts.exchange_id,
            "symbol": opts.symbol,
            "market_id": market.get("id"),
            "type": market.get("type"),
            "tick": None if self.tick is None else f"{self.tick:f}",
            "lot": None if self.lot is None else f"{self.lot:f}",
            "min_qty": ((market.get("limits") or {}).get("amount") or {}).get("min"),
            "depth": opts.depth,
            "trades": self.has_trades,
        }
        self.writer.write(self.clock(), header)
        self.writer.flush()

    async def watch_books(self) -> None:
        opts = self.options
        while True:
            try:
                book = await self.ex.watch_order_book(opts.symbol, opts.depth)
            except asyncio.CancelledError as exc:
                _reraise_if_stopping(exc)
                failure: BaseException = exc  # ccxt cancelled its future: it closed that socket
            except Exception as exc:
                failure = exc
            else:
                self._on_book(book, self.clock())
                continue
            if self._book_up:
                self._book_up = False
                self._gap("book", failure)
            log.warning("record_stream_failed", stream="book", error=_describe(failure))
            await asyncio.sleep(opts.retry_delay_s)

    async def watch_trades(self) -> None:
        while True:
            try:
                trades = await self.ex.watch_trades(self.options.symbol)
            except asyncio.CancelledError as exc:
                _reraise_if_stopping(exc)
                failure: BaseException = exc
            except Exception as exc:
                failure = exc
            else:
                self._trades_up = True
                local = self.clock()
                for trade in trades:
                    self._on_trade(trade, local)
                continue
            if self._trades_up:
                self._trades_up = False
                self._gap("trades", failure)
            log.warning("record_stream_failed", stream="trades", error=_describe(failure))
            await asyncio.sleep(self.options.retry_delay_s)

    async def flush_regularly(self) -> None:
        while True:
            await asyncio.sleep(self.options.flush_interval_s)
            self.writer.flush()

    def _on_book(self, book: Any, local: int) -> None:
        depth, tick, lot = self.options.depth, self.tick, self.lot
        try:  # at once: ccxt updates this same object in place as later messages arrive
            bids = [[decimal_text(lv[0], tick), decimal_text(lv[1], lot)] for lv in book["bids"][:depth]]
            asks = [[decimal_text(lv[0], tick), decimal_text(lv[1], lot)] for lv in book["asks"][:depth]]
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            self.summary.dropped += 1
            log.warning("record_book_dropped", error=str(exc)[:120])
            return
        fresh = not self._book_up
        self._book_up = True
        if not fresh and self._last_view == (bids, asks):
            self.summary.books_unchanged += 1
            return
        self._last_view = (bids, asks)
        nonce = book.get("nonce")
        record = {
            "mmbot": "book",
            "ts": _ms(book.get("timestamp")),
            "nonce": nonce if isinstance(nonce, int) and not isinstance(nonce, bool) else None,
            "bids": bids,
            "asks": asks,
        }
        self.writer.write(local, record)
        self.summary.books += 1

    def _on_trade(self, trade: Any, local: int) -> None:
        trade_id = trade.get("id")
        if trade_id is not None:
            key = str(trade_id)
            if key in self._seen_set:
                return  # handed over before (after a reconnect, or by a client without newUpdates)
            if len(self._seen) == self._seen.maxlen:
                self._seen_set.discard(self._seen[0])
            self._seen.append(key)
            self._seen_set.add(key)
        side = trade.get("side")
        try:
            record = {
                "mmbot": "trade",
                "ts": _ms(trade.get("timestamp")),
                "id": None if trade_id is None else str(trade_id),
                "price": decimal_text(trade["price"], self.tick),
                "qty": decimal_text(trade["amount"], self.lot),
                "side": side if side in ("buy", "sell") else None,
            }
        except (TypeError, ValueError, KeyError) as exc:
            self.summary.dropped += 1
            log.warning("record_trade_dropped", error=str(exc)[:120])
            return
        self.writer.write(local, record)
        self.summary.trades += 1

    def _gap(self, stream: str, failure: BaseException) -> None:
        self.writer.write(self.clock(), {"mmbot": "gap", "stream": stream, "reason": _describe(failure)})
        self.writer.flush()
        self.summary.gaps += 1
        self.summary.failures.append(f"{stream}: {_describe(failure)}")


def _ms(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    return int(value)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:200]}" if str(exc) else type(exc).__name__


def _reraise_if_stopping(exc: asyncio.CancelledError) -> None:
    task = asyncio.current_task()
    if task is None or task.cancelling():
        raise exc  # we are being stopped


def open_exchange(options: RecordOptions) -> Any:
    """The ccxt pro client, for public data (no keys); ``RecordError`` if ccxt has no WebSocket
    client for this id, or one without WebSocket order books."""
    exchange_id = options.exchange_id
    try:
        exchange = make_exchange(exchange_id, api_key="", api_secret="", endpoint=options.endpoint)
    except KeyError:
        import ccxt

        if exchange_id in ccxt.exchanges:
            raise RecordError(f"ccxt has no WebSocket client for {exchange_id!r}") from None
        raise RecordError(f"unknown exchange {exchange_id!r} (see ccxt.pro.exchanges)") from None
    if not exchange.has.get("watchOrderBook"):
        raise RecordError(f"{exchange_id} has no WebSocket order books in ccxt (watchOrderBook)")
    return exchange


async def record(
    options: RecordOptions, stop: asyncio.Event | None = None, *, exchange: Any | None = None
) -> RecordSummary:
    """Record until ``stop`` is set or ``duration_s`` has passed; ``exchange`` is a ccxt pro client to
    use instead of ``open_exchange``'s (it is closed at the end either way).

    Raises ``RecordError`` (before the file is created), ``TimeoutError`` or ccxt's error if the
    markets cannot be loaded within ``start_timeout_s``, ``OSError`` if the file cannot be written.
    """
    if options.depth < 1:
        raise RecordError(f"--depth must be at least 1, got {options.depth}")
    ex = exchange if exchange is not None else open_exchange(options)
    stop = stop if stop is not None else asyncio.Event()
    clock = steady_wall_clock()  # receive times never go back
    t0 = clock()
    try:
        async with asyncio.timeout(options.start_timeout_s):
            markets = await ex.load_markets()
        market = markets.get(options.symbol)
        if market is None:
            raise RecordError(f"{options.exchange_id} lists no market {options.symbol!r}")
        writer = _Writer(options.out)
        try:
            rec = _Recorder(options, ex, market, writer, clock)
            rec.write_header()
            log.info(
                "record_started", exchange=options.exchange_id, symbol=options.symbol, out=str(options.out)
            )
            await _run(rec, stop)
        finally:
            writer.close()
    finally:
        await _close(ex)
    summary = rec.summary
    summary.duration_s = (clock() - t0) / 1e9
    summary.bytes = options.out.stat().st_size
    log.info("record_stopped", **{k: v for k, v in dataclasses.asdict(summary).items() if k != "failures"})
    return summary


async def _run(rec: _Recorder, stop: asyncio.Event) -> None:
    """The streams and the flusher until ``stop`` or the duration; a write failure is raised as is."""
    try:
        async with asyncio.TaskGroup() as group:
            workers = [group.create_task(rec.watch_books(), name="record:books")]
            if rec.has_trades:
                workers.append(group.create_task(rec.watch_trades(), name="record:trades"))
            workers.append(group.create_task(rec.flush_regularly(), name="record:flush"))
            group.create_task(_stop_after(stop, rec.options.duration_s, workers), name="record:stop")
    except ExceptionGroup as group:
        raise group.exceptions[0] from None  # the workers raise nothing but a failed write (OSError)


async def _stop_after(
    stop: asyncio.Event, duration_s: float | None, workers: list[asyncio.Task[None]]
) -> None:
    try:
        async with asyncio.timeout(duration_s):
            await stop.wait()
    except TimeoutError:
        pass
    for task in workers:
        task.cancel()


async def _close(exchange: Any) -> None:
    """Close the client, bounded; a failure is logged, never raised over the outcome."""
    try:
        async with asyncio.timeout(_CLOSE_TIMEOUT_S):
            await exchange.close()
    except Exception as exc:  # TimeoutError included
        log.warning("record_client_close_failed", error=_describe(exc))
