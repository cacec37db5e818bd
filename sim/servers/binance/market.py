"""One symbol's market: its ``SimExchange`` and its order book as published on the depth streams.

The published book is the last ``BookSnapshot`` (the top ``snapshot_levels`` of each side, every
100 ms); each snapshot that changes it becomes one ``depthUpdate`` whose update ids continue the last
one's (``U = previous u + 1``, one id per changed level), and GET /api/v3/depth serves that same book
with ``lastUpdateId`` = the last id published, so a snapshot and the diffs always agree. A level
leaving the top ``snapshot_levels`` is published as quantity 0. ``<symbol>@depth`` (1000 ms) merges
the 100 ms updates of each second into one.

Faults: ``skip_ids`` makes the next update start ``n`` ids late (a gap); ``spike`` publishes one
update with a level 50% through the book (a bid at 1.5 x the best ask, or an ask at 0.5 x the best
bid, alternately); the next snapshot's update removes it.

Trade ids: the simulator's, interleaved across symbols (``sim_id * n_symbols + index``) so they are
unique over the whole venue and increasing within a symbol.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

from sim.events import BookSnapshot, Side
from sim.exchange import SimExchange
from sim.servers.binance import wire
from sim.servers.binance.wire import Json, Level
from sim.servers.symbols import SymbolSpec

__all__ = ["SymbolMarket"]

FIRST_UPDATE_ID: Final = 1_000
SLOW_MS: Final = 1_000


class SymbolMarket:
    def __init__(self, spec: SymbolSpec, exchange: SimExchange, index: int, n_symbols: int) -> None:
        self.spec = spec
        self.exchange = exchange
        self.fast_stream = f"{spec.stream}@depth@100ms"
        self.slow_stream = f"{spec.stream}@depth"
        self.trade_stream = f"{spec.stream}@trade"
        self._index, self._n = index, n_symbols
        self._bids: dict[int, int] = {}
        self._asks: dict[int, int] = {}
        self.update_id = FIRST_UPDATE_ID
        self._skip = 0
        self._spikes = 0
        # the 1000 ms stream's open window: first id, start time, merged changes
        self._slow_first = 0
        self._slow_start_ms = 0
        self._slow_bids: dict[int, int] = {}
        self._slow_asks: dict[int, int] = {}

    def trade_id(self, sim_trade_id: int) -> int:
        return sim_trade_id * self._n + self._index

    def depth(self, limit: int) -> Json:
        return wire.depth(self.spec, self.update_id, self.top(Side.BUY, limit), self.top(Side.SELL, limit))

    def top(self, side: Side, limit: int) -> list[Level]:
        book = self._bids if side is Side.BUY else self._asks
        return sorted(book.items(), reverse=side is Side.BUY)[:limit]

    def on_snapshot(self, snap: BookSnapshot, event_ms: int) -> list[tuple[str, Json]]:
        """The stream messages (stream name, payload) that this snapshot publishes."""
        bids, asks = dict(snap.bids), dict(snap.asks)
        changed_bids = _changes(self._bids, bids, reverse=True)
        changed_asks = _changes(self._asks, asks, reverse=False)
        self._bids, self._asks = bids, asks
        out = self._flush_slow(event_ms)
        if changed_bids or changed_asks:
            out.append((self.fast_stream, self._update(event_ms, changed_bids, changed_asks)))
        return out

    def skip_ids(self, n: int) -> None:
        self._skip += n

    def spike(self, event_ms: int) -> list[tuple[str, Json]]:
        """Publish one implausible level (see the module docstring)."""
        best_bid, best_ask = self.top(Side.BUY, 1), self.top(Side.SELL, 1)
        mid = self.exchange.mid_ticks() or 1.0
        self._spikes += 1
        if self._spikes % 2:
            price = math.ceil((best_ask[0][0] if best_ask else mid) * 1.5)
            qty = best_bid[0][1] if best_bid else 1
            self._bids[price] = qty
            return [(self.fast_stream, self._update(event_ms, [(price, qty)], []))]
        price = max(1, math.floor((best_bid[0][0] if best_bid else mid) * 0.5))
        qty = best_ask[0][1] if best_ask else 1
        self._asks[price] = qty
        return [(self.fast_stream, self._update(event_ms, [], [(price, qty)]))]

    def _update(self, event_ms: int, bids: list[Level], asks: list[Level]) -> Json:
        first = self.update_id + 1 + self._skip
        self._skip = 0
        self.update_id = first + len(bids) + len(asks) - 1
        if not self._slow_first:
            self._slow_first, self._slow_start_ms = first, event_ms
        self._slow_bids.update(bids)
        self._slow_asks.update(asks)
        return wire.depth_update(self.spec, event_ms, first, self.update_id, bids, asks)

    def _flush_slow(self, event_ms: int) -> list[tuple[str, Json]]:
        if not self._slow_first or event_ms < self._slow_start_ms + SLOW_MS:
            return []
        bids = sorted(self._slow_bids.items(), reverse=True)
        asks = sorted(self._slow_asks.items())
        message = wire.depth_update(self.spec, event_ms, self._slow_first, self.update_id, bids, asks)
        self._slow_first = 0
        self._slow_bids, self._slow_asks = {}, {}
        return [(self.slow_stream, message)]


def _changes(old: Mapping[int, int], new: Mapping[int, int], *, reverse: bool) -> list[Level]:
    """The levels that differ from ``old`` to ``new``; a level gone is quantity 0."""
    changed = {p: 0 for p in old if p not in new}
    changed.update((p, q) for p, q in new.items() if old.get(p) != q)
    return sorted(changed.items(), reverse=reverse)
