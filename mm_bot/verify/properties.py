"""What is proved: the input ranges of one market (``MarketSpec``) and the claims (``PROPERTIES``).

Every claim is ONE function of a ``World``: a valuation of the market inputs that is symbolic (Z3
terms, ``Z3Ops``, Z3 connectives) when proving and concrete (floats, ``FLOAT_OPS``, Python
connectives) when a counterexample is replayed on the trading path. Both evaluate the real
``compute_quote`` with the real ``QuoteParams`` (built by ``mm_bot.wiring.market_params``); nothing
here restates the pipeline.

Notation of the statements: b, a = bid_ticks, ask_ticks of the quote; t = tick_size; the book's best
prices bb, ba are integer ticks with 1 <= bb < ba (uncrossed), and the mid is the bot's,
m = (bb + ba) * 0.5 * t, in [verify.mid_min, verify.mid_max]; per_bp = m * 1e-4;
M = max(1, ceil(per_bp * min_spread_bps / t)); D = per_bp * max_distance_bps; q = inventory_base;
Q = max_position_base; s = order_size_base; tol = m * tolerance_bps * 1e-4 / t (as the engine's
tolerance band in ticks).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import z3

from mm_bot.config import MarketConfig
from mm_bot.strategy.numeric import Ops
from mm_bot.strategy.quote import Quote, QuoteInputs, QuoteParams, compute_quote
from mm_bot.verify.z3ops import Z3Ops, division_obligations
from mm_bot.wiring import market_params

_BPS = 1e-4
_DAY_S = 86_400


@dataclass(frozen=True, slots=True)
class Range:
    """A closed input range; ``lo == hi`` is a constant (passed to the pipeline as a Python float)."""

    lo: float
    hi: float

    @property
    def constant(self) -> bool:
        return self.lo == self.hi

    def describe(self) -> str:
        return f"{self.lo:g}" if self.constant else f"[{self.lo:g}, {self.hi:g}]"


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """One market as the proofs see it: the bot's own ``QuoteParams`` and the input ranges.

    ``inventory_base`` is [-R, R], R = the hard position limit when configured (positions between
    max and hard happen; the bot unwinds beyond hard), else max_position_base. ``tau_s`` is the
    rolling tau (infinite horizon), [0, session length] (session) or [0, window length] (daily).
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

    def ranges(self) -> dict[str, list[float] | float]:
        out: dict[str, list[float] | float] = {}
        for name in ("mid", "inventory_base", "sigma", "A", "k", "tau_s"):
            r: Range = getattr(self, name)
            out[name] = r.lo if r.constant else [r.lo, r.hi]
        return out


def market_spec(m: MarketConfig) -> MarketSpec:
    """The spec of a configured market, from the same ``market_params`` the bot trades with."""
    mp = market_params(m)
    q = mp.quote
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
    )


# --- valuations -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Logic:
    """Connectives of one backend."""

    and_: Callable[..., Any]
    not_: Callable[[Any], Any]
    implies: Callable[[Any, Any], Any]
    true: Any


Z3_LOGIC = Logic(z3.And, z3.Not, z3.Implies, z3.BoolVal(True))
BOOL_LOGIC = Logic(lambda *a: all(a), lambda a: not a, lambda a, b: (not a) or b, True)


@dataclass(frozen=True, slots=True)
class Sample:
    """Market inputs: Z3 variables (or Python floats for constants) under proof, floats on replay.

    ``inventory2_base`` > ``inventory_base`` is the second inventory of the relational claims.
    """

    best_bid_ticks: Any
    best_ask_ticks: Any
    inventory_base: Any
    inventory2_base: Any
    sigma: Any
    A: Any
    k: Any
    tau_s: Any


FIELDS = ("best_bid_ticks", "best_ask_ticks", "inventory_base", "inventory2_base", "sigma", "A", "k", "tau_s")


def symbolic_sample(spec: MarketSpec, ops: Z3Ops) -> tuple[Sample, list[Any]]:
    """Z3 variables for the inputs and the preconditions that confine them to ``spec``'s ranges."""
    bb, ba = z3.Ints("best_bid_ticks best_ask_ticks")
    pre: list[Any] = [bb >= 1, ba > bb]
    mid = mid_of(bb, ba, spec.quote.tick_size)
    pre += [mid >= spec.mid.lo, mid <= spec.mid.hi]
    t = spec.quote.tick_size
    ops.declare(bb, 1.0, 2 * spec.mid.hi / t)
    ops.declare(ba, 2.0, 2 * spec.mid.hi / t)

    def var(name: str, r: Range) -> Any:
        if r.constant:
            return r.lo
        v = z3.Real(name)
        pre.append(v >= r.lo)
        if math.isfinite(r.hi):
            pre.append(v <= r.hi)
        ops.declare(v, r.lo, r.hi)
        return v

    inv, inv2 = var("inventory_base", spec.inventory_base), var("inventory2_base", spec.inventory_base)
    pre.append(inv < inv2)
    sample = Sample(
        bb, ba, inv, inv2, var("sigma", spec.sigma), var("A", spec.A), var("k", spec.k), var("tau_s", spec.tau_s)
    )
    return sample, pre


