"""``CcxtVenue`` at start against the Binance emulator through the real ccxt client: a market that
does not match the configured grid and refused credentials are refused at once with what to change;
a busy or rate-limiting venue is tried again; a depth gap makes the book untrusted until resynced."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from mm_bot.model import BookSnapshot, Connected, Disconnected, Instrument, VenueEvent
from mm_bot.venues.ccxt import CcxtVenue
from mm_bot.venues.ccxt_client import make_exchange
from mm_bot.venues.ccxt_errors import CredentialsRefused, VenueMismatch
from sim.servers.binance import Emulator, EmulatorOptions

INST = Instrument("BTC/USDT", "BTC", "USDT", Decimal("0.01"), Decimal("0.00001"))


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(EmulatorOptions(seed=2, ban_s=1.0)) as e:
        yield e


def venue_on(emu: Emulator, instrument: Instrument = INST, secret: str | None = None) -> CcxtVenue:
    client = make_exchange(
        "binance", api_key=emu.api_key, api_secret=secret or emu.api_secret, endpoint=emu.base_url
    )
    return CcxtVenue(client, instrument, tag="mm", retry_delay_s=0.05, start_timeout_s=5.0)


async def test_a_grid_that_does_not_match_the_venue_is_refused(emu: Emulator) -> None:
    venue = venue_on(emu, Instrument("BTC/USDT", "BTC", "USDT", Decimal("0.1"), Decimal("0.00001")))
    with pytest.raises(VenueMismatch, match="tick_size"):
        await venue.start()
    await venue.close()


async def test_refused_credentials_are_not_retried(emu: Emulator) -> None:
    venue = venue_on(emu, secret="not-the-secret")
    t0 = time.monotonic()
    with pytest.raises(CredentialsRefused):
        await venue.start()
    assert time.monotonic() - t0 < 2.0
    await venue.close()


async def test_start_waits_out_a_busy_and_rate_limiting_venue(emu: Emulator) -> None:
    emu.faults.trigger("http_503", count=2)
    emu.faults.trigger("http_429", count=1)
    venue = venue_on(emu)
    await venue.start()
    assert (await venue.account()).balances == {"BTC": 1.0, "USDT": 100_000.0}
    assert emu.faults.injected["http_503"] == 2 and emu.faults.injected["http_429"] == 1
    await venue.close()


async def test_a_depth_gap_disconnects_until_a_fresh_book(emu: Emulator) -> None:
    """A skipped update id: ``Disconnected`` at once (the book is not to be quoted on), then
    ``Connected`` and a book once ccxt has resynced from a new snapshot."""
    venue = venue_on(emu)
    await venue.start()
    events: list[VenueEvent] = []

    async def pump() -> None:
        async for e in venue.events():
            events.append(e)

    task = asyncio.create_task(pump())
    try:
        await _until(lambda: any(isinstance(e, BookSnapshot) for e in events))
        emu.faults.trigger("depth_gap")
        await _until(lambda: any(isinstance(e, Disconnected) for e in events))
        await _until(lambda: any(isinstance(e, Connected) for e in events))
        back = next(i for i, e in enumerate(events) if isinstance(e, Connected))
        await _until(lambda: any(isinstance(e, BookSnapshot) for e in events[back + 1 :]))
        down = next(e for e in events if isinstance(e, Disconnected))
        assert "book" in down.reason
    finally:
        task.cancel()
        await venue.close()


async def _until(check: object, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")
