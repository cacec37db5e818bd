"""What an emulator lists for one symbol: its filters (in Binance's terms; the gRPC venue lists the
same tick, lot, minimum quantity and notional) and its default synthetic market.

The default market is shaped like the bot's default paper market (``config.yaml`` ``paper.synthetic``):
a 0.01 tick, a 0.00001 lot, a gbm mid at 5.3/60000 per sqrt(second) stepped every 100 ms and a thin
background book. ``s0`` is 60000 for BTC, 3000 for ETH and 100 for any other base asset.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from sim.events import ExchangeConfig, FeeAsset, Instrument
from sim.exchange import SimExchange
from sim.flow import FlowParams, MarketParams

__all__ = ["SymbolSpec", "default_market", "default_spec"]

_ASSET: Final = re.compile(r"[A-Z0-9]{2,12}")
_S0: Final = {"BTC": 60_000.0, "ETH": 3_000.0}
_DEFAULT_S0: Final = 100.0


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """One spot symbol: ``symbol`` is ccxt's unified name (``BTC/USDT``), ``id`` Binance's (``BTCUSDT``).
    Sizes are in asset units; a price must be a multiple of ``tick`` and a quantity of ``lot``."""

    base: str
    quote: str
    tick: Decimal = Decimal("0.01")
    lot: Decimal = Decimal("0.00001")
    min_price: Decimal = Decimal("0.01")
    max_price: Decimal = Decimal("1000000")
    min_qty: Decimal = Decimal("0.00001")
    max_qty: Decimal = Decimal("9000")
    min_notional: Decimal = Decimal("5")
    max_notional: Decimal = Decimal("9000000")

    def __post_init__(self) -> None:
        for asset in (self.base, self.quote):
            if not _ASSET.fullmatch(asset):
                raise ValueError(f"asset names are 2-12 upper-case letters or digits, got {asset!r}")
        if self.base == self.quote:
            raise ValueError(f"base and quote must differ, got {self.base}/{self.quote}")
        if self.tick <= 0 or self.lot <= 0:
            raise ValueError(f"tick and lot must be > 0, got {self.tick}, {self.lot}")

    @property
    def symbol(self) -> str:
        return f"{self.base}/{self.quote}"

    @property
    def id(self) -> str:
        return f"{self.base}{self.quote}"

    @property
    def stream(self) -> str:
        """The prefix of this symbol's market streams (``btcusdt``)."""
        return self.id.lower()


def default_spec(symbol: str) -> SymbolSpec:
    """The spec of ``BASE/QUOTE`` with the default filters; ValueError for a malformed name."""
    base, sep, quote = symbol.partition("/")
    if not sep:
        raise ValueError(f"a symbol is BASE/QUOTE, got {symbol!r}")
    return SymbolSpec(base, quote)


def default_market(spec: SymbolSpec) -> MarketParams:
    """The synthetic background market of ``spec`` (see the module docstring)."""
    flow = FlowParams(
        limit_rate_per_s=20.0,
        limit_offset_mean_ticks=300.0,
        limit_size_mean_lots=3.0,
        cancel_hazard_per_s=0.5,
        stale_ticks=0.0,
        far_ticks=2000.0,
        far_cancel_hazard_per_s=5.0,
        market_rate_per_s=0.5,
        market_size_mean_lots=5.0,
        as_intensity_per_s=2.0,
        as_k_per_tick=0.002,
        as_size_mean_lots=60.0,
        initial_levels=15,
        initial_orders_per_level=2,
    )
    s0 = _S0.get(spec.base, _DEFAULT_S0)
    return MarketParams(process="gbm", s0=s0, sigma_per_sqrt_s=5.3 / 60_000.0, step_ns=100_000_000, flow=flow)


SNAPSHOT_INTERVAL_NS: Final = 100_000_000
SNAPSHOT_LEVELS: Final = 100  # levels per side of the published book


def symbol_exchange(
    spec: SymbolSpec,
    market: MarketParams | None,
    starting_balances: Mapping[str, float],
    accounts: Sequence[str],
    *,
    seed: int,
    now_ns: int,
    maker_fee_bps: float,
    taker_fee_bps: float,
    fee_asset: FeeAsset,
    fee_decimals: int | None = None,
) -> SimExchange:
    """One symbol's exchange behind an emulator: zero order and market-data latency (a command's
    outcome is known when it is submitted), a book snapshot every 100 ms, and each account holding
    its own copy of the starting balances of the symbol's two assets. ``fee_decimals``: the precision
    at which the venue charges (and reports) each fill's fee."""
    config = ExchangeConfig(
        instrument=Instrument(spec.base, spec.quote, float(spec.tick), float(spec.lot)),
        order_latency_ns=0,
        md_latency_ns=0,
        snapshot_interval_ns=SNAPSHOT_INTERVAL_NS,
        snapshot_levels=SNAPSHOT_LEVELS,
        maker_fee_bps=maker_fee_bps,
        taker_fee_bps=taker_fee_bps,
        fee_asset=fee_asset,
        fee_decimals=fee_decimals,
    )
    own = {a: v for a, v in starting_balances.items() if a in (spec.base, spec.quote)}
    balances = {name: dict(own) for name in accounts}
    return SimExchange(config, market, seed=seed, accounts=balances, start_ns=now_ns)


def account_balances(
    exchanges: Iterable[SimExchange], account: str, starting: Mapping[str, float], assets: Sequence[str]
) -> dict[str, tuple[float, float]]:
    """Asset -> (free, locked) of one account across symbols: its starting balance plus the change in
    every exchange that holds the asset; locked is the sum of what each exchange locks."""
    total = {a: starting.get(a, 0.0) for a in assets}
    locked = dict.fromkeys(assets, 0.0)
    for exchange in exchanges:
        for asset, bal in exchange.account(account).items():
            total[asset] += bal.total - starting.get(asset, 0.0)
            locked[asset] += bal.locked
    return {a: (total[a] - locked[a], locked[a]) for a in assets}
