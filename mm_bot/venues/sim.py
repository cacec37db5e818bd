"""``SimVenue``: the Venue port over the in-process ``SimExchange`` (paper trading and backtests).

The exchange is sans-IO; this adapter gives it the wall clock: ``events()`` advances the exchange in
real time, sleeping until its next event is due or a command we sent wakes it. Requests are answered
at once (the exchange models their latency itself). Virtual-time runs drive the exchange without
this adapter (``mm_bot.backtest.driver``). Translation between the two vocabularies is ``sim_translate``'s;
only our own account's private events are passed on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable

from mm_bot.errors import TransientVenueError
from mm_bot.model import (
    AccountSnapshot,
    Instrument,
    OpenOrder,
    OrderReport,
    OrderRequest,
    OwnFill,
    VenueCapabilities,
    VenueEvent,
)
from mm_bot.venues import sim_translate as translate
from mm_bot.venues.sim_translate import instrument_for, to_model_event, to_sim_order
from sim import events as sev
from sim.exchange import SimExchange

__all__ = ["SimVenue", "instrument_for", "to_model_event"]


class SimVenue:
    def __init__(
        self,
        exchange: SimExchange,
        symbol: str,
        *,
        account: str = "me",
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._ex = exchange
        self._account = account
        self._clock = clock_ns
        self._wake = asyncio.Event()  # a command was submitted: the exchange's next event may be sooner
        self._queue: deque[VenueEvent] = deque()
        self._closed = False
        self._instrument = instrument_for(exchange, symbol)
        self._capabilities = VenueCapabilities(post_only=True, batch_cancel=False, cancel_all=True)

    @property
    def instrument(self) -> Instrument:
        return self._instrument

    @property
    def capabilities(self) -> VenueCapabilities:
        return self._capabilities

    @property
    def exchange(self) -> SimExchange:
        return self._ex

    async def start(self) -> None:
        self._closed = False

    async def close(self) -> None:
        self._closed = True
        self._wake.set()

    async def events(self) -> AsyncIterator[VenueEvent]:
        queue = self._queue
        while not self._closed:
            if queue:
                yield queue.popleft()
                continue
            self._enqueue(self._ex.advance(self._clock()))
            if not queue:
                nxt = self._ex.next_event_time_ns()
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(None if nxt is None else max(nxt - self._clock(), 0) / 1e9):
                        await self._wake.wait()

    async def place(self, request: OrderRequest) -> None:
        self._submit(to_sim_order(request, self._account))

    async def cancel(self, client_order_id: str) -> None:
        self._submit(sev.CancelOrder(self._account, client_order_id))

    async def cancel_all(self) -> None:
        self._submit(sev.CancelAll(self._account))

    async def open_orders(self) -> list[OpenOrder]:
        return translate.open_orders(self._ex, self._account)

    async def order_status(self, client_order_id: str) -> OrderReport:
        return translate.order_report(self._ex, self._account, client_order_id)

    async def fills_since(self, since_ns: int) -> list[OwnFill]:
        return translate.fills_since(self._ex, self._account, since_ns)

    async def account(self) -> AccountSnapshot:
        return AccountSnapshot(translate.balances(self._ex, self._account))

    def queue_ahead_lots(self, client_order_id: str) -> int:
        return self._ex.queue_ahead(self._account, client_order_id)

    def deliver(self, events: list[sev.Event]) -> None:
        """Pass on what the exchange returned to someone else's call on it (a driver of its background
        book); the exchange's next event may now be sooner."""
        self._enqueue(events)
        self._wake.set()

    def _submit(self, command: sev.PlaceOrder | sev.CancelOrder | sev.CancelAll) -> None:
        if self._closed:
            raise TransientVenueError("sim venue is closed")
        self._enqueue(self._ex.submit(command, self._clock()))
        self._wake.set()

    def _enqueue(self, events: list[sev.Event]) -> None:
        out = self._queue
        me = self._account
        for e in events:
            converted = to_model_event(e, me)
            if converted is not None:
                out.append(converted)
