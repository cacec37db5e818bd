"""Parse one file of recorded Binance messages (spot or USD-M) into event rows and a message table.

Sans-IO: ``parse_lines`` takes the file's lines as bytes (``<local_receive_ts_ns> <raw JSON>``) and
keeps every message as it came, in file order: diffs (``depthUpdate``; ``U``, ``u`` and, on USD-M,
``pu``), REST snapshots (``lastUpdateId``; clear + snapshot rows as hftbacktest writes them),
``trade``, ``aggTrade`` and ``bookTicker``. Nothing is decided about the book here: which diffs apply
is Binance's sync rule, applied over the joined files of a set by ``sim/data/sync.py``, so a parse
can be cached per file.

Accepted shapes: the combined-stream wrapper ``{"stream": "btcusdt@depth@100ms", "data": {...}}``
(any speed suffix, or none) and bare stream payloads. Partial-book streams (``@depth20``) are
ignored, as are subscription and error replies, other event types, messages of a second symbol
(a set is one symbol: the first one seen), and USD-M trades whose ``X`` is not ``MARKET`` (as
hftbacktest does). Bad lines are skipped and counted (see ``sim/data/report.py``).

Timestamps: ``T`` (transaction time) where the message has it, else ``E``, in ms, stored as ns;
spot ``bookTicker`` and spot snapshots have neither and get -1 here (sync fills them).
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain
from typing import Any, Final

import numpy as np

from sim.data.events import (
    BUY_EVENT,
    DEPTH_BBO_EVENT,
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    EVENT_DTYPE,
    EXCH_EVENT,
    LOCAL_EVENT,
    MESSAGE_DTYPE,
    MSG_AGG_TRADE,
    MSG_BBO,
    MSG_DEPTH,
    MSG_SNAPSHOT,
    MSG_TRADE,
    SELL_EVENT,
    TRADE_EVENT,
    EventArray,
    MessageArray,
)
from sim.data.report import FileReport

_loads: Callable[[bytes], Any]
try:
    import orjson

    _loads = orjson.loads
except ImportError:  # pragma: no cover - orjson is optional, json is the fallback
    _loads = json.loads

__all__ = ["ParsedFile", "fill_rows", "parse_lines"]

_MS: Final = 1_000_000
_MAX_ID: Final = 2**63 - 1
_MAX_MS: Final = _MAX_ID // _MS
_LIST: Final = frozenset({list})
_PAIR: Final = frozenset({2})
_ZERO: Final = "0"
_COLUMNS: Final = 11
"""Per message: kind, exch_ts, local_ts, first id, last id, prev id, row id, line, bid rows, ask rows,
trade side."""
_FLUSH_ROWS: Final = 1 << 18
_BID_DEPTH: Final = DEPTH_EVENT | BUY_EVENT
_ASK_DEPTH: Final = DEPTH_EVENT | SELL_EVENT


MAX_VALUE: Final = 1e15
"""The largest price or quantity a line may hold, far beyond any market's: a line above it is hostile.
(Whether the values fit the book's integer ticks and lots is checked once the steps are known:
``store.resolve_steps``.)"""


@dataclass(slots=True)
class ParsedFile:
    """One file's messages in file order; ``messages['file']`` is 0 and ``events['ival']`` indexes
    ``messages``. ``exch_ts`` is -1 where the venue gave none."""

    events: EventArray
    messages: MessageArray
    report: FileReport


class _Skip(Exception):
    """A line that cannot be used; the message is the reason."""


def _int(value: Any, limit: int = _MAX_ID) -> int:
    if type(value) is not int or not 0 <= value <= limit:
        raise _Skip(f"expected a non-negative integer, got {str(value)[:40]!r}")
    return value


def _levels(value: Any) -> list[Any]:
    if type(value) is not list or not set(map(type, value)) <= _LIST or not set(map(len, value)) <= _PAIR:
        raise _Skip("price levels are not a list of [price, quantity] pairs")
    return value


def _ts(data: dict[str, Any]) -> int:
    raw = data.get("T")
    if raw is None:
        raw = data.get("E")
        if raw is None:
            return -1
    if type(raw) is not int or not 0 <= raw <= _MAX_MS:
        raise _Skip(f"bad timestamp {str(raw)[:40]!r}")
    return raw * _MS


def _channel(stream: str) -> str:
    """``btcusdt@depth@100ms`` -> ``depth``; ``btcusdt@depth20`` -> ``depth20``."""
    parts = stream.split("@")
    return parts[1] if len(parts) > 1 else ""


class _Parser:
    def __init__(self, report: FileReport) -> None:
        self.report = report
        self.pairs: list[Any] = []
        """[price, quantity] of every row, in row order (a snapshot's clear rows included)."""
        self.msgs: list[tuple[int, ...]] = []
        """One tuple of ``_COLUMNS`` per message."""
        self.tables: list[np.ndarray] = []
        self.values: list[np.ndarray] = []
        """What ``_flush`` made of earlier messages: their table rows and (price, quantity) floats."""
        self.streams: set[str] = set()
        self.by_channel = {
            "depth": self._diff,
            "trade": self._trade,
            "aggTrade": self._agg_trade,
            "bookTicker": self._ticker,
        }
        self.by_event = {"depthUpdate": self._diff, "trade": self._trade, "aggTrade": self._agg_trade}

    def feed(self, raw: bytes, lineno: int) -> None:
        try:
            self._feed(raw, lineno)
        except _Skip as exc:
            self.report.problem(lineno, str(exc))
        except KeyError as exc:
            self.report.problem(lineno, f"missing field {exc}")
        except (ValueError, TypeError, AttributeError) as exc:  # JSONDecodeError is a ValueError
            self.report.problem(lineno, f"unreadable: {str(exc)[:80]}")
        if len(self.pairs) >= _FLUSH_ROWS:
            self._flush()

    def _feed(self, raw: bytes, lineno: int) -> None:
        line = raw.strip()
        if not line:
            return
        space = line.find(b" ")
        if space < 1:
            raise _Skip("expected '<local_receive_ts_ns> <json>'")
        local_ts = _int(int(line[:space]))
        msg = _loads(line[space + 1 :])
        if type(msg) is not dict:
            raise _Skip("not a JSON object")
        data = msg.get("data")
        if data is not None:
            stream = msg.get("stream")
            if type(data) is not dict or type(stream) is not str:
                raise _Skip("bad combined-stream wrapper")
            channel = _channel(stream)
            handler = self.by_channel.get(channel)
            if handler is None:
                kind = "partial depth stream" if channel.startswith("depth") else "stream"
                self.report.ignore(f"{kind} {stream[:40]}")
                return
            if len(self.streams) < 32:
                self.streams.add(stream)
        elif "lastUpdateId" in msg:
            self._snapshot(msg, local_ts, lineno)
            return
        else:
            data = msg
            event = msg.get("e")
            handler = self.by_event.get(event) if type(event) is str else None
            if handler is None and (
                msg.get("e") == "bookTicker" or ("u" in msg and "B" in msg and "A" in msg)
            ):
                handler = self._ticker
            if handler is None:
                self._ignore(msg)
                return
        symbol = data["s"]
        if symbol != self.report.symbol:
            if self.report.symbol is not None:
                self.report.ignore(f"other symbol {str(symbol)[:20]}")
                return
            if type(symbol) is not str:
                raise _Skip("symbol 's' is not a string")
            self.report.symbol = symbol
        handler(data, local_ts, lineno)

    def _ignore(self, msg: dict[str, Any]) -> None:
        if "result" in msg or "id" in msg:
            self.report.ignore("subscription reply")
        elif "code" in msg:
            self.report.ignore("error reply")
        else:
            self.report.ignore(f"event {str(msg.get('e'))[:40]}")

    def _hint(self, market: str, what: str) -> None:
        if self.report.market_hint != market:
            if self.report.market_hint is not None:
                raise _Skip(f"{what} looks like {market}, earlier lines like {self.report.market_hint}")
            self.report.market_hint = market

    def _diff(self, data: dict[str, Any], local: int, lineno: int) -> None:
        first, last = _int(data["U"]), _int(data["u"])
        prev = _int(data["pu"]) if "pu" in data else -1
        if last < first:
            raise _Skip(f"diff with u {last} < U {first}")
        self._hint("usdm" if prev >= 0 else "spot", "diff")
        bids, asks = _levels(data["b"]), _levels(data["a"])
        self.msgs.append(
            (MSG_DEPTH, _ts(data), local, first, last, prev, last, lineno, len(bids), len(asks), 0)
        )
        self.pairs += bids
        self.pairs += asks

    def _snapshot(self, data: dict[str, Any], local: int, lineno: int) -> None:
        lid = _int(data["lastUpdateId"])
        bids, asks = _levels(data["bids"]), _levels(data["asks"])
        if not bids and not asks:
            raise _Skip("empty snapshot")
        # hftbacktest's order: clear each side through the snapshot's worst price, then its levels.
        self.msgs.append((MSG_SNAPSHOT, _ts(data), local, lid, lid, -1, lid, lineno, len(bids), len(asks), 0))
        if bids:
            self.pairs.append([bids[-1][0], _ZERO])
            self.pairs += bids
        if asks:
            self.pairs.append([asks[-1][0], _ZERO])
            self.pairs += asks

    def _trade(self, data: dict[str, Any], local: int, lineno: int) -> None:
        if "X" in data:
            self._hint("usdm", "trade")
            if data["X"] != "MARKET":
                self.report.ignore(f"trade X={str(data['X'])[:20]}")
                return
        trade_id = _int(data["t"])
        side = _aggressor(data["m"])
        pair = (data["p"], data["q"])  # every field read before the message is kept
        self.msgs.append((MSG_TRADE, _ts(data), local, trade_id, trade_id, -1, trade_id, lineno, 1, 0, side))
        self.pairs.append(pair)

    def _agg_trade(self, data: dict[str, Any], local: int, lineno: int) -> None:
        first, last, agg_id = _int(data["f"]), _int(data["l"]), _int(data["a"])
        side = _aggressor(data["m"])
        pair = (data["p"], data["q"])
        self.msgs.append((MSG_AGG_TRADE, _ts(data), local, first, last, -1, agg_id, lineno, 1, 0, side))
        self.pairs.append(pair)

    def _ticker(self, data: dict[str, Any], local: int, lineno: int) -> None:
        update_id = _int(data["u"])
        if "T" in data:
            self._hint("usdm", "bookTicker")
        bid, ask = (data["b"], data["B"]), (data["a"], data["A"])
        self.msgs.append((MSG_BBO, _ts(data), local, update_id, update_id, -1, update_id, lineno, 1, 1, 0))
        self.pairs += (bid, ask)

    def _flush(self) -> None:
        """Turn the messages and levels gathered so far into arrays, so that what is held as Python
        objects stays small however long the file is."""
        if not self.msgs:
            return
        table = np.array(self.msgs, np.int64).reshape(len(self.msgs), _COLUMNS)
        self.tables.append(table)
        self.values.append(self._values(_segments(table)[1].sum(axis=1)))
        self.msgs, self.pairs = [], []

    def _values(self, nrows: np.ndarray) -> np.ndarray:
        """The (price, quantity) pairs as floats, shape (rows, 2); NaN for a message that has a bad
        number, so the finiteness check drops it whole."""
        n = len(self.pairs)
        try:
            return np.fromiter(chain.from_iterable(self.pairs), np.float64, count=2 * n).reshape(n, 2)
        except (ValueError, TypeError):
            pass
        values = np.full((n, 2), np.nan)
        start = 0
        for count in nrows.tolist():
            chunk = chain.from_iterable(self.pairs[start : start + count])
            with contextlib.suppress(ValueError, TypeError):
                values[start : start + count] = np.fromiter(chunk, np.float64, 2 * count).reshape(count, 2)
            start += count
        return values

    def finish(self) -> ParsedFile:
        report = self.report
        report.streams = sorted(self.streams)
        self._flush()
        table = np.concatenate(self.tables) if self.tables else np.zeros((0, _COLUMNS), np.int64)
        values = np.concatenate(self.values) if self.values else np.zeros((0, 2))
        seg_ev, seg_n = _segments(table)
        nrows = seg_n.sum(axis=1)
        row_msg = np.repeat(np.arange(len(nrows)), nrows)
        bad_rows = ~((values >= 0) & (values <= MAX_VALUE)).all(axis=1)  # NaN compares False
        keep = np.ones(len(nrows), bool)
        if bad_rows.any():
            bad = np.unique(row_msg[bad_rows])
            keep[bad] = False
            for index in bad.tolist():
                reason = f"a price or quantity is not a number in [0, {MAX_VALUE:g}]"
                report.problem(int(table[index, 7]), reason)
        events = np.zeros(len(values), EVENT_DTYPE)
        events["ev"] = np.repeat(seg_ev.ravel(), seg_n.ravel()) | np.uint64(EXCH_EVENT | LOCAL_EVENT)
        events["px"] = values[:, 0]
        events["qty"] = values[:, 1]
        events["order_id"] = np.repeat(table[:, 6], nrows)
        messages = np.zeros(len(nrows), MESSAGE_DTYPE)
        for column, name in enumerate(("kind", "exch_ts", "local_ts", "first_id", "last_id", "prev_id")):
            messages[name] = table[:, column]
        messages["line"] = table[:, 7]
        if not keep.all():
            events = events[keep[row_msg]]
            messages, nrows = messages[keep], nrows[keep]
        report.messages = len(messages)
        return ParsedFile(fill_rows(events, messages, nrows), messages, report)


def _aggressor(maker_is_buyer: Any) -> int:
    if type(maker_is_buyer) is not bool:
        raise _Skip("trade field 'm' is not a boolean")
    return SELL_EVENT if maker_is_buyer else BUY_EVENT  # the buyer rested: a seller took it


def _segments(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each message's rows as up to four runs of one ``ev`` each: (ev, count) per run, shape (n, 4)."""
    kind, n_bid, n_ask, side = table[:, 0], table[:, 8], table[:, 9], table[:, 10]
    n = len(kind)
    ev = np.zeros((n, 4), np.uint64)
    count = np.zeros((n, 4), np.int64)
    diff, snap = kind == MSG_DEPTH, kind == MSG_SNAPSHOT
    trade, bbo = (kind == MSG_TRADE) | (kind == MSG_AGG_TRADE), kind == MSG_BBO
    ev[diff, 0], ev[diff, 1] = _BID_DEPTH, _ASK_DEPTH
    count[diff, 0], count[diff, 1] = n_bid[diff], n_ask[diff]
    ev[snap] = [
        DEPTH_CLEAR_EVENT | BUY_EVENT,
        DEPTH_SNAPSHOT_EVENT | BUY_EVENT,
        DEPTH_CLEAR_EVENT | SELL_EVENT,
        DEPTH_SNAPSHOT_EVENT | SELL_EVENT,
    ]
    count[snap, 0], count[snap, 1] = n_bid[snap] > 0, n_bid[snap]
    count[snap, 2], count[snap, 3] = n_ask[snap] > 0, n_ask[snap]
    ev[trade, 0] = TRADE_EVENT | side[trade].astype(np.uint64)
    count[trade, 0] = 1
    ev[bbo, 0], ev[bbo, 1] = DEPTH_BBO_EVENT | BUY_EVENT, DEPTH_BBO_EVENT | SELL_EVENT
    count[bbo, 0], count[bbo, 1] = 1, 1
    return ev, count


def fill_rows(events: EventArray, messages: MessageArray, nrows: np.ndarray) -> EventArray:
    """Set the per-message columns of the rows (times, ``ival``) and the messages' row ranges."""
    stops = np.cumsum(nrows)
    messages["start"], messages["stop"] = stops - nrows, stops
    events["exch_ts"] = np.repeat(messages["exch_ts"], nrows)
    events["local_ts"] = np.repeat(messages["local_ts"], nrows)
    events["ival"] = np.repeat(np.arange(len(messages)), nrows)
    return events


def parse_lines(lines: Iterable[bytes], report: FileReport) -> ParsedFile:
    """Parse a file's lines (numbered from 1); problems and counts go into ``report``."""
    parser = _Parser(report)
    lineno = 0
    # Every level list is kept until the arrays are built; the cyclic collector would walk all of
    # them again at each collection, for nothing: they hold no cycles.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for lineno, raw in enumerate(lines, 1):
            parser.feed(raw, lineno)
        report.lines = max(report.lines, lineno)
        return parser.finish()
    finally:
        if collecting:
            gc.enable()
