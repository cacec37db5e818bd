"""Valuations of the market inputs (``World``): symbolic under proof, concrete on replay.

A ``World`` runs the real ``compute_quote`` on its inputs with its backend: Z3 terms with ``Z3Ops``
and Z3 connectives (``Z3_LOGIC``) when proving, floats with ``FLOAT_OPS`` and Python connectives
(``BOOL_LOGIC``) when a counterexample is replayed on the trading path. The inputs are built the
way ``MarketCore`` builds them (mid from the book's ticks, best prices as ticks * tick).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import z3

from mm_bot.strategy.numeric import Ops
from mm_bot.strategy.quote import Quote, QuoteInputs, compute_quote
from mm_bot.verify.spec import MarketSpec, Range
from mm_bot.verify.z3ops import Z3Ops

_BPS = 1e-4


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

    ``inventory2_base`` is the second inventory of the relational claims (which order the two);
    ``bid_depth2``/``ask_depth2`` are the depths there (kind "depths" only, else 0.0).
    """

    best_bid_ticks: Any
    best_ask_ticks: Any
    inventory_base: Any
    inventory2_base: Any
    sigma: Any
    A: Any
    k: Any
    tau_s: Any
    bid_depth: Any = 0.0
    ask_depth: Any = 0.0
    bid_depth2: Any = 0.0
    ask_depth2: Any = 0.0


FIELDS = tuple(f.name for f in dataclasses.fields(Sample))


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
    sample = Sample(
        bb,
        ba,
        inv,
        inv2,
        var("sigma", spec.sigma),
        var("A", spec.A),
        var("k", spec.k),
        var("tau_s", spec.tau_s),
    )
    if spec.exact_glft_depths or spec.policy_depths:
        depths = z3.Reals("bid_depth ask_depth bid_depth2 ask_depth2")
        sample = dataclasses.replace(sample, **dict(zip(FIELDS[-4:], depths, strict=True)))
        if spec.policy_depths:
            pre += [d >= 0 for d in depths]
    return sample, pre


def preferences(spec: MarketSpec, sample: Sample) -> list[list[Any]]:
    """Extra constraints that make a counterexample easier to act on, most specific first: a touch
    of one or two ticks, then one no wider than the max spread, and inventories on the lot grid (the
    only positions the bot can hold). Never used in a proof, only to pick among violations."""
    bb, ba, t = sample.best_bid_ticks, sample.best_ask_ticks, spec.quote.tick_size
    grid: list[Any] = []
    if spec.lot_size > 0.0:
        for name in ("inventory_base", "inventory2_base"):
            v = getattr(sample, name)
            if not isinstance(v, float | int):
                grid.append(v == z3.ToReal(z3.Int(f"{name}_lots")) * spec.lot_size)
    within_max_spread = (ba - bb) * t <= mid_of(bb, ba, t) * _BPS * spec.quote.max_spread_bps
    return [[ba - bb <= 2, *grid], [within_max_spread, *grid], grid]


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
        self._quotes: dict[bool, Quote] = {}

    def inputs(self, second: bool = False) -> QuoteInputs:
        """The inputs as ``MarketCore._requote`` builds them (at the second inventory if ``second``)."""
        s = self.s
        return QuoteInputs(
            mid=self.mid,
            inventory_base=s.inventory2_base if second else s.inventory_base,
            sigma=s.sigma,
            A=s.A,
            k=s.k,
            tau_s=s.tau_s,
            best_bid=s.best_bid_ticks * self.tick,
            best_ask=s.best_ask_ticks * self.tick,
            bid_depth=s.bid_depth2 if second else s.bid_depth,
            ask_depth=s.ask_depth2 if second else s.ask_depth,
        )

    def _quote(self, second: bool) -> Quote:
        if second not in self._quotes:
            self._quotes[second] = compute_quote(self.inputs(second), self.p, self.ops)
        return self._quotes[second]

    @property
    def quote(self) -> Quote:
        return self._quote(False)

    @property
    def quote2(self) -> Quote:
        return self._quote(True)

    def depth_facts(self, relational: bool) -> Any:
        """What the exact GLFT table guarantees (GLFT 2013: the bid depth increases and the ask depth
        decreases with inventory, and delta_a(q) = delta_b(-q)), for the claims that depend on the
        model: monotone between the two inventories (``relational``), or the ask no deeper than the
        bid when long and the reverse when short. True for the other kinds."""
        if not self.spec.exact_glft_depths:
            return self.L.true
        s, L = self.s, self.L
        if relational:
            return L.and_(s.bid_depth <= s.bid_depth2, s.ask_depth >= s.ask_depth2)
        return L.and_(
            L.implies(s.inventory_base >= 0, s.ask_depth <= s.bid_depth),
            L.implies(s.inventory_base <= 0, s.bid_depth <= s.ask_depth),
        )

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
