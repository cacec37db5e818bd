"""The defaults of every key a config leaves out, filled into the parsed YAML before validation.

A minimal config is a market's symbol, order size and position limit:

    markets:
      - symbol: BTC/USDT
        order_size_base: 0.001
        risk: {max_position_base: 0.01}

Every other key gets the value below. The synthetic market of paper trading is said once, in
``paper.synthetic.markets.<SYMBOL>``, and the strategy defaults from it: ``volatility.sigma_fixed``
(the prior of the EWMA) is its ``sigma``, ``intensity.a_per_s`` / ``k_per_price`` are its
``as_flow``. What is in price units scales with the synthetic market's ``s0`` (default 60000, a
BTC-like market): give ``s0`` for another symbol and the defaults follow, as scale-free parameters:

- the synthetic ``sigma`` = ``s0 * annual_vol / sqrt(seconds per year)``, ``annual_vol`` 0.5;
- its ``as_flow.k_per_price`` = 1.2 per basis point of ``s0`` (0.2 /USD at 60000), A 2 /s;
- ``strategy.gamma`` = 60 / ``s0`` (0.001 at 60000: ``gamma * mid`` is what the spread depends on);
- the EWMA's clamps [prior / 5, prior * 10]; the proofs' mid range [``s0`` / 6, ``s0`` * 10 / 3];
- the starting balances: 100 position limits of the base asset, and ``2 * s0`` times that of quote.

A key that is given is never changed, and values of the wrong type are left for validation to
report (with their YAML path). Pure: no IO.
"""

from __future__ import annotations

import math
from typing import Any, Final, TypeGuard

__all__ = ["DEFAULT_S0", "apply_defaults"]

DEFAULT_S0: Final = 60_000.0
ANNUAL_VOL: Final = 0.5
SECONDS_PER_YEAR: Final = 365 * 86_400
K_PER_BPS: Final = 1.2  # fill intensity decay per basis point of mid
GAMMA_TIMES_MID: Final = 60.0

MARKET: Final[dict[str, Any]] = {
    "venue": "sim",
    "tick_size": 0.01,
    "lot_size": 0.00001,
    "horizon": {"kind": "infinite"},
}
QUOTING: Final[dict[str, Any]] = {
    "min_spread_bps": 1.0,
    "max_spread_bps": 20.0,
    "max_distance_bps": 25.0,
    "tolerance_bps": 0.3,
    "order_max_age_s": 30.0,
    "post_only": True,
    "refresh_interval_ms": 500,
}
LOCKOUTS: Final[dict[str, Any]] = {"after_fill_ms": 250, "after_reject_ms": 1000, "between_orders_ms": 20}
RISK: Final[dict[str, Any]] = {"daily_loss_limit_quote": 100.0, "stale_book_ms": 3000}
FLOW: Final[dict[str, Any]] = {
    "limit_rate_per_s": 20.0,
    "limit_offset_mean_ticks": 300.0,
    "limit_size_mean_lots": 3.0,
    "cancel_hazard_per_s": 0.5,
    "stale_ticks": 0.0,
    "far_ticks": 2000.0,
    "far_cancel_hazard_per_s": 5.0,
    "market_rate_per_s": 0.5,
    "market_size_mean_lots": 5.0,
    "initial_levels": 15,
    "initial_orders_per_level": 2,
}
PAPER: Final[dict[str, Any]] = {
    "market_data": "synthetic",
    "fees": {"maker_bps": -0.5, "taker_bps": 4.0},
    "latency": {"order_ms": 20, "market_data_ms": 10},
}


def apply_defaults(raw: Any) -> Any:
    """``raw`` (the parsed YAML, env overrides applied) with every missing key filled in."""
    if not isinstance(raw, dict) or not isinstance(raw.get("markets"), list):
        return raw
    paper = _section(raw, "paper")
    if paper is None:
        return raw
    _fill(paper, PAPER)
    synthetic = _section(paper, "synthetic")
    markets = _section(synthetic, "markets") if synthetic is not None else None
    if synthetic is not None:
        synthetic.setdefault("seed", 42)
    balances = paper.get("balances")
    fill_balances = "balances" not in paper
    if fill_balances:
        balances = paper["balances"] = {}
    for market in raw["markets"]:
        if not isinstance(market, dict) or not isinstance(market.get("symbol"), str):
            continue
        symbol = market["symbol"]
        s = _section(markets, symbol) if markets is not None else None
        s0 = _synthetic(s) if s is not None else DEFAULT_S0
        _market(market, s, s0)
        if fill_balances and isinstance(balances, dict):
            _balances(balances, market, s0)
    return raw


