"""The ranges one market's proofs cover (``MarketSpec``), built from the config the way the bot
builds its own parameters (``mm_bot.wiring.market_params``)."""

from __future__ import annotations

import dataclasses

from mm_bot.config import MarketConfig
from mm_bot.engine.market import trading_quote_params
from mm_bot.strategy.quote import QuoteParams
from mm_bot.wiring import market_params

_DAY_S = 86_400


@dataclasses.dataclass(frozen=True, slots=True)
class Range:
    """A closed input range; ``lo == hi`` is a constant (passed to the pipeline as a Python float)."""

    lo: float
    hi: float

    @property
    def constant(self) -> bool:
        return self.lo == self.hi

    def describe(self) -> str:
        return f"{self.lo:g}" if self.constant else f"[{self.lo:g}, {self.hi:g}]"


@dataclasses.dataclass(frozen=True, slots=True)
class MarketSpec:
    """One market as the proofs see it: the bot's own ``QuoteParams`` and the input ranges.

    ``inventory_base`` is [-R, R], R = the hard position limit when configured (positions between
    max and hard happen; the bot unwinds beyond hard), else max_position_base. ``tau_s`` is the
    rolling tau (infinite horizon), [0, session length] (session) or [0, window length] (daily).
    ``exact_glft_depths``: the quote kind is "depths" fed from the exact GLFT table (GLFT with a
    session horizon, see ``MarketCore``); the depths are then free inputs of the proofs.
    """

    market: str
    quote: QuoteParams
    tolerance_bps: float
    mid: Range
    inventory_base: Range
    sigma: Range
    A: Range
    k: Range
    tau_s: Range
    exact_glft_depths: bool = False
    # kind "depths" from outside (the Gymnasium agent's action): any depths >= 0, no model behind them
    policy_depths: bool = False
    lot_size: float = 0.0  # base units; 0: unknown (counterexamples are then not put on a lot grid)

    def ranges(self) -> dict[str, list[float] | float | str]:
        """The covered ranges, for reports: a constant as a number, a range as [lo, hi]."""
        out: dict[str, list[float] | float | str] = {}
        for name in ("mid", "inventory_base", "sigma", "A", "k", "tau_s"):
            r: Range = getattr(self, name)
            out[name] = r.lo if r.constant else [r.lo, r.hi]
        if self.exact_glft_depths:
            out["bid_depth, ask_depth"] = "any (exact GLFT table)"
        if self.policy_depths:
            out["bid_depth, ask_depth"] = "any >= 0 (an agent's action)"
        return out


def policy_spec(m: MarketConfig) -> MarketSpec:
    """The spec of ``m`` quoting an agent's depths (``mm_bot.gym``): the pipeline of kind "depths"
    with the market's limits, the depths free inputs >= 0."""
    spec = market_spec(m)
    quote = dataclasses.replace(spec.quote, kind="depths")
    return dataclasses.replace(spec, quote=quote, exact_glft_depths=False, policy_depths=True)


def market_spec(m: MarketConfig) -> MarketSpec:
    """The spec of a configured market, from the same ``market_params`` the bot trades with."""
    mp = market_params(m)
    q, exact_depths = trading_quote_params(mp)
    lot = float(mp.instrument.lot_size)
    hard = mp.risk.hard_position_lots
    reach = max(q.max_position_base, hard * lot if hard is not None else 0.0)
    if mp.volatility is None:
        sigma = Range(mp.sigma_prior, mp.sigma_prior)
    else:  # the prior until warm, then the estimate clamped to [floor, cap] (MarketCore.sigma)
        sigma = Range(min(mp.sigma_floor, mp.sigma_prior), max(mp.sigma_cap, mp.sigma_prior))
    if mp.intensity_fixed is not None:
        a, k = mp.intensity_fixed
        a_range, k_range = Range(a, a), Range(k, k)
    else:
        assert mp.intensity is not None
        i = mp.intensity
        a_range = Range(min(i.A_min_per_s, i.prior_A_per_s), max(i.A_max_per_s, i.prior_A_per_s))
        k_range = Range(
            min(i.k_min_per_price, i.prior_k_per_price), max(i.k_max_per_price, i.prior_k_per_price)
        )
    h = mp.horizon
    if h.kind == "infinite":
        tau = Range(h.tau_s, h.tau_s)
    elif h.kind == "session":
        tau = Range(0.0, h.session_length_s)
    else:
        tau = Range(0.0, float((h.daily_end_s - h.daily_start_s) % _DAY_S or _DAY_S))
    return MarketSpec(
        market=m.symbol,
        quote=q,
        tolerance_bps=mp.tolerance_bps,
        mid=Range(m.verify.mid_min, m.verify.mid_max),
        inventory_base=Range(-reach, reach),
        sigma=sigma,
        A=a_range,
        k=k_range,
        tau_s=tau,
        exact_glft_depths=exact_depths,
        lot_size=float(mp.instrument.lot_size),
    )
