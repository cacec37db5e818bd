"""Config to plain parameters: the one place that reads pydantic models and builds the dataclasses
the pure core (strategy, engine) and the simulator take. Nothing below ``strategy/``, ``engine/`` or
``sim/`` imports the config."""

from __future__ import annotations

import math
from decimal import Decimal

from mm_bot.config import AppConfig, MarketConfig
from mm_bot.config.models import ExecutionConfig
from mm_bot.engine.book import BookLimits
from mm_bot.engine.core_types import ExecutionParams, MarketParams
from mm_bot.engine.decide import DecideParams
from mm_bot.engine.horizon import HorizonParams
from mm_bot.engine.lockouts import LockoutParams
from mm_bot.engine.risk import RiskParams
from mm_bot.model import Instrument, OrderType
from mm_bot.strategy.estimators import IntensityConfig, VolatilityConfig
from mm_bot.strategy.quote import QuoteParams
from sim.events import ExchangeConfig
from sim.events import Instrument as SimInstrument
from sim.exchange import SimExchange
from sim.flow import FlowParams
from sim.flow import MarketParams as SimMarketParams

MS = 1_000_000
S = 1_000_000_000


def instrument(m: MarketConfig) -> Instrument:
    return Instrument(
        m.symbol, m.base_asset, m.quote_asset, Decimal(repr(m.tick_size)), Decimal(repr(m.lot_size))
    )


def _lots(m: MarketConfig, base: float) -> int:
    return math.floor(base / m.lot_size + 1e-9)


def _hhmm_s(text: str | None) -> int:
    if text is None:
        return 0
    hours, minutes = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def execution_params(e: ExecutionConfig, id_tag: str = "mm") -> ExecutionParams:
    return ExecutionParams(
        id_tag=id_tag,
        request_timeout_ns=e.request_timeout_ms * MS,
        cancel_retry_ns=e.cancel_retry_ms * MS,
        cancel_max_retries=e.cancel_max_retries,
        status_retry_ns=e.status_retry_ms * MS,
        reconcile_interval_ns=int(e.reconcile_interval_s * S),
    )


def market_params(
    m: MarketConfig, execution: ExecutionConfig | None = None, id_tag: str = "mm"
) -> MarketParams:
    s, v, i, h, q, lk, r = m.strategy, m.volatility, m.intensity, m.horizon, m.quoting, m.lockouts, m.risk
    quote = QuoteParams(
        kind=s.kind,
        gamma=s.gamma or 0.0,
        order_size_base=m.order_size_base,
        max_position_base=r.max_position_base,
        tick_size=m.tick_size,
        min_spread_bps=q.min_spread_bps,
        max_spread_bps=q.max_spread_bps,
        max_distance_bps=q.max_distance_bps,
        post_only=q.post_only,
        fixed_half_spread_bps=s.fixed_half_spread_bps or 0.0,
    )
    volatility = None
    if v.source == "ewma":
        half_life = v.half_life_s or 300.0
        volatility = VolatilityConfig(
            half_life_s=half_life,
            prior_vol_per_sqrt_s=0.0,  # the core uses sigma_prior (price units) until warm
            warmup_s=min(half_life, 60.0),
            min_sample_interval_s=v.sample_interval_s,
        )
    intensity = None
    if i.source == "estimated":
        window = i.window_s or 600.0
        intensity = IntensityConfig(
            bucket_width_price=0.25 / i.k_per_price,
            n_buckets=20,
            half_life_s=window / 2.0,
            prior_A_per_s=i.a_per_s,
            prior_k_per_price=i.k_per_price,
            A_min_per_s=i.a_min or i.a_per_s / 10.0,
            A_max_per_s=i.a_max or i.a_per_s * 10.0,
            k_min_per_price=i.k_min or i.k_per_price / 10.0,
            k_max_per_price=i.k_max or i.k_per_price * 10.0,
            min_trades=float(i.min_trades or 30),
            max_warmup_s=i.max_warmup_s or 120.0,
        )
    return MarketParams(
        instrument=instrument(m),
        quote=quote,
        decide=DecideParams(max_order_age_ns=int(q.order_max_age_s * S)),
        lockouts=LockoutParams(lk.after_fill_ms * MS, lk.after_reject_ms * MS, lk.between_orders_ms * MS),
        risk=RiskParams(
            max_position_lots=_lots(m, r.max_position_base),
            hard_position_lots=None if r.hard_position_base is None else _lots(m, r.hard_position_base),
            daily_loss_limit_quote=r.daily_loss_limit_quote,
            stale_book_ns=r.stale_book_ms * MS,
        ),
        horizon=HorizonParams(
            kind=h.kind,
            tau_s=s.tau_s or 60.0,
            session_length_s=h.session_length_s or 0.0,
            daily_start_s=_hhmm_s(h.daily_start_utc),
            daily_end_s=_hhmm_s(h.daily_end_utc),
            at_end=h.at_end or "cancel_only",
        ),
        book=BookLimits(
            tick_size=m.tick_size,
            mid_min=m.verify.mid_min,
            mid_max=m.verify.mid_max,
            max_jump_bps=r.max_mid_jump_bps,
            jump_confirm_books=r.jump_confirm_books,
            max_clock_skew_ns=r.max_clock_skew_ms * MS,
        ),
        tolerance_bps=q.tolerance_bps,
        sigma_prior=v.sigma_fixed,
        volatility=volatility,
        sigma_floor=v.floor or 0.0,
        sigma_cap=v.cap or math.inf,
        intensity_fixed=(i.a_per_s, i.k_per_price) if i.source == "fixed" else None,
        intensity=intensity,
        execution=execution_params(execution or ExecutionConfig(), id_tag),
        order_type=OrderType.POST_ONLY if q.post_only else OrderType.LIMIT,
    )


