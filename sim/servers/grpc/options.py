"""The gRPC venue's options, and reading them from command-line strings (``OptionError`` names the flag).

Accounts are named and each has a bearer token (the token names the account). A loopback bind may
use the well-known test token ``DEFAULT_TOKEN``; any other address serves only over TLS
(``tls_cert`` and ``tls_key``, PEM files) and only with tokens of one's own: ``exposure_problem``
says what is missing, and both the options and ``from_flags`` refuse it. The flags every protocol
shares (symbols, balances, fees, port, seed, faults, state file) are read by ``sim.servers.flags``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from sim.events import FeeAsset
from sim.flow import MarketParams
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
from sim.servers.grpc.faults import NAMES
from sim.servers.symbols import default_spec

__all__ = [
    "DEFAULT_TOKEN",
    "GatewayOptions",
    "GrpcAccount",
    "OptionError",
    "exposure_problem",
    "from_flags",
    "is_loopback",
]

DEFAULT_TOKEN: Final = "emulator-token"  # noqa: S105 - the well-known token of a loopback test venue
_TOKEN: Final = re.compile(r"[\x21-\x7e]{1,256}")  # printable ASCII, no spaces: one metadata word


@dataclass(frozen=True, slots=True)
class GrpcAccount:
    """One account and the bearer token that names it; the token never appears in a repr."""

    name: str
    token: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.name or not _TOKEN.fullmatch(self.token):
            raise ValueError("an account needs a name and a token of 1..256 printable ASCII characters")


def _default_balances() -> dict[str, float]:
    return {"BTC": 1.0, "USDT": 100_000.0}


@dataclass(frozen=True, slots=True)
class GatewayOptions:
    """``port`` 0 picks a free port. ``markets`` replaces the default background market of a symbol
    (by ``BASE/QUOTE``; None: a quiet book, no background flow). Fees in basis points (negative: a
    rebate). Fault parameters: see ``sim.servers.grpc.faults``."""

    host: str = "127.0.0.1"
    port: int = 0
    accounts: tuple[GrpcAccount, ...] = (GrpcAccount("main", DEFAULT_TOKEN),)
    symbols: tuple[str, ...] = ("BTC/USDT",)
    balances: Mapping[str, float] = field(default_factory=_default_balances)
    seed: int = 0
    faults: Mapping[str, float] = field(default_factory=dict)
    timeout_delay_s: float = 15.0
    burst_s: float = 0.5
    restart_down_s: float = 0.3
    heartbeat_interval_ms: int = 500
    maker_fee_bps: float = -0.5
    taker_fee_bps: float = 4.0
    fee_asset: FeeAsset = "received"  # a buy pays in the base it receives, a sell in quote
    markets: Mapping[str, MarketParams | None] = field(default_factory=dict)
    state_json: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None

    def __post_init__(self) -> None:
        if not self.accounts:
            raise ValueError("at least one account is needed")
        for what, values in (
            ("account names", [a.name for a in self.accounts]),
            ("tokens", [a.token for a in self.accounts]),
            ("symbols", list(self.symbols)),
        ):
            if len(set(values)) != len(values) or not all(values):
                raise ValueError(f"{what} must be non-empty and distinct")
        for symbol in self.symbols:
            default_spec(symbol)
        unknown = set(self.markets) - set(self.symbols)
        if unknown:
            raise ValueError(f"markets given for symbols not listed: {sorted(unknown)}")
        if not 1 <= self.heartbeat_interval_ms <= 60_000:
            raise ValueError(f"heartbeat_interval_ms must be 1..60000, got {self.heartbeat_interval_ms}")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("give tls_cert and tls_key together")
        problem = exposure_problem(self.host, self.tls_cert is not None, [a.token for a in self.accounts])
        if problem is not None:
            raise ValueError(problem)

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def exposure_problem(host: str, tls: bool, tokens: list[str]) -> str | None:
    """What serving on ``host`` still needs (None: nothing): off loopback, TLS and a token of one's own."""
    if is_loopback(host):
        return None
    if not tls:
        return f"{host!r} is not a loopback address: serving it needs --tls-cert, --tls-key and --token"
    if DEFAULT_TOKEN in tokens:
        return f"{host!r} is not a loopback address: give a --token (the test token is for loopback only)"
    return None


def from_flags(
    *,
    host: str,
    port: int,
    token: str | None,
    tls_cert: str | None,
    tls_key: str | None,
    symbols: str,
    balances: str,
    seed: int,
    faults: str,
    state_json: str | None,
    fee_asset: str = "received",
    maker_fee_bps: float | None = None,
    taker_fee_bps: float | None = None,
) -> GatewayOptions:
    """The options of ``mm-bot venue serve --protocol grpc``; OptionError names the first bad flag."""
    check_port(port)
    check_seed(seed)
    if token is not None and not _TOKEN.fullmatch(token):
        raise OptionError("--token", "must be 1..256 printable ASCII characters without spaces")
    if (tls_cert is None) != (tls_key is None):
        raise OptionError(
            "--tls-key" if tls_key is None else "--tls-cert", "give --tls-cert and --tls-key together"
        )
    cert, key = _pem_file("--tls-cert", tls_cert), _pem_file("--tls-key", tls_key)
    problem = exposure_problem(host, cert is not None, [token or DEFAULT_TOKEN])
    if problem is not None:
        raise OptionError("--host" if cert is None else "--token", problem)
    rates = fault_rates(faults, NAMES)
    check_fee_bps("--maker-fee-bps", maker_fee_bps)
    check_fee_bps("--taker-fee-bps", taker_fee_bps)
    if fee_asset not in ("received", "quote"):
        raise OptionError("--fee-asset", f"must be received or quote, got {fee_asset!r}")
    options = GatewayOptions(
        host=host,
        port=port,
        accounts=(GrpcAccount("main", token or DEFAULT_TOKEN),),
        symbols=parse_symbols(symbols),
        balances=parse_balances(balances),
        seed=seed,
        faults=rates,
        fee_asset="received" if fee_asset == "received" else "quote",
        state_json=state_json_path(state_json),
        tls_cert=cert,
        tls_key=key,
    )
    if maker_fee_bps is not None:
        options = dataclasses.replace(options, maker_fee_bps=maker_fee_bps)
    if taker_fee_bps is not None:
        options = dataclasses.replace(options, taker_fee_bps=taker_fee_bps)
    return options


def _pem_file(flag: str, text: str | None) -> Path | None:
    if text is None:
        return None
    path = Path(text)
    try:
        pem = path.read_bytes()
    except OSError:
        raise OptionError(flag, f"{text!r} is not a readable file") from None
    if b"-----BEGIN " not in pem:
        raise OptionError(flag, f"{text!r} is not a PEM file")
    return path
