"""Recordings built by hand, row by row, in ``sim.data``'s normalized layout: prices in ticks of
0.01, quantities in whole lots (lot 1), each message received ``feed_ns`` after the venue stamped it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sim.data import (
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
    ImportReport,
    Meta,
    Recording,
)
from sim.events import Instrument

TICK = 0.01
INSTRUMENT = Instrument("BTC", "USDT", TICK, 1.0)
MS = 1_000_000
T0 = 1_700_000_000_000_000_000
Levels = Sequence[tuple[int, int]]  # (price ticks, lots)


class Book:
    """Messages appended in order; ``t_ms`` is the venue's time after ``T0``."""

    def __init__(self, feed_ns: int = 0) -> None:
        self.feed_ns = feed_ns
        self.rows: list[tuple[int, int, int, float, float, int]] = []  # ev, exch, local, px, qty, id
        self.messages: list[tuple[int, int, int, int, int]] = []  # kind, start, stop, exch, local
        self._trade_id = 0

    def _message(
        self, kind: int, t_ms: float, rows: list[tuple[int, float, float, int]], feed_ns: int | None
    ) -> None:
        exch = T0 + round(t_ms * MS)
        local = exch + (self.feed_ns if feed_ns is None else feed_ns)
        start = len(self.rows)
        self.rows += [(ev, exch, local, px, qty, ident) for ev, px, qty, ident in rows]
        self.messages.append((kind, start, len(self.rows), exch, local))

    def snapshot(self, t_ms: float, bids: Levels, asks: Levels, feed_ns: int | None = None) -> Book:
        far_bid = min((p for p, _ in bids), default=1)
        far_ask = max((p for p, _ in asks), default=1)
        rows = [
            (DEPTH_CLEAR_EVENT | BUY_EVENT, far_bid * TICK, 0.0, 0),
            (DEPTH_CLEAR_EVENT | SELL_EVENT, far_ask * TICK, 0.0, 0),
        ]
        rows += [(DEPTH_SNAPSHOT_EVENT | BUY_EVENT, p * TICK, float(q), 0) for p, q in bids]
        rows += [(DEPTH_SNAPSHOT_EVENT | SELL_EVENT, p * TICK, float(q), 0) for p, q in asks]
        self._message(MSG_SNAPSHOT, t_ms, rows, feed_ns)
        return self

    def diff(self, t_ms: float, bids: Levels = (), asks: Levels = (), feed_ns: int | None = None) -> Book:
        rows = [(DEPTH_EVENT | BUY_EVENT, p * TICK, float(q), 0) for p, q in bids]
        rows += [(DEPTH_EVENT | SELL_EVENT, p * TICK, float(q), 0) for p, q in asks]
        self._message(MSG_DEPTH, t_ms, rows, feed_ns)
        return self

    def trade(self, t_ms: float, price: int, qty: int, *, buy: bool, feed_ns: int | None = None) -> Book:
        """A trade; ``buy``: the aggressor bought (it took asks)."""
        self._trade_id += 1
        side = BUY_EVENT if buy else SELL_EVENT
        self._message(
            MSG_TRADE, t_ms, [(TRADE_EVENT | side, price * TICK, float(qty), self._trade_id)], feed_ns
        )
        return self

    def gap(self, t_ms: float) -> Book:
        self._message(MSG_GAP, t_ms, [(BOOK_GAP_EVENT, 0.0, 0.0, 0)], None)
        return self

    def recording(self) -> Recording:
        events = np.zeros(len(self.rows), EVENT_DTYPE)
        for i, (ev, exch, local, px, qty, ident) in enumerate(self.rows):
            events[i] = (ev | EXCH_EVENT | LOCAL_EVENT, exch, local, px, qty, ident, 0, 0.0)
        messages = np.zeros(len(self.messages), MESSAGE_DTYPE)
        for i, (kind, start, stop, exch, local) in enumerate(self.messages):
            events["ival"][start:stop] = i
            messages[i]["kind"], messages[i]["start"], messages[i]["stop"] = kind, start, stop
            messages[i]["exch_ts"], messages[i]["local_ts"] = exch, local
            messages[i]["first_id"] = messages[i]["last_id"] = messages[i]["prev_id"] = -1
        meta = Meta("BTCUSDT", "spot", "0.01", "1", ("hand-built",))
        return Recording(events, messages, meta, ImportReport())
