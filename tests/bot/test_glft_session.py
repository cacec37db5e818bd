"""GLFT with a session horizon quotes from the exact finite-horizon solution (matrix exponential of
the model's ODE system), and far from the end it agrees with the asymptotic closed form."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from mm_bot.config import load_config
from mm_bot.engine.horizon import NS, HorizonParams
from mm_bot.engine.market import MarketCore, Place
from mm_bot.engine.orders import ClientOrderIds
from mm_bot.model import BookSnapshot, Side
from mm_bot.strategy.glft import exact_depth_table
from mm_bot.strategy.quote import QuoteInputs, compute_quote
from mm_bot.wiring import market_params
from tests.bot.core_driver import reconciled

CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"
T0 = 1_700_000_000 * NS
BOOK = BookSnapshot(T0, T0, 1, ((5_999_000, 50),), ((6_001_000, 50),))  # mid 60000.00, wide touch


def glft_core(horizon_kind: str, session_s: float = 3600.0) -> MarketCore:
    p = market_params(load_config(CONFIG, environ={}).markets[0])
    p = dataclasses.replace(
        p,
        quote=dataclasses.replace(p.quote, kind="glft", gamma=0.01),
        horizon=HorizonParams(horizon_kind, tau_s=60.0, session_length_s=session_s),  # type: ignore[arg-type]
        volatility=None,
    )
    return reconciled(MarketCore(p, ClientOrderIds("mmg"), T0), T0)


def quoted(core: MarketCore, now_ns: int) -> tuple[int, int]:
    cmds = core.on_event(dataclasses.replace(BOOK, ts_ns=now_ns, seq=now_ns), now_ns)
    prices = {c.request.side: c.request.price_ticks for c in cmds if isinstance(c, Place)}
    return prices[Side.BUY], prices[Side.SELL]


def test_session_glft_uses_the_exact_depth_table() -> None:
    """The core's quote equals the pipeline fed with the exact table's depths at the session's tau."""
    core = glft_core("session", session_s=30.0)
    now = T0 + 10 * NS  # tau = 20 s
    bid, ask = quoted(core, now)
    p = core.params.quote
    q_max = round(p.max_position_base / p.order_size_base)
    a, k = core.params.intensity_fixed  # type: ignore[misc]
    table = exact_depth_table(q_max, p.gamma, core.params.sigma_prior, a, k, 20.0)
    bd, ad = table.depths_at(0.0)
    expected = compute_quote(
        QuoteInputs(60000.0, 0.0, core.params.sigma_prior, a, k, 20.0, 59990.0, 60010.0, bd, ad),
        dataclasses.replace(p, kind="depths"),
    )
    assert (bid, ask) == (expected.bid_ticks, expected.ask_ticks)


def test_long_session_agrees_with_closed_form_and_the_end_moves_quotes() -> None:
    """With hours to go the exact quotes are within 3% of the half-spread of the closed form (the
    closed form is the continuum approximation of the discrete solution, first-order accurate);
    near the end the finite-horizon solution moves the quotes."""
    exact = quoted(glft_core("session", session_s=6 * 3600.0), T0)
    closed = quoted(glft_core("infinite"), T0)
    half_spread_ticks = (closed[1] - closed[0]) / 2
    assert abs(exact[0] - closed[0]) <= 0.03 * half_spread_ticks
    assert abs(exact[1] - closed[1]) <= 0.03 * half_spread_ticks
    near_end = quoted(glft_core("session", session_s=6 * 3600.0), T0 + 6 * 3600 * NS - 1 * NS)
    assert near_end != exact  # one second to go: the finite-horizon solution really moved the quotes
