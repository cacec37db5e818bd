"""``MirroredVenue``: paper trading on a real venue's market data (``paper.market_data: exchange``).

The public book and trades come from the venue (a market-data-only ``CcxtVenue``: no keys, no
orders); our orders live in a ``SimExchange`` without a synthetic market whose background book a
``sim.mirror.BookMirror`` keeps equal to the venue's, so a resting order of ours fills only after
the quantity ahead of it has traded, or when the price trades through it (the mirror's queue
model). The core sees the venue's market data and connection events, and our own order events from
the simulator (``SimVenue``), which also models our orders' latency and fees.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

from mm_bot.model import (
    AccountSnapshot,
    BookSnapshot,
    Instrument,
    OpenOrder,
    OrderReport,
    OrderRequest,
    OwnFill,
    PublicTrade,
    Side,
    VenueCapabilities,
    VenueEvent,
)
from mm_bot.venues.ccxt import CcxtVenue
from mm_bot.venues.sim import SimVenue
from sim import events as sev
from sim.exchange import SimExchange
from sim.mirror import BookMirror


class MirroredVenue:
    def __init__(
        self, market_data: CcxtVenue, sim: SimVenue, *, clock_ns: Callable[[], int] = time.time_ns
    ) -> None:
        if market_data.instrument != sim.instrument:
            raise ValueError(f"{market_data.instrument} is not the simulator's {sim.instrument}")
        self._data = market_data
        self._sim = sim
        self._mirror = BookMirror(sim.exchange)
        self._clock = clock_ns
        self._queue: asyncio.Queue[VenueEvent | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def instrument(self) -> Instrument:
        return self._sim.instrument

    @property
    def capabilities(self) -> VenueCapabilities:
        return self._sim.capabilities

    @property
    def exchange(self) -> SimExchange:
        return self._sim.exchange

    async def start(self) -> None:
        await self._data.start()
        await self._sim.start()
        self._tasks = [
            asyncio.create_task(self._market_data(), name="mirror:market-data"),
            asyncio.create_task(self._own_events(), name="mirror:own-events"),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._sim.close()
        await self._data.close()
        self._queue.put_nowait(None)

    async def events(self) -> AsyncIterator[VenueEvent]:
        while (event := await self._queue.get()) is not None:
            yield event

    async def _market_data(self) -> None:
        """The venue's events to the core; its books and trades also to the mirror."""
        async for event in self._data.events():
            now = self._clock()
            if isinstance(event, BookSnapshot):
                self._sim.deliver(self._mirror.on_book(event.bids, event.asks, now))
            elif isinstance(event, PublicTrade):
                side = sev.Side.BUY if event.aggressor is Side.BUY else sev.Side.SELL
                self._sim.deliver(self._mirror.on_trade(event.price_ticks, event.qty_lots, side, now))
            self._queue.put_nowait(event)
        self._queue.put_nowait(None)  # the venue's stream ended: so does ours

    async def _own_events(self) -> None:
        """Our orders' events from the simulator (its books and trades are the mirror's echo: dropped)."""
        async for event in self._sim.events():
            if not isinstance(event, BookSnapshot | PublicTrade):
                self._queue.put_nowait(event)

    async def place(self, request: OrderRequest) -> None:
        await self._sim.place(request)

    async def cancel(self, client_order_id: str) -> None:
        await self._sim.cancel(client_order_id)

    async def cancel_all(self) -> None:
        await self._sim.cancel_all()

    async def open_orders(self) -> list[OpenOrder]:
        return await self._sim.open_orders()

    async def order_status(self, client_order_id: str) -> OrderReport:
        return await self._sim.order_status(client_order_id)

    async def fills_since(self, since_ns: int) -> list[OwnFill]:
        return await self._sim.fills_since(since_ns)

    async def account(self) -> AccountSnapshot:
        return await self._sim.account()
