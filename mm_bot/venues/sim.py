"""``SimVenue``: the Venue port over the in-process ``SimExchange`` (paper trading and backtests).

The exchange is sans-IO; this adapter gives it a clock. In paper mode the clock is the wall clock
and ``events()`` advances the exchange in real time, sleeping until the exchange's next event is
due (at most ``max_sleep_s``, so commands sent meanwhile are picked up promptly). With a virtual
clock (``realtime=False``) it jumps straight to the next event and never sleeps: a backtest.

Translation is the only other job: sim events and commands <-> ``mm_bot.model`` types. Only our
own account's private events are passed on.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from decimal import Decimal

from mm_bot.errors import TransientVenueError
from mm_bot.model import (
    AccountSnapshot,
    BookSnapshot,
    CancelRejected,
    Heartbeat,
    Instrument,
    Liquidity,
    OpenOrder,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderRequest,
    OrderType,
    OwnFill,
    PublicTrade,
    Side,
    VenueCapabilities,
    VenueEvent,
)
from sim import events as sev
from sim.exchange import SimExchange

_ORDER_TYPES = {
    OrderType.LIMIT: sev.OrderType.LIMIT,
    OrderType.POST_ONLY: sev.OrderType.POST_ONLY,
    OrderType.IOC: sev.OrderType.IOC,
    OrderType.MARKET: sev.OrderType.MARKET,
}


def instrument_for(exchange: SimExchange, symbol: str) -> Instrument:
    """The bot's view of the exchange's instrument (exact decimal tick and lot)."""
    inst = exchange.config.instrument
    return Instrument(
        symbol, inst.base, inst.quote, Decimal(repr(inst.tick_size)), Decimal(repr(inst.lot_size))
    )


class SimVenue:
    def __init__(
        self,
        exchange: SimExchange,
        symbol: str,
        *,
        account: str = "me",
        clock_ns: Callable[[], int] = time.time_ns,
        realtime: bool = True,
        max_sleep_s: float = 0.005,
        end_ns: int | None = None,
    ) -> None:
        self._ex = exchange
        self._account = account
        self._clock = clock_ns
        self._realtime = realtime
        self._max_sleep_s = max_sleep_s
        self._end_ns = end_ns
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

    def now_ns(self) -> int:
        """The venue's clock: the wall clock in paper mode, the exchange's virtual time otherwise."""
        return self._clock() if self._realtime else self._ex.now_ns

    async def events(self) -> AsyncIterator[VenueEvent]:
        queue = self._queue
        while not self._closed:
            if queue:
                yield queue.popleft()
                continue
            if self._realtime:
                self._enqueue(self._ex.advance(self._clock()))
                if not queue:
                    nxt = self._ex.next_event_time_ns()
                    wait = self._max_sleep_s if nxt is None else (nxt - self._clock()) / 1e9
                    await asyncio.sleep(min(max(wait, 0.0), self._max_sleep_s))
            else:
                nxt = self._ex.next_event_time_ns()
                if nxt is None or (self._end_ns is not None and nxt > self._end_ns):
                    return
                self._enqueue(self._ex.advance(max(nxt, self._ex.now_ns)))
                if not queue:
                    yield Heartbeat(self._ex.now_ns)  # lets the runner see virtual time move

    async def place(self, request: OrderRequest) -> None:
        self._submit(
            sev.PlaceOrder(
                self._account,
                request.client_order_id,
                sev.Side(int(request.side)),
                request.price_ticks,
                request.qty_lots,
                _ORDER_TYPES[request.order_type],
            )
        )

    async def cancel(self, client_order_id: str) -> None:
        self._submit(sev.CancelOrder(self._account, client_order_id))

    async def cancel_all(self) -> None:
        self._submit(sev.CancelAll(self._account))

    async def open_orders(self) -> list[OpenOrder]:
        return [
            OpenOrder(o.client_order_id, Side(int(o.side)), o.price_ticks, o.qty_lots, o.remaining_lots)
            for o in self._ex.open_orders(self._account)
        ]

    async def account(self) -> AccountSnapshot:
        return AccountSnapshot({asset: bal.total for asset, bal in self._ex.account(self._account).items()})

    def queue_ahead_lots(self, client_order_id: str) -> int:
        return self._ex.queue_ahead(self._account, client_order_id)

    def _submit(self, command: sev.PlaceOrder | sev.CancelOrder | sev.CancelAll) -> None:
        if self._closed:
            raise TransientVenueError("sim venue is closed")
        now = self._clock() if self._realtime else self._ex.now_ns
        self._enqueue(self._ex.submit(command, now))

    def _enqueue(self, events: list[sev.Event]) -> None:
        out = self._queue
        me = self._account
        for e in events:
            converted = to_model_event(e, me)
            if converted is not None:
                out.append(converted)


def to_model_event(e: sev.Event, account: str) -> VenueEvent | None:
    """A sim event as the bot sees it; None for events of other accounts."""
    if isinstance(e, sev.BookSnapshot):
        return BookSnapshot(e.ts_ns, e.exchange_ts_ns, e.seq, e.bids, e.asks)
    if isinstance(e, sev.PublicTrade):
        return PublicTrade(e.ts_ns, e.exchange_ts_ns, e.price_ticks, e.qty_lots, Side(int(e.aggressor_side)))
    if getattr(e, "account", None) != account:
        return None
    if isinstance(e, sev.OwnFill):
        liquidity = Liquidity.MAKER if e.liquidity == "maker" else Liquidity.TAKER
        return OwnFill(
            e.ts_ns,
            e.client_order_id,
            Side(int(e.side)),
            e.price_ticks,
            e.qty_lots,
            liquidity,
            e.fee_quote,
            str(e.trade_id),
        )
    if isinstance(e, sev.OrderAccepted):
        return OrderAccepted(e.ts_ns, e.client_order_id)
    if isinstance(e, sev.OrderRejected):
        return OrderRejected(e.ts_ns, e.client_order_id, str(e.reason))
    if isinstance(e, sev.OrderCancelled):
        return OrderCancelled(e.ts_ns, e.client_order_id, str(e.reason))
    return CancelRejected(e.ts_ns, e.client_order_id, str(e.reason))