def _synthetic(s: dict[str, Any]) -> float:
    """Fill one synthetic market; its s0 (the default when s0 is not a positive number)."""
    s.setdefault("process", "gbm")
    s0 = s.setdefault("s0", DEFAULT_S0)
    s0 = float(s0) if _number(s0) and s0 > 0 else DEFAULT_S0
    if "sigma" not in s:
        s["sigma"] = s0 * ANNUAL_VOL / math.sqrt(SECONDS_PER_YEAR)
    if s.get("process") == "garch":
        s.setdefault("garch", {"alpha": 0.05, "beta": 0.90})
    if "flow" not in s:
        s["flow"] = dict(FLOW)
    flow = _section(s, "as_flow")
    if flow is not None:
        flow.setdefault("a_per_s", 2.0)
        flow.setdefault("k_per_price", K_PER_BPS * 1e4 / s0)
        flow.setdefault("size_mean_lots", 60.0)
    return s0


def _market(m: dict[str, Any], s: dict[str, Any] | None, s0: float) -> None:
    _fill(m, MARKET)
    strategy = _section(m, "strategy")
    if strategy is not None:
        kind = strategy.setdefault("kind", "as")
        if kind in ("as", "glft"):
            strategy.setdefault("gamma", GAMMA_TIMES_MID / s0)
            strategy.setdefault("tau_s", 60.0)
        elif kind == "fixed":
            strategy.setdefault("fixed_half_spread_bps", 1.0)
    vol = _section(m, "volatility")
    if vol is not None:
        source = vol.setdefault("source", "ewma")
        sigma = s.get("sigma") if s is not None else None
        prior = vol.setdefault(
            "sigma_fixed", sigma if _number(sigma) else s0 * ANNUAL_VOL / math.sqrt(SECONDS_PER_YEAR)
        )
        if source == "ewma" and _number(prior) and prior > 0:
            vol.setdefault("half_life_s", 300.0)
            vol.setdefault("floor", prior / 5)
            vol.setdefault("cap", prior * 10)
    intensity = _section(m, "intensity")
    if intensity is not None:
        source = intensity.setdefault("source", "fixed")
        as_flow = s.get("as_flow") if s is not None else None
        flow = as_flow if isinstance(as_flow, dict) else {}
        a = intensity.setdefault("a_per_s", flow.get("a_per_s", 2.0))
        k = intensity.setdefault("k_per_price", flow.get("k_per_price", K_PER_BPS * 1e4 / s0))
        if source == "estimated" and _number(a) and _number(k) and a > 0 and k > 0:
            for key, value in (("a_min", a / 40), ("a_max", a * 5), ("k_min", k / 10), ("k_max", k * 10)):
                intensity.setdefault(key, value)
            intensity.setdefault("window_s", 600.0)
            intensity.setdefault("min_trades", 30)
            intensity.setdefault("max_warmup_s", 120.0)
    for key, defaults in (("quoting", QUOTING), ("lockouts", LOCKOUTS)):
        section = _section(m, key)
        if section is not None:
            _fill(section, defaults)
    risk = m.get("risk")
    if isinstance(risk, dict):
        _fill(risk, RISK)
    verify = _section(m, "verify")
    if verify is not None:
        verify.setdefault("mid_min", s0 / 6)
        verify.setdefault("mid_max", s0 * 10 / 3)


def _balances(balances: dict[str, Any], m: dict[str, Any], s0: float) -> None:
    """Starting balances of a market's two assets: 100 position limits of base, 2 * s0 as much quote."""
    symbol, risk = m["symbol"], m.get("risk")
    limit = risk.get("max_position_base") if isinstance(risk, dict) else None
    if "/" not in symbol or not _number(limit) or limit <= 0:
        return
    base, quote = symbol.split("/", 1)
    quote = quote.split(":")[0]
    balances.setdefault(base, 100 * limit)
    balances.setdefault(quote, 200 * limit * s0)


def _section(parent: dict[str, Any], key: str) -> dict[str, Any] | None:
    """``parent[key]``, created empty if missing; None if it is there but not a mapping."""
    value = parent.setdefault(key, {})
    return value if isinstance(value, dict) else None


def _fill(target: dict[str, Any], defaults: dict[str, Any]) -> None:
    for key, value in defaults.items():
        target.setdefault(key, dict(value) if isinstance(value, dict) else value)


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
