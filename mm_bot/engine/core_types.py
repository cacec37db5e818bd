"""The per-market core's vocabulary: its parameters, the commands it emits, its timer event and its
counters. Plain data (no behaviour beyond ``trading_quote_params``); ``market.py`` holds the core."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

from mm_bot.engine.decide import ALL_LABELS, DecideParams, SideDecision
from mm_bot.engine.horizon import HorizonParams
from mm_bot.engine.lockouts import LockoutParams
from mm_bot.engine.risk import RiskParams
from mm_bot.model import Instrument, OrderRequest, OrderType, Side
from mm_bot.strategy.estimators import IntensityConfig, VolatilityConfig
from mm_bot.strategy.quote import QuoteParams


class Place(NamedTuple):
    """Send ``request``. Commands are NamedTuples: built on the hot path, ~3x cheaper than frozen
    dataclasses and just as immutable."""

    request: OrderRequest
    decision: SideDecision


class Cancel(NamedTuple):
    client_order_id: str
    side: Side
    decision: SideDecision


Command = Place | Cancel


@dataclass(frozen=True, slots=True)
class Tick:
    """A timer event: re-evaluate (stale book, order age, lockout expiry) without market data."""

    ts_ns: int


@dataclass(frozen=True, slots=True)
class MarketParams:
    instrument: Instrument
    quote: QuoteParams
    decide: DecideParams
    lockouts: LockoutParams
    risk: RiskParams
    horizon: HorizonParams
    tolerance_bps: float
    sigma_prior: float  # price units per sqrt(s): the fixed value, or EWMA's until it is warm
    volatility: VolatilityConfig | None  # None: sigma stays fixed
    sigma_floor: float  # price units per sqrt(s), applied to EWMA output
    sigma_cap: float
    intensity_fixed: tuple[float, float] | None  # (A per s, k per price); None means estimated
    intensity: IntensityConfig | None
    order_type: OrderType = OrderType.POST_ONLY
    recent_decisions: int = 20


@dataclass(slots=True)
class MarketStats:
    """Counters for the run summary (names follow DESIGN.md's summary contract)."""

    quotes_sent: int = 0
    cancels_sent: int = 0
    fills: int = 0
    volume_lots: int = 0
    max_abs_position_lots: int = 0
    # Every "<action>(<reason>)" label, counted from 0: a plain dict's ``+= 1`` costs a third of a
    # Counter's on CPython 3.11 (only exact dicts get the specialised subscript), and it runs at least
    # twice per update. Read them through ``decision_reasons``.
    decision_counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ALL_LABELS, 0))
    malformed: Counter[str] = field(default_factory=Counter)
    rejects: Counter[str] = field(default_factory=Counter)
    book_updates: int = 0
    one_sided_books: int = 0
    trades_seen: int = 0

    @property
    def decision_reasons(self) -> Counter[str]:
        """How often each decision was taken, by label (the labels never taken are left out)."""
        return Counter({label: n for label, n in self.decision_counts.items() if n})


def trading_quote_params(params: MarketParams) -> tuple[QuoteParams, bool]:
    """The QuoteParams the core quotes with, and whether they take the exact GLFT depths: GLFT
    with a session horizon quotes from the exact finite-horizon solution (the model's linear ODE
    system through the matrix exponential) instead of the asymptotic closed form. ``verify`` uses
    this too, so it proves what the core trades."""
    if params.quote.kind == "glft" and params.horizon.kind == "session":
        return dataclasses.replace(params.quote, kind="depths"), True
    return params.quote, False
