"""``BookMirror``: an external market's L2 book and trades as ``SimExchange``'s background liquidity,
so that our simulated orders queue behind what was really there and fill as the real market trades
(paper trading on a live venue's data; replays of recorded books). Sans-IO: times are passed in.

Each external price level is held as background orders at that price; a snapshot brings every level
to the external quantity (levels it does not list are emptied):

- more quantity: a new background order at the back of the level, behind ours (it came later);
- less quantity: taken off the newest background orders first, each keeping its queue place, so a
  cancellation is assumed to come from behind our order until the level holds less than what was
  ahead of us (the risk-averse queue model of hftbacktest: only trades move us forward for sure);
- an ask at or below our bid (a bid at or above our ask): the background order trades with ours, at
  our price: the market moved through our order.

A public trade is a background taker of its size at its price: it takes the level in time priority,
ours included once what was ahead of it is gone, and trades through every better-priced order of
ours. The trade's own decrease usually arrives with the next snapshot, which then finds the level
already at its quantity. The assumption: a trade is seen before the snapshot that reflects it
(Binance's trade stream is real time, its depth stream batched every 100 ms); a snapshot that shows
a trade first has its decrease taken from behind us, and the trade then takes the front again.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import count

from sim.book import Side
from sim.events import BACKGROUND, Event, OrderType, PlaceOrder
from sim.exchange import SimExchange

Level = tuple[int, int]  # (price_ticks, qty_lots)


class BookMirror:
    def __init__(self, exchange: SimExchange, prefix: str = "mirror") -> None:
        self._ex = exchange
        self._prefix = prefix
        self._ids = count(1)

    def on_book(self, bids: Iterable[Level], asks: Iterable[Level], now_ns: int) -> list[Event]:
        """Bring the background book to these levels; the events it caused (our fills among them)."""
        wanted = {Side.BUY: dict(bids), Side.SELL: dict(asks)}
        events: list[Event] = []
        for side in (Side.BUY, Side.SELL):  # decreases first: an uncrossed book stays uncrossed
            events += self._shrink(side, wanted[side], now_ns)
        for side in (Side.BUY, Side.SELL):
            held = self._held(side)
            for price, qty in wanted[side].items():
                if qty > held.get(price, 0):
                    events += self._place(side, price, qty - held.get(price, 0), OrderType.LIMIT, now_ns)
        return events

    def on_trade(self, price_ticks: int, qty_lots: int, aggressor: Side, now_ns: int) -> list[Event]:
        """A public trade: a background taker of ``qty_lots`` up to ``price_ticks``."""
        return self._place(aggressor, price_ticks, qty_lots, OrderType.IOC, now_ns)

    def _shrink(self, side: Side, wanted: dict[int, int], now_ns: int) -> list[Event]:
        events: list[Event] = []
        by_price: dict[int, list[tuple[str, int]]] = {}
        for cid, price, qty in self._ex.background_orders(side):
            by_price.setdefault(price, []).append((cid, qty))
        for price, orders in by_price.items():
            excess = sum(q for _, q in orders) - wanted.get(price, 0)
            for cid, qty in reversed(orders):  # newest first: from behind our orders
                if excess <= 0:
                    break
                take = min(qty, excess)
                events += self._ex.reduce_background(cid, take, now_ns)
                excess -= take
        return events

    def _held(self, side: Side) -> dict[int, int]:
        held: dict[int, int] = {}
        for _, price, qty in self._ex.background_orders(side):
            held[price] = held.get(price, 0) + qty
        return held

    def _place(self, side: Side, price: int, qty: int, kind: OrderType, now_ns: int) -> list[Event]:
        if qty <= 0 or price <= 0:
            return []
        cid = f"{self._prefix}{next(self._ids)}"
        return self._ex.apply_background(PlaceOrder(BACKGROUND, cid, side, price, qty, kind), now_ns)