def mid_of(best_bid_ticks: Any, best_ask_ticks: Any, tick: float) -> Any:
    """The mid exactly as ``MarketCore._on_book`` computes it."""
    return (best_bid_ticks + best_ask_ticks) * 0.5 * tick


class World:
    """One valuation of the inputs and the quotes the real pipeline makes from it (lazily)."""

    def __init__(self, spec: MarketSpec, sample: Sample, ops: Ops | Z3Ops, logic: Logic) -> None:
        self.spec = spec
        self.p = spec.quote
        self.s = sample
        self.ops: Any = ops
        self.L = logic
        self.tick = spec.quote.tick_size
        self.mid = mid_of(sample.best_bid_ticks, sample.best_ask_ticks, self.tick)
        self.per_bp = self.mid * _BPS
        self._quotes: dict[str, Quote] = {}

    def inputs(self, inventory_base: Any) -> QuoteInputs:
        """The inputs as ``MarketCore._requote`` builds them."""
        s = self.s
        return QuoteInputs(
            mid=self.mid,
            inventory_base=inventory_base,
            sigma=s.sigma,
            A=s.A,
            k=s.k,
            tau_s=s.tau_s,
            best_bid=s.best_bid_ticks * self.tick,
            best_ask=s.best_ask_ticks * self.tick,
        )

    def _quote(self, which: str, inventory_base: Any) -> Quote:
        if which not in self._quotes:
            self._quotes[which] = compute_quote(self.inputs(inventory_base), self.p, self.ops)
        return self._quotes[which]

    @property
    def quote(self) -> Quote:
        return self._quote("q", self.s.inventory_base)

    @property
    def quote2(self) -> Quote:
        return self._quote("q2", self.s.inventory2_base)

    @property
    def min_spread_ticks(self) -> Any:
        """M, written as step 6 of the pipeline computes it."""
        return self.ops.max(self.ops.ceil(self.per_bp * self.p.min_spread_bps / self.tick), 1)

    @property
    def max_distance(self) -> Any:
        return self.per_bp * self.p.max_distance_bps

    @property
    def tolerance_ticks(self) -> Any:
        """The tolerance band in ticks, as ``MarketCore._requote`` passes it to ``decide``."""
        return self.mid * self.spec.tolerance_bps * _BPS / self.tick


# --- the claims -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Property:
    name: str
    summary: str  # one line for the table
    statement: str  # the formal claim, in the notation of the module docstring
    claim: Callable[[World], Any]
    relational: bool = False  # reads quote2 (a second inventory)
    vacuous: Callable[[MarketSpec], str | None] = lambda spec: None
    show: Callable[[World], dict[str, Any]] = lambda w: {}


def _ordered(w: World) -> Any:
    return w.quote.bid_ticks < w.quote.ask_ticks


def _min_spread(w: World) -> Any:
    return w.quote.ask_ticks - w.quote.bid_ticks >= w.min_spread_ticks


def _post_only(w: World) -> Any:
    if not w.p.post_only:
        return w.L.true
    q, s = w.quote, w.s
    return w.L.and_(q.bid_ticks <= s.best_ask_ticks - 1, q.ask_ticks >= s.best_bid_ticks + 1)


def _max_distance(w: World) -> Any:
    q, t, lo, hi = w.quote, w.tick, w.mid - w.max_distance - w.tick, w.mid + w.max_distance + w.tick
    return w.L.and_(q.bid_ticks * t >= lo, q.bid_ticks * t <= hi, q.ask_ticks * t >= lo, q.ask_ticks * t <= hi)


def _inventory_skew(w: World) -> Any:
    q1, q2 = w.quote, w.quote2
    return w.L.and_(
        q2.bid_ticks <= q1.bid_ticks,
        q2.ask_ticks <= q1.ask_ticks,
        q2.bid_size_base <= q1.bid_size_base,
        q2.ask_size_base >= q1.ask_size_base,
    )


def _position_limit(w: World) -> Any:
    q, inv, cap, size, L = w.quote, w.s.inventory_base, w.p.max_position_base, w.p.order_size_base, w.L
    return L.and_(
        q.bid_size_base >= 0,
        q.bid_size_base <= size,
        q.ask_size_base >= 0,
        q.ask_size_base <= size,
        L.implies(q.bid_allowed, inv + q.bid_size_base <= cap),
        L.implies(q.ask_allowed, inv - q.ask_size_base >= -cap),
        L.implies(inv >= cap, L.not_(q.bid_allowed)),
        L.implies(inv <= -cap, L.not_(q.ask_allowed)),
    )


