"""The emulator's options, and reading them from command-line strings (``OptionError`` names the flag).

``--balances BTC=1,USDT=100000`` are every account's starting balances; ``--symbols BTC/USDT,...``
the symbols listed (each with the default filters and market of ``sim.servers.symbols``);
``--faults`` the fault rates (``sim.servers.binance.faults``). The flags every protocol shares are
read by ``sim.servers.flags``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from sim.events import FeeAsset
from sim.flow import MarketParams
from sim.servers.binance.faults import NAMES
from sim.servers.flags import (
    OptionError,
    check_fee_bps,
    check_port,
    check_seed,
    fault_rates,
    parse_balances,
    parse_symbols,
    state_json_path,
)
from sim.servers.symbols import default_spec

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_API_SECRET",
    "ApiAccount",
    "EmulatorOptions",
    "OptionError",
    "from_flags",
]

DEFAULT_API_KEY: Final = "emulator-key"
DEFAULT_API_SECRET: Final = "emulator-secret"  # noqa: S105 - the well-known default of a loopback test venue


@dataclass(frozen=True, slots=True)
class ApiAccount:
    """One account and the key pair that signs for it; the secret never appears in a repr."""

    name: str
    api_key: str
    api_secret: str = field(repr=False)


def _default_balances() -> dict[str, float]:
    return {"BTC": 1.0, "USDT": 100_000.0}


@dataclass(frozen=True, slots=True)
class EmulatorOptions:
    """``port`` 0 picks a free port. ``markets`` replaces the default background market of a symbol
    (by ``BASE/QUOTE``; None: no background market). Fees in basis points (negative: a rebate)."""

    host: str = "127.0.0.1"
    port: int = 0
    accounts: tuple[ApiAccount, ...] = (ApiAccount("main", DEFAULT_API_KEY, DEFAULT_API_SECRET),)
    symbols: tuple[str, ...] = ("BTC/USDT",)
    balances: Mapping[str, float] = field(default_factory=_default_balances)
    seed: int = 0
    faults: Mapping[str, float] = field(default_factory=dict)
    timeout_delay_s: float = 15.0
    ban_s: float = 2.0
    maker_fee_bps: float = -0.5
    taker_fee_bps: float = 4.0
    fee_asset: FeeAsset = "received"  # Binance spot without BNB: a buy pays in base, a sell in quote
    markets: Mapping[str, MarketParams | None] = field(default_factory=dict)
    state_json: Path | None = None

    def __post_init__(self) -> None:
        if not self.accounts:
            raise ValueError("at least one account is needed")
        for what, values in (
            ("account names", [a.name for a in self.accounts]),
            ("API keys", [a.api_key for a in self.accounts]),
            ("symbols", list(self.symbols)),
        ):
            if len(set(values)) != len(values) or not all(values):
                raise ValueError(f"{what} must be non-empty and distinct")
        for symbol in self.symbols:
            default_spec(symbol)
        unknown = set(self.markets) - set(self.symbols)
        if unknown:
            raise ValueError(f"markets given for symbols not listed: {sorted(unknown)}")


def from_flags(
    *,
    host: str,
    port: int,
    api_key: str | None,
    api_secret: str | None,
    symbols: str,
    balances: str,
    seed: int,
    faults: str,
    state_json: str | None,
    fee_asset: str = "received",
    maker_fee_bps: float | None = None,
    taker_fee_bps: float | None = None,
) -> EmulatorOptions:
    """The options of ``mm-bot venue serve``; OptionError names the first bad flag."""
    check_port(port)
    check_seed(seed)
    if (api_key is None) != (api_secret is None):
        raise OptionError(
            "--api-key" if api_key is None else "--api-secret", "give --api-key and --api-secret together"
        )
    key, secret = api_key or DEFAULT_API_KEY, api_secret or DEFAULT_API_SECRET
    if not key.strip() or not secret.strip():
        raise OptionError("--api-key", "the key and the secret must not be empty")
    rates = fault_rates(faults, NAMES)
    check_fee_bps("--maker-fee-bps", maker_fee_bps)
    check_fee_bps("--taker-fee-bps", taker_fee_bps)
    if fee_asset not in ("received", "quote"):
        raise OptionError("--fee-asset", f"must be received or quote, got {fee_asset!r}")
    path = state_json_path(state_json)
    options = EmulatorOptions(
        host=host,
        port=port,
        accounts=(ApiAccount("main", key, secret),),
        symbols=parse_symbols(symbols),
        balances=parse_balances(balances),
        seed=seed,
        faults=rates,
        state_json=path,
        fee_asset="received" if fee_asset == "received" else "quote",
    )
    if maker_fee_bps is not None:
        options = dataclasses.replace(options, maker_fee_bps=maker_fee_bps)
    if taker_fee_bps is not None:
        options = dataclasses.replace(options, taker_fee_bps=taker_fee_bps)
    return options
