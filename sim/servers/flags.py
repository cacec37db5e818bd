"""Reading the flags every ``mm-bot venue serve`` protocol shares from their command-line strings;
``OptionError`` names the flag that is wrong.

``--symbols BTC/USDT,...`` (each a ``BASE/QUOTE`` of ``sim.servers.symbols``), ``--balances
BTC=1,USDT=100000`` (every account's starting balances), ``--faults name=rate,...`` (the protocol's
fault names), fees in basis points, the port, the seed and ``--state-json`` (its directory must be
writable now, not at exit).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from sim.servers.faults import FaultError, FaultNames, parse_faults
from sim.servers.symbols import default_spec

__all__ = [
    "OptionError",
    "check_fee_bps",
    "check_port",
    "check_seed",
    "fault_rates",
    "parse_balances",
    "parse_symbols",
    "state_json_path",
]


class OptionError(ValueError):
    def __init__(self, flag: str, problem: str) -> None:
        super().__init__(f"{flag}: {problem}")
        self.flag = flag


def check_port(port: int) -> None:
    if not 0 <= port <= 65_535:
        raise OptionError("--port", f"must be 0..65535, got {port}")


def check_seed(seed: int) -> None:
    if seed < 0:
        raise OptionError("--seed", f"must be >= 0, got {seed}")


def fault_rates(spec: str, names: FaultNames) -> dict[str, float]:
    try:
        return parse_faults(spec, names)
    except FaultError as exc:
        raise OptionError("--faults", str(exc)) from None


def check_fee_bps(flag: str, bps: float | None) -> None:
    if bps is not None and not (math.isfinite(bps) and -100 < bps < 1000):
        raise OptionError(flag, f"must be basis points in (-100, 1000), got {bps}")


def state_json_path(text: str | None) -> Path | None:
    if text is None:
        return None
    path = Path(text)
    parent = path.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise OptionError("--state-json", f"directory {str(parent)!r} does not exist or is not writable")
    return path


def parse_symbols(text: str) -> tuple[str, ...]:
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


def parse_balances(text: str) -> dict[str, float]:
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