def refresh_interval_s(m: MarketConfig) -> float:
    return (m.quoting.refresh_interval_ms or 500) / 1000.0


def sim_exchange(
    cfg: AppConfig,
    m: MarketConfig,
    start_ns: int,
    balances: dict[str, float] | None = None,
    account: str = "me",
    *,
    synthetic: bool = True,
    seed: int | None = None,
) -> SimExchange:
    """The paper venue of one market: the synthetic market of ``paper.synthetic`` and our account.
    ``synthetic=False``: no background market and no snapshots of its own (a ``BookMirror`` fills
    its book from a real venue's). ``seed``: instead of ``paper.synthetic.seed``."""
    paper = cfg.paper
    config = ExchangeConfig(
        instrument=SimInstrument(m.base_asset, m.quote_asset, m.tick_size, m.lot_size),
        order_latency_ns=paper.latency.order_ms * MS,
        md_latency_ns=paper.latency.market_data_ms * MS,
        snapshot_interval_ns=100 * MS if synthetic else None,
        maker_fee_bps=paper.fees.maker_bps,
        taker_fee_bps=paper.fees.taker_bps,
    )
    start_balances = dict(paper.balances) if balances is None else balances
    wanted = {m.base_asset, m.quote_asset}
    accounts = {account: {a: amount for a, amount in start_balances.items() if a in wanted}}
    market = _synthetic_market(cfg, m) if synthetic else None
    seed = paper.synthetic.seed if seed is None else seed
    return SimExchange(config, market, seed=seed, accounts=accounts, start_ns=start_ns)


def _synthetic_market(cfg: AppConfig, m: MarketConfig) -> SimMarketParams:
    paper = cfg.paper
    syn = paper.synthetic.markets[m.symbol]
    flow = syn.flow
    sigma_units = syn.sigma if syn.process == "abm" else syn.sigma / syn.s0  # price vs log units
    market = SimMarketParams(
        process=syn.process,
        s0=syn.s0,
        sigma_per_sqrt_s=sigma_units,
        garch_alpha=syn.garch.alpha if syn.garch else 0.05,
        garch_beta=syn.garch.beta if syn.garch else 0.9,
        step_ns=syn.step_ms * MS,
        flow=FlowParams(
            limit_rate_per_s=flow.limit_rate_per_s,
            limit_offset_mean_ticks=flow.limit_offset_mean_ticks,
            limit_size_mean_lots=flow.limit_size_mean_lots,
            cancel_hazard_per_s=flow.cancel_hazard_per_s,
            stale_ticks=flow.stale_ticks,
            far_ticks=flow.far_ticks,
            far_cancel_hazard_per_s=flow.far_cancel_hazard_per_s,
            market_rate_per_s=flow.market_rate_per_s,
            market_size_mean_lots=flow.market_size_mean_lots,
            as_intensity_per_s=syn.as_flow.a_per_s,
            as_k_per_tick=syn.as_flow.k_per_price * m.tick_size,
            as_size_mean_lots=syn.as_flow.size_mean_lots,
            initial_levels=flow.initial_levels,
            initial_orders_per_level=flow.initial_orders_per_level,
        ),
    )
    return market