def _tolerance_band(w: World) -> Any:
    q = w.quote
    return 2 * w.tolerance_ticks < q.ask_ticks - q.bid_ticks


def _positive_prices(w: World) -> Any:
    return w.quote.bid_ticks >= 1


def _spread_cap(w: World) -> Any:
    q, s, t = w.quote, w.s, w.tick
    free = w.L.true
    if w.p.post_only:
        free = w.L.and_(q.bid_ticks < s.best_ask_ticks - 1, q.ask_ticks > s.best_bid_ticks + 1)
    return w.L.implies(free, (q.ask_ticks - q.bid_ticks) * t < w.per_bp * w.p.max_spread_bps + 2 * t)


def _mid_side(w: World) -> Any:
    q, inv, t, L = w.quote, w.s.inventory_base, w.tick, w.L
    return L.and_(L.implies(inv >= 0, q.bid_ticks * t < w.mid), L.implies(inv <= 0, q.ask_ticks * t > w.mid))


def _well_defined(w: World) -> Any:
    quotes = (w.quote, w.quote2)  # builds both, so every obligation is collected
    if isinstance(w.ops, Z3Ops):
        terms = [v for q in quotes for v in q]
        conditions = [c for _, c in w.ops.obligations + division_obligations(terms)]
        return z3.And(*conditions) if conditions else w.L.true
    sizes = [v for q in quotes for v in (q.bid_size_base, q.ask_size_base)]
    return all(math.isfinite(v) for v in sizes)


def _no_post_only(spec: MarketSpec) -> str | None:
    return None if spec.quote.post_only else "vacuous: post_only is off (quotes may take liquidity)"


def _show_quote_spread(w: World) -> dict[str, Any]:
    return {"min_spread_ticks": w.min_spread_ticks, "max_distance": w.max_distance}


def _show_tolerance(w: World) -> dict[str, Any]:
    return {"tolerance_ticks": w.tolerance_ticks, "half_spread_ticks": (w.quote.ask_ticks - w.quote.bid_ticks) / 2}


PROPERTIES: tuple[Property, ...] = (
    Property(
        "ordered",
        "bid < ask after rounding to ticks",
        "b < a",
        _ordered,
    ),
    Property(
        "min_spread",
        "ask - bid >= the minimum spread (in whole ticks)",
        "a - b >= M  (hence (a - b) * t >= per_bp * min_spread_bps)",
        _min_spread,
        show=_show_quote_spread,
    ),
    Property(
        "post_only",
        "a post-only quote never reaches the opposite best price",
        "post_only -> b <= ba - 1 and a >= bb + 1",
        _post_only,
        vacuous=_no_post_only,
    ),
    Property(
        "max_distance",
        "every quote within max distance (+1 tick of rounding) of the mid",
        "m - D - t <= b * t <= m + D + t and m - D - t <= a * t <= m + D + t",
        _max_distance,
        show=_show_quote_spread,
    ),
    Property(
        "inventory_skew",
        "more long inventory never raises the bid or the ask (nor the bid size; nor lowers the ask size)",
        "q1 < q2 (all else equal) -> b(q2) <= b(q1), a(q2) <= a(q1), bid_size(q2) <= bid_size(q1), "
        "ask_size(q2) >= ask_size(q1)",
        _inventory_skew,
        relational=True,
    ),
    Property(
        "position_limit",
        "no fill of a quoted size takes the position beyond max; the side at the limit is not quoted",
        "0 <= sizes <= s; bid_allowed -> q + bid_size <= Q; ask_allowed -> q - ask_size >= -Q; "
        "q >= Q -> not bid_allowed; q <= -Q -> not ask_allowed",
        _position_limit,
    ),
    Property(
        "tolerance_band",
        "tolerance band narrower than the half-spread: kept orders never cross each other",
        "tol < (a - b) / 2; so a resting bid kept within tol of b is below (a + b) / 2, below any resting "
        "ask kept within tol of a",
        _tolerance_band,
        show=_show_tolerance,
    ),
    Property(
        "positive_prices",
        "quote prices are at least one tick (never zero or negative)",
        "b >= 1 (hence a >= 2)",
        _positive_prices,
    ),
    Property(
        "spread_cap",
        "spread at most max spread + 2 ticks of rounding unless post-only had to widen it",
        "(not post_only or (b < ba - 1 and a > bb + 1)) -> (a - b) * t < per_bp * max_spread_bps + 2 * t",
        _spread_cap,
    ),
    Property(
        "mid_side",
        "never bids at/above the mid when flat or long, never offers at/below it when flat or short",
        "q >= 0 -> b * t < m and q <= 0 -> a * t > m",
        _mid_side,
    ),
    Property(
        "well_defined",
        "every division, log and sqrt of the pipeline is defined on the whole range",
        "every symbolic denominator != 0, log1p argument > -1, log argument > 0, sqrt argument >= 0",
        _well_defined,
        relational=True,
    ),
)
