"""A ``ReplayVenue`` over a hand-built book, with one account, and helpers to act and look."""

from __future__ import annotations

from typing import Any

from sim.book import Side
from sim.events import CancelOrder, OrderType, OwnFill, PlaceOrder
from sim.replay import Conservative, Event, QueueModel, ReplayConfig, ReplayVenue, Tape
from sim.replay.venue import Latency
from tests.sim.replay.builder import INSTRUMENT, MS, T0, Book

ME = "me"
BUY, SELL = Side.BUY, Side.SELL


class Venue:
    def __init__(
        self,
        book: Book,
        queue: QueueModel | None = None,
        *,
        entry: Latency = 1 * MS,
        response: Latency = 1 * MS,
        feed: Latency = "recorded",
        balances: dict[str, float] | None = None,
        chunk_rows: int = 1 << 18,
        **config: Any,
    ) -> None:
        self.tape = Tape(book.recording(), feed=feed, chunk_rows=chunk_rows)
        cfg = ReplayConfig(INSTRUMENT, entry_latency=entry, response_latency=response, **config)
        funds = balances if balances is not None else {"USDT": 1e9, "BTC": 1e6}
        self.venue = ReplayVenue(self.tape, cfg, queue or Conservative(), accounts={ME: funds})
        self.events: list[Event] = []
        self._ids = 0

    def at(self, t_ms: float) -> list[Event]:
        """Advance to ``t_ms`` after T0; the events delivered on the way."""
        got = self.venue.advance(T0 + round(t_ms * MS))
        self.events += got
        return got

    def place(
        self,
        t_ms: float,
        side: Side,
        price: int,
        qty: int,
        kind: OrderType = OrderType.POST_ONLY,
        cid: str = "",
    ) -> str:
        if not cid:
            self._ids += 1
            cid = f"o{self._ids}"
        self.events += self.venue.submit(PlaceOrder(ME, cid, side, price, qty, kind), T0 + round(t_ms * MS))
        return cid

    def cancel(self, t_ms: float, cid: str) -> None:
        self.events += self.venue.submit(CancelOrder(ME, cid), T0 + round(t_ms * MS))

    def finish(self) -> list[Event]:
        while not self.venue.done:
            self.events += self.venue.next_events(1 << 62)
        return self.events

    def fills(self) -> list[OwnFill]:
        return [e for e in self.events if isinstance(e, OwnFill)]

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def ms(ts_ns: int) -> float:
    """Milliseconds after T0."""
    return (ts_ns - T0) / MS
