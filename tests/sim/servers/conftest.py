"""Fixtures: a Binance emulator on a free loopback port and ccxt clients on it, closed after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import ccxt.pro as ccxtpro
import pytest

from sim.servers.binance import Emulator
from tests.sim.servers.helpers import OTHER, ccxt_client, emulator_options


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(emulator_options()) as emu:
        yield emu


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[ccxtpro.binance]:
    ex = ccxt_client(emulator)
    try:
        await ex.load_markets()
        yield ex
    finally:
        await ex.close()


@pytest.fixture
async def other(emulator: Emulator) -> AsyncIterator[ccxtpro.binance]:
    """A client of the second account."""
    ex = ccxt_client(emulator, api_key=OTHER.api_key, secret=OTHER.api_secret)
    try:
        await ex.load_markets()
        yield ex
    finally:
        await ex.close()
