"""The emulator's options, and reading them from command-line strings (``OptionError`` names the flag).

``--balances BTC=1,USDT=100000`` are every account's starting balances; ``--symbols BTC/USDT,...``
the symbols listed (each with the default filters and market of ``sim.servers.binance.symbols``);
``--faults`` the fault rates (``sim.servers.binance.faults``).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from sim.events import FeeAsset
from sim.flow import MarketParams
from sim.servers.binance.faults import FaultError, parse_faults
from sim.servers.binance.symbols import default_spec

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


class OptionError(ValueError):
    def __init__(self, flag: str, problem: str) -> None:
        super().__init__(f"{flag}: {problem}")
        self.flag = flag


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
    if not 0 <= port <= 65_535:
        raise OptionError("--port", f"must be 0..65535, got {port}")
    if seed < 0:
        raise OptionError("--seed", f"must be >= 0, got {seed}")
    if (api_key is None) != (api_secret is None):
        raise OptionError(
            "--api-key" if api_key is None else "--api-secret", "give --api-key and --api-secret together"
        )
    key, secret = api_key or DEFAULT_API_KEY, api_secret or DEFAULT_API_SECRET
    if not key.strip() or not secret.strip():
        raise OptionError("--api-key", "the key and the secret must not be empty")
    try:
        fault_rates = parse_faults(faults)
    except FaultError as exc:
        raise OptionError("--faults", str(exc)) from None
    fees = {"maker_fee_bps": maker_fee_bps, "taker_fee_bps": taker_fee_bps}
    for name, bps in fees.items():
        if bps is not None and not (math.isfinite(bps) and -100 < bps < 1000):
            raise OptionError(
                f"--{name.replace('_', '-')}", f"must be basis points in (-100, 1000), got {bps}"
            )
    if fee_asset not in ("received", "quote"):
        raise OptionError("--fee-asset", f"must be received or quote, got {fee_asset!r}")
    path = None
    if state_json is not None:
        path = Path(state_json)
        parent = path.parent
        if not parent.is_dir() or not os.access(parent, os.W_OK):
            raise OptionError("--state-json", f"directory {str(parent)!r} does not exist or is not writable")
    options = EmulatorOptions(
        host=host,
        port=port,
        accounts=(ApiAccount("main", key, secret),),
        symbols=_symbols(symbols),
        balances=_balances(balances),
        seed=seed,
        faults=fault_rates,
        state_json=path,
        fee_asset="received" if fee_asset == "received" else "quote",
    )
    if maker_fee_bps is not None:
        options = dataclasses.replace(options, maker_fee_bps=maker_fee_bps)
    if taker_fee_bps is not None:
        options = dataclasses.replace(options, taker_fee_bps=taker_fee_bps)
    return options


def _symbols(text: str) -> tuple[str, ...]:
    names = tuple(s.strip() for s in text.split(",") if s.strip())
    if not names:
        raise OptionError("--symbols", "give at least one BASE/QUOTE symbol")
    if len(set(names)) != len(names):
        raise OptionError("--symbols", "a symbol is listed twice")
    for name in names:
        try:
            default_spec(name)
        except ValueError as exc:
            raise OptionError("--symbols", str(exc)) from None
    return names


def _balances(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in (s.strip() for s in text.split(",")):
        if not item:
            continue
        asset, sep, amount = item.partition("=")
        asset = asset.strip()
        if not sep or not asset.isalnum() or asset.upper() != asset:
            raise OptionError("--balances", f"{item!r}: expected ASSET=amount, e.g. BTC=1")
        try:
            value = float(amount)
        except ValueError:
            raise OptionError("--balances", f"{asset}: {amount.strip()!r} is not a number") from None
        if not (math.isfinite(value) and value >= 0):
            raise OptionError("--balances", f"{asset}: must be a finite amount >= 0, got {amount.strip()}")
        if asset in out:
            raise OptionError("--balances", f"{asset} is given twice")
        out[asset] = value
    return out
