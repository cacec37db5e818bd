"""What is proved: the claims (``PROPERTIES``) over one market's ranges (``spec.MarketSpec``).

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

from mm_bot.verify.spec import MarketSpec
from mm_bot.verify.world import World
from mm_bot.verify.z3ops import Z3Ops, division_obligations

_CODE_BUG = "the quote code breaks it for these inputs: do not trade this build (strategy/quote.py)"


@dataclass(frozen=True, slots=True)
class Property:
    name: str
    summary: str  # one line for the table
    statement: str  # the formal claim, in the notation of the module docstring
    claim: Callable[[World], Any]
    relational: bool = False  # reads quote2 (a second inventory)
    note: Callable[[MarketSpec], str | None] = lambda spec: None  # shown beside a proof
    show: Callable[[World], dict[str, Any]] = lambda w: {}  # values that explain a counterexample
    fix: str = _CODE_BUG  # what to do when it fails
    model_claim: bool = False  # a claim about the strategy's model: not made for an agent's depths


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
    return w.L.and_(
        q.bid_ticks * t >= lo, q.bid_ticks * t <= hi, q.ask_ticks * t >= lo, q.ask_ticks * t <= hi
    )


def _inventory_skew(w: World) -> Any:
    q1, q2 = w.quote, w.quote2
    monotone = w.L.and_(
        q2.bid_ticks <= q1.bid_ticks,
        q2.ask_ticks <= q1.ask_ticks,
        q2.bid_size_base <= q1.bid_size_base,
        q2.ask_size_base >= q1.ask_size_base,
    )
    more_long = w.L.and_(w.s.inventory_base < w.s.inventory2_base, w.depth_facts(relational=True))
    return w.L.implies(more_long, monotone)


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
    sides = L.and_(L.implies(inv >= 0, q.bid_ticks * t < w.mid), L.implies(inv <= 0, q.ask_ticks * t > w.mid))
    return L.implies(w.depth_facts(relational=False), sides)


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


def _assumes_table(spec: MarketSpec) -> str | None:
    if not spec.exact_glft_depths:
        return None
    return "for every depth pair the exact GLFT table can give (monotone in inventory, mirror-symmetric)"


def _show_quote_spread(w: World) -> dict[str, Any]:
    return {"min_spread_ticks": w.min_spread_ticks, "max_distance": w.max_distance}


def _show_tolerance(w: World) -> dict[str, Any]:
    return {
        "tolerance_ticks": w.tolerance_ticks,
        "half_spread_ticks": (w.quote.ask_ticks - w.quote.bid_ticks) / 2,
    }


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
        note=_no_post_only,
    ),
    Property(
        "max_distance",
        "every quote within max distance (+1 tick of rounding) of the mid",
        "m - D - t <= b * t <= m + D + t and m - D - t <= a * t <= m + D + t",
        _max_distance,
        show=_show_quote_spread,
        fix="raise quoting.max_distance_bps to at least min_spread_bps / 2 (if it is, the code is wrong)",
    ),
    Property(
        "inventory_skew",
        "more long inventory never raises the bid or the ask (nor the bid size; nor lowers the ask size)",
        "q1 < q2 (all else equal) -> b(q2) <= b(q1), a(q2) <= a(q1), bid_size(q2) <= bid_size(q1), "
        "ask_size(q2) >= ask_size(q1)",
        _inventory_skew,
        relational=True,
        note=_assumes_table,
        model_claim=True,
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
        fix="lower quoting.tolerance_bps below min_spread_bps / 2",
    ),
    Property(
        "positive_prices",
        "quote prices are at least one tick (never zero or negative)",
        "b >= 1 (hence a >= 2)",
        _positive_prices,
        fix="raise verify.mid_min, lower quoting.max_distance_bps, or check tick_size",
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
        note=_assumes_table,
        model_claim=True,
    ),
    Property(
        "well_defined",
        "every division, log and sqrt of the pipeline is defined on the whole range",
        "every symbolic denominator != 0, log1p argument > -1, log argument > 0, sqrt argument >= 0",
        _well_defined,
        relational=True,
        fix="check strategy.gamma > 0 and the intensity (A, k > 0) and volatility ranges",
    ),
)
