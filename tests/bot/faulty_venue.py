"""A venue that misbehaves on purpose, over a real ``SimExchange``: requests that take effect and then
time out, cancels that are lost, fills delivered twice, streams that drop while the exchange moves on,
status lookups that lie. The exchange behind it is the truth the tests check the bot against.

The exchange has no synthetic flow: a hand-built background book (``quiet_exchange``) whose touch is
wider than the bot's quotes, so the bot's orders are the best prices and fill only when a test sweeps
them (``sweep``)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from mm_bot.errors import TransientVenueError
from mm_bot.model import (
    AccountSnapshot,
    Connected,
    Disconnected,
    Instrument,
    OpenOrder,
    OrderAccepted,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OwnFill,
    Side,
    VenueCapabilities,
    VenueEvent,
)
from mm_bot.venues.sim import SimVenue
from sim import events as sev
from sim.exchange import SimExchange

BALANCES = {"BTC": 1.0, "USDT": 100_000.0}
BEST_BID, BEST_ASK = 5_999_000, 6_001_000  # background touch in ticks of 0.01: 59990.00 / 60010.00


_EPOCH_OFFSET_NS = time.time_ns() - time.monotonic_ns()


def clock_ns() -> int:
    """Wall-clock time that never goes backwards (the exchange refuses time going back)."""
    return _EPOCH_OFFSET_NS + time.monotonic_ns()


def quiet_exchange(start_ns: int, *, latency_ms: int = 1, maker_bps: float = -0.5) -> SimExchange:
    config = sev.ExchangeConfig(
        instrument=sev.Instrument("BTC", "USDT", 0.01, 0.00001),
        order_latency_ns=latency_ms * 1_000_000,
        md_latency_ns=1_000_000,
        snapshot_interval_ns=50_000_000,
        snapshot_levels=10,
        maker_fee_bps=maker_bps,
        taker_fee_bps=4.0,
    )
    exchange = SimExchange(config, None, seed=0, accounts={"me": dict(BALANCES)}, start_ns=start_ns)
    for i in range(5):
        for side, price in ((sev.Side.BUY, BEST_BID - 100 * i), (sev.Side.SELL, BEST_ASK + 100 * i)):
            order = sev.PlaceOrder(sev.BACKGROUND, f"bg{side.name}{i}", side, price, 500, sev.OrderType.LIMIT)
            exchange.apply_background(order, start_ns)
    return exchange


@dataclass
class Faults:
    place_timeouts: int = 0  # the next N places reach the exchange, then hang past the runner's timeout
    place_errors: int = 0  # the next N places reach the exchange, then raise TransientVenueError
    filled_places: int = 0  # the next N places that reach the exchange are filled at once by a sweep
    lost_cancels: int = 0  # the next N cancels never reach the exchange (and hang)
    duplicate_fills: bool = False  # every own fill is delivered twice
    lost_acks: int = 0  # the acks of the next N orders are lost on the stream
    lost_fills: int = 0  # the next N own fills are lost on the stream
    status_not_found: int = 0  # the next N status lookups answer "not found" whatever the truth
    hung_lookups: bool = False  # status lookups never answer
    slow_s: float = 0.0  # every request takes this long before it reaches the exchange
    dropped: list[VenueEvent] = field(default_factory=list)  # events lost while the stream was down


class FaultyVenue:
    def __init__(self, exchange: SimExchange, faults: Faults | None = None) -> None:
        self.inner = SimVenue(exchange, "BTC/USDT", clock_ns=clock_ns)
        self.exchange = exchange
        self.faults = faults or Faults()
        self.down = False
        self._injected: deque[VenueEvent] = deque()
        self.calls: list[str] = []  # every request, in order: "place:<cid>", "cancel:<cid>", ...
        self.in_flight = 0
        self.max_in_flight = 0

    @property
    def instrument(self) -> Instrument:
        return self.inner.instrument

    @property
    def capabilities(self) -> VenueCapabilities:
        return self.inner.capabilities

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    async def events(self) -> AsyncIterator[VenueEvent]:
        async for event in self.inner.events():
            while self._injected:
                yield self._injected.popleft()
            if self.down or self._lose(event):
                self.faults.dropped.append(event)
                continue
            yield event
            if self.faults.duplicate_fills and isinstance(event, OwnFill):
                yield event

    def _lose(self, event: VenueEvent) -> bool:
        f = self.faults
        if isinstance(event, OrderAccepted) and f.lost_acks > 0:
            f.lost_acks -= 1
            return True
        if isinstance(event, OwnFill) and f.lost_fills > 0:
            f.lost_fills -= 1
            return True
        return False

    # ---------------------------------------------------------------------------- test controls
    def disconnect(self) -> None:
        """The stream drops: events are lost until ``reconnect`` (the exchange goes on)."""
        self.down = True
        self._injected.append(Disconnected(clock_ns(), "test"))

    def reconnect(self) -> None:
        self.down = False
        self._injected.append(Connected(clock_ns()))

    def sweep(self, side: Side, price_ticks: int) -> None:
        """A background taker trades through every ``side`` order at ``price_ticks`` or better."""
        levels = self.exchange.depth(100)[0 if side is Side.BUY else 1]
        qty = sum(q for p, q in levels if (p >= price_ticks if side is Side.BUY else p <= price_ticks))
        if qty:
            taker = sev.Side.SELL if side is Side.BUY else sev.Side.BUY
            cid = f"sweep{clock_ns()}"
            self.exchange.apply_background(
                sev.PlaceOrder(sev.BACKGROUND, cid, taker, price_ticks, qty, sev.OrderType.IOC), clock_ns()
            )

    def our_open_orders(self) -> list[sev.OpenOrder]:
        return self.exchange.open_orders("me")

    def position_lots(self) -> int:
        """The truth: our base balance change on the exchange, in lots."""
        return round((self.exchange.account("me")["BTC"].total - BALANCES["BTC"]) / 0.00001)

    # ---------------------------------------------------------------------------- the port
    async def _enter(self, call: str) -> None:
        self.calls.append(call)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        if self.faults.slow_s:
            await asyncio.sleep(self.faults.slow_s)

    async def place(self, request: OrderRequest) -> None:
        await self._enter(f"place:{request.client_order_id}")
        try:
            await self.inner.place(request)
            f = self.faults
            if f.filled_places:
                f.filled_places -= 1
                await asyncio.sleep(0.005)  # the order reaches the engine (1 ms latency)
                self.sweep(request.side, request.price_ticks)
            if f.place_timeouts:
                f.place_timeouts -= 1
                await asyncio.sleep(3600)  # the reply never comes: the runner's timeout fires
            if f.place_errors:
                f.place_errors -= 1
                raise TransientVenueError("connection reset after the request was sent")
        finally:
            self.in_flight -= 1

    async def cancel(self, client_order_id: str) -> None:
        await self._enter(f"cancel:{client_order_id}")
        try:
            if self.faults.lost_cancels:
                self.faults.lost_cancels -= 1
                await asyncio.sleep(3600)  # lost on the way: never reaches the exchange
            await self.inner.cancel(client_order_id)
        finally:
            self.in_flight -= 1

    async def cancel_all(self) -> None:
        await self._enter("cancel_all")
        try:
            await self.inner.cancel_all()
        finally:
            self.in_flight -= 1

    async def open_orders(self) -> list[OpenOrder]:
        await self._enter("open_orders")
        try:
            return await self.inner.open_orders()
        finally:
            self.in_flight -= 1

    async def order_status(self, client_order_id: str) -> OrderReport:
        await self._enter(f"order_status:{client_order_id}")
        try:
            if self.faults.hung_lookups:
                await asyncio.sleep(3600)
            if self.faults.status_not_found:
                self.faults.status_not_found -= 1
                return OrderReport(client_order_id, OrderStatus.NOT_FOUND)
            return await self.inner.order_status(client_order_id)
        finally:
            self.in_flight -= 1

    async def fills_since(self, since_ns: int) -> list[OwnFill]:
        await self._enter("fills_since")
        try:
            return await self.inner.fills_since(since_ns)
        finally:
            self.in_flight -= 1

    async def account(self) -> AccountSnapshot:
        await self._enter("account")
        try:
            return await self.inner.account()
        finally:
            self.in_flight -= 1
