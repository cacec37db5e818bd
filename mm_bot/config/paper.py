"""The models of ``run --paper`` (``paper``): the synthetic market per symbol (mid process,
background flow, A-S flow), starting balances, fees and latency of the simulator."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from mm_bot.config.base import (
    Fraction,
    NonNeg,
    NonNegInt,
    Pos,
    PosInt,
    Problem,
    _cross,
    _required,
    _Strict,
    _when,
)


class GarchConfig(_Strict):
    """GARCH(1,1) on mid returns per step; long-run variance matches ``sigma``."""

    alpha: Fraction
    beta: Fraction

    @model_validator(mode="after")
    def _check(self) -> Self:
        total = self.alpha + self.beta
        _cross(_when(total >= 1, "beta", f"alpha + beta = {total} must be < 1 (stationary)"))
        return self


class BackgroundFlowConfig(_Strict):
    """Other traders' Poisson flow that shapes the synthetic book, in ticks and lots of the market
    (the fields of ``sim.flow.FlowParams``; see its docstring for the exact model)."""

    limit_rate_per_s: NonNeg = 50.0  # background limit orders per second
    limit_offset_mean_ticks: NonNeg = 6.0  # their mean distance from the mid
    limit_size_mean_lots: Annotated[float, Field(ge=1)] = 5.0
    cancel_hazard_per_s: NonNeg = 0.2  # each resting background order is cancelled at this rate
    stale_ticks: NonNeg | None = 0.0  # pull orders the mid moved through by this much (null: never)
    far_ticks: NonNeg = 30.0  # orders farther than this from the mid ...
    far_cancel_hazard_per_s: NonNeg = 5.0  # ... are cancelled at this rate
    market_rate_per_s: NonNeg = 1.0  # background market orders per second
    market_size_mean_lots: Annotated[float, Field(ge=1)] = 3.0
    initial_levels: NonNegInt = 15  # book seeded with this many levels a side ...
    initial_orders_per_level: NonNegInt = 2  # ... of this many orders each


class AsFlowConfig(_Strict):
    """Market orders that reach our quote at distance delta with intensity A exp(-k delta): each
    reaches Exp(k) beyond the mid and carries a geometric size with this mean."""

    a_per_s: NonNeg
    k_per_price: Pos
    size_mean_lots: Annotated[float, Field(ge=1)] = 3.0


class SyntheticMarketConfig(_Strict):
    """Synthetic mid process of one market. ``sigma``: price units per sqrt(second) at s0 (abm uses
    it as is; gbm and garch scale it with s/s0)."""

    process: Literal["abm", "gbm", "garch"]
    s0: Pos
    sigma: Pos
    step_ms: PosInt = 100
    garch: GarchConfig | None = None
    flow: BackgroundFlowConfig
    as_flow: AsFlowConfig

    @model_validator(mode="after")
    def _check(self) -> Self:
        _cross(_required(self, ["garch"] if self.process == "garch" else [], "when process is 'garch'"))
        return self


class SyntheticConfig(_Strict):
    seed: NonNegInt
    markets: dict[str, SyntheticMarketConfig]  # by symbol


class FeesConfig(_Strict):
    maker_bps: Annotated[float, Field(ge=-50, le=100)]  # negative: rebate
    taker_bps: Annotated[float, Field(ge=0, le=100)]


class LatencyConfig(_Strict):
    order_ms: NonNegInt  # our order/cancel to the matching engine, and its reply back
    market_data_ms: NonNegInt  # matching engine to our book view


class PaperConfig(_Strict):
    """``run --paper``: the simulator fills our orders. ``exchange`` market data: the public book and
    trades of ``live.exchange_id`` (at ``live.endpoint`` if set) through ccxt, no keys needed."""

    market_data: Literal["synthetic", "exchange"]
    synthetic: SyntheticConfig
    balances: dict[str, NonNeg]  # asset -> starting amount
    fees: FeesConfig
    latency: LatencyConfig

    @model_validator(mode="after")
    def _check(self) -> Self:
        p: list[Problem] = []
        for asset in self.balances:
            p += _when(asset != asset.upper(), ("balances", asset), "asset must be upper case, e.g. USDT")
        _cross(p)
        return self
