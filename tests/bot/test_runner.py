"""The runner with a small hand-written venue: malformed market data is dropped, counted in the
core and exported as mm_malformed_events_total (scraped from the registry); good data right after is
traded on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

from prometheus_client import CollectorRegistry

from mm_bot.config import load_config
from mm_bot.engine.ids import ClientOrderIds
from mm_bot.engine.market import MarketCore
from mm_bot.live.runner import MarketRunner, RunnerSettings
from mm_bot.metrics import Metrics
from mm_bot.model import (
    AccountSnapshot,
    BookSnapshot,
    Instrument,
    OpenOrder,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OwnFill,
    Side,
    VenueCapabilities,
    VenueEvent,
)
from mm_bot.wiring import market_params

ROOT = Path(__file__).resolve().parents[2]
NOW = 1_700_000_000 * 1_000_000_000


class ScriptedVenue:
    """Plays a fixed list of events, records what the runner sends."""

    def __init__(self, events: list[VenueEvent]) -> None:
        self._events = events
        self.placed: list[OrderRequest] = []
        self.cancelled: list[str] = []
        self.instrument = Instrument("BTC/USDT", "BTC", "USDT", Decimal("0.01"), Decimal("0.00001"))
        self.capabilities = VenueCapabilities()

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def events(self) -> AsyncIterator[VenueEvent]:
        for event in self._events:
            yield event
        await asyncio.Event().wait()  # a live feed never ends on its own

    async def place(self, request: OrderRequest) -> None:
        self.placed.append(request)

    async def cancel(self, client_order_id: str) -> None:
        self.cancelled.append(client_order_id)

    async def cancel_all(self) -> None: ...

    async def open_orders(self) -> list[OpenOrder]:
        return []

    async def order_status(self, client_order_id: str) -> OrderReport:
        return OrderReport(client_order_id, OrderStatus.NOT_FOUND)

    async def fills_since(self, since_ns: int) -> list[OwnFill]:
        return []

    async def account(self) -> AccountSnapshot:
        return AccountSnapshot({})


async def test_malformed_book_is_exported_and_good_book_traded() -> None:
    """A crossed book then a good one: one malformed count (core and metric), quotes from the good one."""
    crossed = BookSnapshot(NOW, NOW, 1, ((6_000_020, 5),), ((6_000_010, 5),))
    good = BookSnapshot(NOW, NOW, 2, ((5_999_990, 5),), ((6_000_010, 5),))
    venue = ScriptedVenue([crossed, good])
    registry = CollectorRegistry()
    metrics = Metrics(registry).market("BTC/USDT")
    core = MarketCore(
        market_params(load_config(ROOT / "config.yaml", environ={}).markets[0]), ClientOrderIds("mmr"), NOW
    )
    settings = RunnerSettings(refresh_interval_s=0.05, shutdown_timeout_s=0.2)
    runner = MarketRunner(core, venue, clock_ns=lambda: NOW, metrics=metrics, settings=settings)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    for _ in range(100):
        await asyncio.sleep(0.01)
        if len(venue.placed) == 2:
            break
    stop.set()
    await task
    assert core.book.dropped["book_crossed"] == 1
    value = registry.get_sample_value(
        "mm_malformed_events_total", {"market": "BTC/USDT", "kind": "book_crossed"}
    )
    assert value == 1.0
    assert {r.side for r in venue.placed} == {Side.BUY, Side.SELL}
    assert len(venue.placed) == 2
