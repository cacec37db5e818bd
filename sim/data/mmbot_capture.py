"""Our own capture format (written by ``mm-bot record`` from any ccxt exchange), parsed into the rows
``load()`` gives for a Binance capture.

The file
--------
Gzip text, one record a line, ``<local_receive_ts_ns> <JSON object>`` (as the Binance captures); the
object's ``"mmbot"`` key names the record. Prices and quantities are decimal strings.

- ``header``, the first line: ``format`` (``FORMAT``), ``version`` (``VERSION``), ``recorder``,
  ``exchange`` (ccxt id), ``symbol`` (ccxt's unified symbol), ``market_id``, ``type`` (ccxt's market
  type: ``spot``, ``swap`` ...), ``tick`` and ``lot`` (from ccxt's market precision; null if ccxt
  gives none), ``depth`` (levels kept per side), ``trades`` (whether trades are recorded).
- ``book``: ``ts`` (the exchange's ms, or null), ``nonce`` (ccxt's, or null), ``bids`` and ``asks``:
  the top ``depth`` levels of ccxt's book, ``[price, qty]`` best first.
- ``trade``: ``ts``, ``id`` (the exchange's, a string or null), ``price``, ``qty``, ``side`` (the
  aggressor: ``buy``, ``sell`` or null).
- ``gap``: ``stream`` (``book`` or ``trades``) failed, ``reason``; what it carried until it is back
  is unknown. Another ``header`` later in the file (captures concatenated with ``cat``) also starts
  the book afresh.

Books into rows
---------------
Each book record is a complete top-N view, so it is diffed against the book rebuilt so far:

- the first book of a file, and the first after a book gap, is a snapshot: per non-empty side a
  ``DEPTH_CLEAR_EVENT`` through its worst price, then ``DEPTH_SNAPSHOT_EVENT`` rows (as for a Binance
  REST snapshot);
- a later one becomes ``DEPTH_EVENT`` rows: a level that is new or whose quantity changed, with its
  new quantity; a level the book holds that is absent from the record *at or better than the
  record's worst level on that side* (its visible range), with quantity 0. A level beyond that range
  is not deleted: it left the top-N view (something better arrived, or the view shrank), which says
  nothing about it. The rebuilt book is therefore exact within the latest record's range and holds
  the last quantity seen beyond it until that price comes into view again (as a level, or as a gap
  in the view that deletes it); ``L2Book.top(depth)`` is the recorded view. An empty side in a
  record means ccxt held no level there: the side is emptied. A record that changes nothing makes
  no rows and no message (``books_unchanged``);
- a book gap, while the book is known, is a ``MSG_GAP`` message with one ``BOOK_GAP_EVENT`` row;
- a record that cannot be read is skipped and counted; as each book is a whole view, the next one
  still diffs correctly, so a skipped book needs no gap.

Message ids: ``first_id``/``last_id`` are the book's nonce (-1 when null) or the trade id (when it is
all digits); rows carry it in ``order_id`` (0 when there is none). ``exch_ts`` is filled as for
Binance's untimed messages (``MSG_EXCH_TS_FILLED``). Files of one recording are joined in the order
of their first receive times and must not overlap in time; a gap is put between two files when the
first ended with a known book. Sans-IO: lines in, arrays out.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any, Final

import numpy as np

from sim.data.binance import fill_rows
from sim.data.events import (
    BOOK_GAP_EVENT,
    BUY_EVENT,
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    EVENT_DTYPE,
    EXCH_EVENT,
    LOCAL_EVENT,
    MESSAGE_DTYPE,
    MSG_DEPTH,
    MSG_GAP,
    MSG_SNAPSHOT,
    MSG_TRADE,
    SELL_EVENT,
    TRADE_EVENT,
    EventArray,
    MessageArray,
)
from sim.data.meta import Meta, Recording, check_step
from sim.data.report import DataError, FileReport, Gap, ImportReport, SnapshotUse
from sim.data.sync import _fill_exch_ts  # the one rule for untimed messages

__all__ = ["FORMAT", "VERSION", "Header", "ParsedCapture", "capture_start", "parse_captures"]

FORMAT: Final = "mmbot-capture"
VERSION: Final = 1
_MS: Final = 1_000_000
_MAX_ID: Final = 2**63 - 1
_FLAGS: Final = EXCH_EVENT | LOCAL_EVENT
_SIDES: Final = {"buy": BUY_EVENT, "sell": SELL_EVENT, None: 0}


@dataclass(frozen=True, slots=True)
class Header:
    exchange: str
    symbol: str
    market_type: str
    tick: str | None
    lot: str | None


@dataclass(slots=True)
class ParsedCapture:
    """The files of one capture, parsed and joined; ``recording`` adds the tick and lot, as resolved
    by ``store.resolve_steps`` from the header's or the caller's."""

    events: EventArray
    messages: MessageArray
    reports: list[FileReport]
    gaps: list[Gap]
    snapshots: list[SnapshotUse]
    counters: dict[str, int]
    header: Header | None
    market: str

    def recording(self, steps: tuple[str, str, bool, bool, int]) -> Recording:
        tick, lot, tick_inferred, lot_inferred, off_lot = steps
        symbol = self.header.symbol if self.header is not None else "unknown"
        names = tuple(r.name for r in self.reports)
        meta = Meta(symbol, self.market, tick, lot, names, tick_inferred, lot_inferred)
        counters = {**self.counters, "qty_off_lot_grid": off_lot}
        return Recording(
            self.events, self.messages, meta, ImportReport(self.reports, self.gaps, self.snapshots, counters)
        )


class _Skip(Exception):
    """A record that cannot be used; the message is the reason."""


def _number(value: Any) -> float:
    if type(value) not in (str, int, float):
        raise _Skip(f"expected a decimal string, got {str(value)[:40]!r}")
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise _Skip(f"expected a positive finite number, got {str(value)[:40]!r}")
    return number


def _levels(value: Any, bids: bool) -> list[tuple[float, float]]:
    if type(value) is not list:
        raise _Skip("price levels are not a list")
    levels = []
    for level in value:
        if type(level) is not list or len(level) != 2:
            raise _Skip("a price level is not a [price, qty] pair")
        levels.append((_number(level[0]), _number(level[1])))
    prices = [p for p, _ in levels]
    if any((a <= b) if bids else (a >= b) for a, b in pairwise(prices)):
        raise _Skip(f"{'bids' if bids else 'asks'} are not in strict best-first order")
    return levels


def _ms(value: Any) -> int:
    if value is None:
        return -1
    if type(value) is not int or not 0 <= value <= _MAX_ID // _MS:
        raise _Skip(f"bad timestamp {str(value)[:40]!r}")
    return value * _MS


def _id(value: Any) -> int:
    """A nonce or trade id as a non-negative int, -1 when there is none usable."""
    if type(value) is int and 0 <= value <= _MAX_ID:
        return value
    if type(value) is str and value.isascii() and value.isdigit() and int(value) <= _MAX_ID:
        return int(value)
    return -1


class _Side:
    """One side of the rebuilt book: price -> qty, and its prices sorted ascending."""

    def __init__(self, bids: bool) -> None:
        self.bids = bids
        self.levels: dict[float, float] = {}
        self.prices: list[float] = []

    def reset(self, new: list[tuple[float, float]]) -> None:
        self.levels = dict(new)
        self.prices = sorted(self.levels)

    def diff(self, new: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """The rows that turn this side into ``new`` under the top-N view rule; applies them."""
        if not new:
            gone = list(self.prices)
        else:
            worst = new[-1][0]
            if self.bids:
                visible = self.prices[bisect_left(self.prices, worst) :]
            else:
                visible = self.prices[: bisect_right(self.prices, worst)]
            shown = {p for p, _ in new}
            gone = [p for p in visible if p not in shown]
        for price in gone:
            del self.levels[price]
            del self.prices[bisect_left(self.prices, price)]
        rows = [(p, 0.0) for p in gone]
        for price, qty in new:
            old = self.levels.get(price)
            if old != qty:
                if old is None:
                    insort(self.prices, price)
                self.levels[price] = qty
                rows.append((price, qty))
        rows.sort(reverse=self.bids)
        return rows


def capture_start(lines: Iterable[bytes]) -> int | None:
    """The receive time of a file's first record if the file is ours (the first JSON object read has
    an ``mmbot`` key), else None."""
    for raw in lines:
        stamp, _, payload = raw.strip().partition(b" ")
        try:
            record = json.loads(payload)
        except ValueError:
            continue
        ours = type(record) is dict and "mmbot" in record
        return int(stamp) if ours and stamp.isdigit() else 0 if ours else None
    return None


class _Parser:
    def __init__(self) -> None:
        self.report = FileReport("")
        self.file = -1
        self.header: Header | None = None
        self.rows: list[tuple[int, float, float, int]] = []  # ev, px, qty, order_id
        self.msgs: list[
            tuple[int, int, int, int, int, int, int]
        ] = []  # kind, exch, local, id, line, file, rows
        self.gaps: list[Gap] = []
        self.snapshots: list[SnapshotUse] = []
        names = ("books", "books_unchanged", "trades", "book_gaps_while_unknown", "trade_stream_gaps")
        self.counters = dict.fromkeys(names, 0)
        self.bids, self.asks = _Side(True), _Side(False)
        self.known = False
        self.nonce = self.exch_ts = -1
        self.records = 0  # in this file
        self.last_local = 0  # over all files so far
        self.previous = ""  # the file before, by name

    def start_file(self, report: FileReport) -> None:
        self.previous, self.report, self.file, self.records = self.report.name, report, self.file + 1, 0

    def feed(self, raw: bytes, lineno: int) -> None:
        try:
            self._feed(raw, lineno)
        except _Skip as exc:
            self.report.problem(lineno, str(exc))
        except KeyError as exc:
            self.report.problem(lineno, f"missing field {exc}")
        except (ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
            self.report.problem(lineno, f"unreadable: {str(exc)[:80]}")

    def _feed(self, raw: bytes, lineno: int) -> None:
        line = raw.strip()
        if not line:
            return
        stamp, _, payload = line.partition(b" ")
        if not stamp.isdigit() or not payload:
            raise _Skip("expected '<local_receive_ts_ns> <json>'")
        local = int(stamp)
        if local > _MAX_ID:
            raise _Skip("receive time out of range")
        record = json.loads(payload)
        if type(record) is not dict or "mmbot" not in record:
            raise _Skip("not an mmbot record")
        kind = record["mmbot"]
        self.records += 1
        if self.records == 1 and self.file:
            if local < self.last_local:
                raise DataError(f"{self.previous} and {self.report.name} overlap in time")
            self._book_gap(local, 0)  # another recording: the book starts afresh
        self.last_local = max(self.last_local, local)
        if kind == "header":
            self._header(record, local, lineno)
            return
        if self.records == 1:
            self.report.problem(lineno, "no header record first: exchange, symbol, tick and lot unknown")
        if kind == "book":
            self._book(record, local, lineno)
        elif kind == "trade":
            self._trade(record, local, lineno)
        elif kind == "gap":
            self._gap(record, local, lineno)
        else:
            self.report.ignore(f"record {str(kind)[:20]}")

    def _header(self, record: dict[str, Any], local: int, lineno: int) -> None:
        where = f"{self.report.name}:{lineno}"
        if record["format"] != FORMAT or record["version"] != VERSION:
            raise DataError(
                f"{where}: {record['format']!r} version {record['version']!r}; "
                f"this mm-bot reads {FORMAT!r} version {VERSION}"
            )
        steps = []
        for name in ("tick", "lot"):
            value = record.get(name)
            try:
                steps.append(None if value is None else check_step(str(value), name))
            except DataError as exc:
                self.report.problem(lineno, f"header: {exc}; inferred from the data instead")
                steps.append(None)
        header = Header(
            exchange=str(record["exchange"]),
            symbol=str(record["symbol"]),
            market_type=str(record.get("type") or "unknown"),
            tick=steps[0],
            lot=steps[1],
        )
        self.report.symbol, self.report.market_hint = header.symbol, header.market_type
        self.report.streams = [f"{header.exchange} {header.symbol} book top {record.get('depth')}"]
        if record.get("trades", True):
            self.report.streams.append(f"{header.exchange} {header.symbol} trades")
        if self.header is None:
            self.header = header
        elif (header.exchange, header.symbol, header.market_type) != (
            self.header.exchange, self.header.symbol, self.header.market_type
        ):  # fmt: skip
            raise DataError(
                f"{where}: captures of different markets: {header.exchange} {header.symbol} after "
                f"{self.header.exchange} {self.header.symbol}"
            )
        self._book_gap(local, lineno)  # a capture appended (cat a.gz b.gz): the book starts afresh

    def _book(self, record: dict[str, Any], local: int, lineno: int) -> None:
        exch = _ms(record.get("ts"))
        bids, asks = _levels(record["bids"], True), _levels(record["asks"], False)
        nonce = _id(record.get("nonce"))
        order_id = max(nonce, 0)
        if not self.known and not bids and not asks:
            raise _Skip("empty book: no snapshot to start from")
        self.counters["books"] += 1
        self.exch_ts = exch if exch >= 0 else self.exch_ts
        self.nonce = nonce
        if not self.known:
            self.bids.reset(bids)
            self.asks.reset(asks)
            count = len(self.rows)
            for levels, side in ((bids, BUY_EVENT), (asks, SELL_EVENT)):
                if levels:
                    self.rows.append((DEPTH_CLEAR_EVENT | side, levels[-1][0], 0.0, order_id))
                    self.rows += [(DEPTH_SNAPSHOT_EVENT | side, p, q, order_id) for p, q in levels]
            self._message(MSG_SNAPSHOT, exch, local, nonce, lineno, len(self.rows) - count)
            self.snapshots.append(SnapshotUse(local, nonce, self.report.name, lineno, "applied"))
            if self.gaps and self.gaps[-1].resynced_local_ts is None:
                self.gaps[-1] = replace(self.gaps[-1], resynced_local_ts=local)
            self.known = True
        else:
            changed = [(DEPTH_EVENT | BUY_EVENT, p, q) for p, q in self.bids.diff(bids)]
            changed += [(DEPTH_EVENT | SELL_EVENT, p, q) for p, q in self.asks.diff(asks)]
            if not changed:
                self.counters["books_unchanged"] += 1
                return
            self.rows += [(ev, p, q, order_id) for ev, p, q in changed]
            self._message(MSG_DEPTH, exch, local, nonce, lineno, len(changed))

    def _trade(self, record: dict[str, Any], local: int, lineno: int) -> None:
        side = record.get("side")
        if side not in _SIDES:
            raise _Skip(f"trade side {str(side)[:20]!r} is not buy, sell or null")
        exch = _ms(record.get("ts"))
        price, qty = _number(record["price"]), _number(record["qty"])
        trade_id = _id(record.get("id"))
        self.rows.append((TRADE_EVENT | _SIDES[side], price, qty, max(trade_id, 0)))
        self._message(MSG_TRADE, exch, local, trade_id, lineno, 1)
        self.counters["trades"] += 1
        self.exch_ts = exch if exch >= 0 else self.exch_ts

    def _gap(self, record: dict[str, Any], local: int, lineno: int) -> None:
        stream = record.get("stream")
        if stream == "trades":
            self.counters["trade_stream_gaps"] += 1
        elif stream == "book":
            if not self.known:
                self.counters["book_gaps_while_unknown"] += 1
            self._book_gap(local, lineno)
        else:
            raise _Skip(f"gap of an unknown stream {str(stream)[:20]!r}")

    def _book_gap(self, local: int, lineno: int) -> None:
        if not self.known:
            return
        self.rows.append((BOOK_GAP_EVENT, 0.0, 0.0, max(self.nonce, 0)))
        self._message(MSG_GAP, -1, local, self.nonce, lineno, 1)
        self.gaps.append(Gap(local, self.exch_ts, self.nonce, -1, -1, -1, self.report.name, lineno))
        self.known = False
        self.bids.reset([])
        self.asks.reset([])

    def _message(self, kind: int, exch: int, local: int, ident: int, lineno: int, nrows: int) -> None:
        self.msgs.append((kind, exch, local, ident, lineno, self.file, nrows))

    def finish(self) -> tuple[EventArray, MessageArray]:
        events = np.zeros(len(self.rows), EVENT_DTYPE)
        if self.rows:
            ev, px, qty, order_id = zip(*self.rows, strict=True)
            events["ev"] = np.array(ev, np.uint64) | np.uint64(_FLAGS)
            events["px"], events["qty"], events["order_id"] = px, qty, order_id
        table = np.array(self.msgs, np.int64).reshape(len(self.msgs), 7)
        messages = np.zeros(len(self.msgs), MESSAGE_DTYPE)
        for column, name in enumerate(("kind", "exch_ts", "local_ts", "first_id", "line", "file")):
            messages[name] = table[:, column]
        messages["last_id"], messages["prev_id"] = messages["first_id"], -1
        local = messages["local_ts"]
        monotone = np.maximum.accumulate(local) if len(local) else local
        self.counters["local_ts_clamped"] = int((local < monotone).sum())
        messages["local_ts"] = monotone
        _fill_exch_ts(messages)
        return fill_rows(events, messages, table[:, 6]), messages


def parse_captures(
    files: Sequence[tuple[FileReport, Iterable[bytes]]], market: str | None, *, strict: bool = False
) -> ParsedCapture:
    """Parse the files of one capture, in the order of their first receive times (``capture_start``),
    into one set of arrays; problems and counts go into each file's report.

    Raises ``DataError`` for a header of another format or version, files of different markets or
    overlapping in time, a file with no usable record (or, with ``strict``, any skipped line), or a
    ``market`` other than the recorded one.
    """
    parser = _Parser()
    for report, lines in files:
        parser.start_file(report)
        before, lineno = len(parser.msgs), 0
        for lineno, raw in enumerate(lines, 1):
            parser.feed(raw, lineno)
        report.lines = max(report.lines, lineno)
        report.messages = len(parser.msgs) - before
        if strict and report.examples:
            raise DataError(str(report.examples[0]))
        if not report.messages:
            first = f"; first problem: {report.examples[0]}" if report.examples else ""
            raise DataError(f"{report.name}: no book, trade or gap in {report.lines} lines{first}")
    events, messages = parser.finish()
    header = parser.header
    recorded = header.market_type if header is not None else None
    if market is not None and recorded is not None and market != recorded:
        raise DataError(f"--market {market} given, but the capture is of a {recorded} market")
    reports = [report for report, _ in files]
    return ParsedCapture(
        events, messages, reports, parser.gaps, parser.snapshots, parser.counters, header,
        recorded or market or "unknown",
    )  # fmt: skip
