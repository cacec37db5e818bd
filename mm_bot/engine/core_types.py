"""The per-market core's vocabulary: its parameters, the commands it emits, the events the runner
feeds back about its requests, the timer event, what a restart carries over and its counters. Plain
data; ``market.py`` holds the core."""

from __future__ import annotations

import dataclasses
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from mm_bot.engine.book import BookLimits
from mm_bot.engine.decide import DecideParams, SideDecision, label
from mm_bot.engine.horizon import HorizonParams
from mm_bot.engine.ledger import LedgerTotals
from mm_bot.engine.lockouts import LockoutParams
from mm_bot.engine.reasons import Action, Reason
from mm_bot.engine.risk import RiskParams
from mm_bot.model import Instrument, OrderReport, OrderRequest, OrderType, Side, VenueReport
from mm_bot.strategy.estimators import IntensityConfig, VolatilityConfig
from mm_bot.strategy.quote import QuoteParams


# ------------------------------------------------------------------------------------ commands
@dataclass(frozen=True, slots=True)
class Place:
    """Send ``request`` (the runner journals it first)."""

    request: OrderRequest
    decision: SideDecision


@dataclass(frozen=True, slots=True)
class Cancel:
    client_order_id: str
    side: Side
    decision: SideDecision


@dataclass(frozen=True, slots=True)
class QueryOrder:
    """Look the order up by client id (``Venue.order_status``); the answer comes back as
    ``OrderStatusResult``."""

    client_order_id: str


@dataclass(frozen=True, slots=True)
class Reconcile:
    """Fetch the venue's open orders, our fills since ``fills_since_ns`` and the balances; the answer
    comes back as ``ReconcileResult``."""

    fills_since_ns: int


Command = Place | Cancel | QueryOrder | Reconcile


# ------------------------------------------------------------------- request outcomes (from the runner)
@dataclass(frozen=True, slots=True)
class PlaceUnknown:
    """A place timed out or failed in transit: the order may or may not exist at the venue."""

    ts_ns: int
    client_order_id: str
    error: str


@dataclass(frozen=True, slots=True)
class CancelFailed:
    """A cancel timed out or failed in transit: the order may still be live."""

    ts_ns: int
    client_order_id: str
    error: str


@dataclass(frozen=True, slots=True)
class OrderStatusResult:
    """The answer to ``QueryOrder``; ``report`` is None if the lookup itself failed."""

    ts_ns: int
    client_order_id: str
    report: OrderReport | None


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    """The answer to ``Reconcile``; ``report`` is None if fetching it failed."""

    ts_ns: int
    report: VenueReport | None


@dataclass(frozen=True, slots=True)
class Tick:
    """A timer event: re-evaluate (stale book, order age, lockout expiry, chases) without market data."""

    ts_ns: int


RunnerEvent = PlaceUnknown | CancelFailed | OrderStatusResult | ReconcileResult | Tick


# ---------------------------------------------------------------------------------- parameters
@dataclass(frozen=True, slots=True)
class ExecutionParams:
    """How the core chases the venue. Times in nanoseconds."""

    request_timeout_ns: int = 5_000_000_000  # the runner's timeout on every venue call
    cancel_retry_ns: int = 500_000_000  # an unanswered cancel is sent again after this
    cancel_max_retries: int = 3  # ... this many times, then the order is looked up by id
    status_retry_ns: int = 1_000_000_000  # between lookups of an order whose fate is unknown
    reconcile_interval_ns: int = 30_000_000_000  # periodic reconciliation
    id_tag: str = "mm"  # the journal's tag: every client id of its sessions starts with it (ours to adopt)


@dataclass(frozen=True, slots=True)
class MarketParams:
    instrument: Instrument
    quote: QuoteParams
    decide: DecideParams
    lockouts: LockoutParams
    risk: RiskParams
    horizon: HorizonParams
    book: BookLimits
    tolerance_bps: float
    sigma_prior: float  # price units per sqrt(s): the fixed value, or EWMA's until it is warm
    volatility: VolatilityConfig | None  # None: sigma stays fixed
    sigma_floor: float  # price units per sqrt(s), applied to EWMA output
    sigma_cap: float
    intensity_fixed: tuple[float, float] | None  # (A per s, k per price); None means estimated
    intensity: IntensityConfig | None
    execution: ExecutionParams = ExecutionParams()
    order_type: OrderType = OrderType.POST_ONLY
    recent_decisions: int = 20


@dataclass(frozen=True, slots=True)
class CoreRestore:
    """What a restart carries over from the journal."""

    totals: LedgerTotals = field(default_factory=LedgerTotals)
    fill_keys: Iterable[tuple[str, str]] = ()
    # Orders of earlier sessions not seen to end: (request, sent_ns, lots their journaled fills filled).
    inherited: tuple[tuple[OrderRequest, int, int], ...] = ()
    day_baseline: tuple[int, float] | None = None  # (UTC day, PnL at its first observation)
    baseline: Mapping[str, float] = field(default_factory=dict)  # balances before any of our fills
    # With no journaled fill: no fill of ours is older than this (the account's first start), so a
    # reconciliation asks from here for fills a lost commit (a power loss) did not keep.
    no_fill_before_ns: int | None = None


@dataclass(slots=True)
class MarketStats:
    """Counters for the run summary, and the latest decisions for the live view."""

    quotes_sent: int = 0
    cancels_sent: int = 0
    # (side, action, reason) -> how often: a plain dict, updated on every decision (a Counter's += is
    # three times a dict's on CPython 3.11, whose specialised subscript is for exact dicts only)
    decisions: dict[tuple[Side, Action, Reason], int] = field(default_factory=dict)
    malformed: Counter[str] = field(default_factory=Counter)  # events that did not fit, by kind
    rejects: Counter[str] = field(default_factory=Counter)
    venue: Counter[str] = field(default_factory=Counter)  # place_unknown, cancel_retries, reconciles ...
    # (ts_ns, decision) of the decisions that changed something, oldest first
    recent: deque[tuple[int, SideDecision]] = field(default_factory=lambda: deque(maxlen=20))
    _last: dict[Side, tuple[Side, Action, Reason]] = field(default_factory=dict)

    def record(self, d: SideDecision, now_ns: int) -> None:
        """Count decision ``d``; keep it among the recent ones unless it repeats its side's last keep or
        nothing (those are not news for the live view; changes are)."""
        key = d[:3]  # (side, action, reason)
        self.decisions[key] = self.decisions.get(key, 0) + 1
        if self._last.get(d.side) != key or not (d.action is Action.KEEP or d.action is Action.NOTHING):
            self._last[d.side] = key
            self.recent.append((now_ns, d))

    @property
    def decision_reasons(self) -> Counter[str]:
        """How often each decision was taken, by ``"<action>(<reason>)"`` label, both sides together."""
        out: Counter[str] = Counter()
        for (_, action, reason), n in self.decisions.items():
            out[label(action, reason)] += n
        return out


def trading_quote_params(params: MarketParams) -> tuple[QuoteParams, bool]:
    """The QuoteParams the core quotes with, and whether they take the exact GLFT depths: GLFT
    with a session horizon quotes from the exact finite-horizon solution (the model's linear ODE
    system through the matrix exponential) instead of the asymptotic closed form. ``verify`` uses
    this too, so it proves what the core trades."""
    if params.quote.kind == "glft" and params.horizon.kind == "session":
        return dataclasses.replace(params.quote, kind="depths"), True
    return params.quote, False
