"""The unmodified ccxt client pointed at a running Binance emulator, and a dense test market.

``ccxt_client`` configures ``ccxt.pro.binance`` as docs/ccxt_binance_spot.md section 0 says:
spot markets only, no currency or margin calls, every URL on the emulator, no client-side rate limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import ccxt.pro as ccxtpro

from sim.flow import FlowParams, MarketParams
from sim.servers.binance import ApiAccount, EmulatorOptions

T = TypeVar("T")

OTHER = ApiAccount("other", "other-key", "other-secret")

# A deep, slow book (hundreds of lots within a few USD of the mid, the mid moving ~0.5 USD per
# sqrt(second)) so that a market order or a marketable limit always finds liquidity.
DENSE_MARKET = MarketParams(
    process="gbm",
    s0=60_000.0,
    sigma_per_sqrt_s=0.5 / 60_000.0,
    flow=FlowParams(
        limit_rate_per_s=50.0,
        limit_offset_mean_ticks=100.0,
        limit_size_mean_lots=20.0,
        cancel_hazard_per_s=0.2,
        stale_ticks=0.0,
        far_ticks=2000.0,
        far_cancel_hazard_per_s=5.0,
        market_rate_per_s=1.0,
        market_size_mean_lots=5.0,
        as_intensity_per_s=0.5,
        as_k_per_tick=0.01,
        as_size_mean_lots=10.0,
        initial_levels=30,
        initial_orders_per_level=2,
    ),
)


def emulator_options(**overrides: Any) -> EmulatorOptions:
    """Two accounts (``main`` and ``other``), the dense market, short fault delays."""
    fields: dict[str, Any] = {
        "accounts": (EmulatorOptions().accounts[0], OTHER),
        "markets": {"BTC/USDT": DENSE_MARKET},
        "timeout_delay_s": 2.0,
        "ban_s": 1.0,
        "seed": 7,
    }
    fields.update(overrides)
    return EmulatorOptions(**fields)


class Reachable(Protocol):
    """Where an emulator listens and the key pair it knows (an ``Emulator`` is one)."""

    @property
    def base_url(self) -> str: ...
    @property
    def ws_url(self) -> str: ...
    @property
    def api_key(self) -> str: ...
    @property
    def api_secret(self) -> str: ...


def ccxt_client(
    emu: Reachable,
    *,
    api_key: str | None = None,
    secret: str | None = None,
    options: dict[str, Any] | None = None,
    **config: Any,
) -> ccxtpro.binance:
    """``options`` are merged into ccxt's options; ``config`` goes to the constructor as is."""
    base_options = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False}
    client = ccxtpro.binance(
        {
            "apiKey": api_key or emu.api_key,
            "secret": secret or emu.api_secret,
            "enableRateLimit": False,
            "options": {**base_options, **(options or {})},
            **config,
        }
    )
    api = client.urls["api"]
    api["public"] = api["private"] = emu.base_url + "/api/v3"
    api["v1"] = emu.base_url + "/api/v1"
    api["sapi"] = emu.base_url + "/sapi/v1"
    api["ws"]["spot"] = emu.ws_url + "/ws"
    api["ws"]["ws-api"]["spot"] = emu.ws_url + "/ws-api/v3"
    return client


async def eventually(fetch: Callable[[], Awaitable[T]], ok: Callable[[T], bool], timeout_s: float = 5.0) -> T:
    """Call ``fetch`` until ``ok`` holds for its answer (fails the test after ``timeout_s``)."""
    async with asyncio.timeout(timeout_s):
        while True:
            value = await fetch()
            if ok(value):
                return value
            await asyncio.sleep(0.02)
