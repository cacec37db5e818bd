"""The quote pipeline is backend-generic: ``compute_quote`` runs unchanged on Z3 terms, and Z3 proves
invariants I1-I6 of ``mm_bot.strategy.quote`` over a small box of inputs.

The Z3 backend here is a throwaway for this test (``mm_bot.verify`` owns the real one). It is sound:
log1p/log/exp/sqrt become fresh reals constrained only by true facts (x/(1+x) <= ln(1+x) <= x,
exp(x) >= 1 + x, r >= 0 with r^2 = x), so "unsat" on the negated claim is a proof for the real functions
too. Fresh reals are memoised by the argument's term id, so two evaluations that share an argument
(e.g. the half-spread at two inventories) share the value, which relational claims such as
monotonicity need.
"""

from __future__ import annotations

from typing import Any

import pytest
import z3

from mm_bot.strategy.quote import QuoteInputs, QuoteParams, compute_quote

TICK = 0.5


class Z3Ops:
    """Ops over z3 terms; ``side`` collects the facts about the fresh reals."""

    def __init__(self) -> None:
        self.side: list[Any] = []
        self._memo: dict[tuple[str, int], Any] = {}

    def _fresh(self, name: str, x: Any) -> tuple[Any, bool]:
        x = z3.RealVal(x) if isinstance(x, float | int) else x
        key = (name, x.get_id())
        if key in self._memo:
            return self._memo[key], False
        y = z3.Real(f"{name}_{len(self._memo)}")
        self._memo[key] = y
        return y, True

    def log1p(self, x: Any) -> Any:
        y, new = self._fresh("log1p", x)
        if new:
            self.side += [x > -1, x / (1 + x) <= y, y <= x]
        return y

    def log(self, x: Any) -> Any:
        return self.log1p(x - 1)

    def exp(self, x: Any) -> Any:
        y, new = self._fresh("exp", x)
        if new:
            self.side += [y > 0, y >= 1 + x]
        return y

    def sqrt(self, x: Any) -> Any:
        y, new = self._fresh("sqrt", x)
        if new:
            self.side += [y >= 0, y * y == x]
        return y

    def pow(self, x: Any, y: Any) -> Any:
        return self.exp(y * self.log(x))

    def floor(self, x: Any) -> Any:
        return z3.ToInt(x)

    def ceil(self, x: Any) -> Any:
        return -z3.ToInt(-x)

    def min(self, a: Any, b: Any) -> Any:
        return z3.If(a <= b, a, b)

    def max(self, a: Any, b: Any) -> Any:
        return z3.If(a >= b, a, b)

    def clamp_le(self, x: Any, lo: Any, hi: Any) -> Any:
        return self.min(self.max(x, lo), hi)

    def clamp_ge(self, x: Any, lo: Any, hi: Any) -> Any:
        return self.max(self.min(x, hi), lo)

    def ite(self, cond: Any, a: Any, b: Any) -> Any:
        return z3.If(cond, a, b)

    def lt(self, a: Any, b: Any) -> Any:
        return a < b

    def le(self, a: Any, b: Any) -> Any:
        return a <= b

    def gt(self, a: Any, b: Any) -> Any:
        return a > b

    def ge(self, a: Any, b: Any) -> Any:
        return a >= b


def _params(kind: str, post_only: bool = True) -> QuoteParams:
    return QuoteParams(
        kind=kind,  # type: ignore[arg-type]
        gamma=0.1,
        order_size_base=1.0,
        max_position_base=5.0,
        tick_size=TICK,
        min_spread_bps=2.0,
        max_spread_bps=100.0,
        max_distance_bps=50.0,
        post_only=post_only,
        fixed_half_spread_bps=3.0,
    )


def _setup(kind: str, post_only: bool = True) -> tuple[Z3Ops, Any, Any, list[Any], dict[str, Any]]:
    """Two symbolic quotes that differ only in inventory (inv2 >= inv), and the box preconditions."""
    ops = Z3Ops()
    mid, inv, inv2, sigma, a, k, tau, bd, ad = z3.Reals("mid inv inv2 sigma A k tau bid_depth ask_depth")
    bbt, bat = z3.Ints("best_bid_ticks best_ask_ticks")
    p = _params(kind, post_only)
    q1 = compute_quote(QuoteInputs(mid, inv, sigma, a, k, tau, bbt * TICK, bat * TICK, bd, ad), p, ops)
    q2 = compute_quote(QuoteInputs(mid, inv2, sigma, a, k, tau, bbt * TICK, bat * TICK, bd, ad), p, ops)
    pre = [
        mid >= 90,
        mid <= 110,
        inv >= -10,
        inv <= 10,
        inv2 >= inv,
        inv2 <= 10,
        sigma >= 0,
        sigma <= 2,
        a >= 0.5,
        a <= 2,
        k >= 0.5,
        k <= 2,
        tau >= 0,
        tau <= 60,
        bd >= -5,
        bd <= 5,
        ad >= -5,
        ad <= 5,
    ]
    return ops, q1, q2, pre, {"mid": mid, "inv": inv, "bbt": bbt, "bat": bat}


def _prove(ops: Z3Ops, pre: list[Any], claim: Any) -> None:
    solver = z3.Solver()
    solver.set("timeout", 60_000)
    solver.add(*pre, *ops.side)
    assert solver.check() == z3.sat, "preconditions are contradictory: the proof would be vacuous"
    solver.add(z3.Not(claim))
    result = solver.check()
    assert result == z3.unsat, f"counterexample: {solver.model() if result == z3.sat else result}"


@pytest.mark.parametrize("kind", ["as", "glft", "fixed", "depths"])
def test_z3_ordered_min_spread_post_only_and_position(kind: str) -> None:
    """I1, I2, I3 (any book) and I6 hold for every input in the box, on the code that trades."""
    ops, q, _, pre, v = _setup(kind)
    mid, inv, bbt, bat = v["mid"], v["inv"], v["bbt"], v["bat"]
    min_ticks = z3.If(-z3.ToInt(-(mid * 2e-4 / TICK)) >= 1, -z3.ToInt(-(mid * 2e-4 / TICK)), 1)
    _prove(ops, pre, q.bid_ticks < q.ask_ticks)
    _prove(ops, pre, q.ask_ticks - q.bid_ticks >= min_ticks)
    _prove(ops, pre, z3.And(q.bid_ticks <= bat - 1, q.ask_ticks >= bbt + 1))
    _prove(
        ops,
        pre,
        z3.And(
            z3.Implies(q.bid_allowed, inv + q.bid_size_base <= 5.0),
            z3.Implies(q.ask_allowed, inv - q.ask_size_base >= -5.0),
            q.bid_size_base >= 0,
            q.bid_size_base <= 1.0,
            q.ask_size_base >= 0,
            q.ask_size_base <= 1.0,
        ),
    )


@pytest.mark.parametrize(("kind", "post_only"), [("as", True), ("glft", True), ("fixed", False)])
def test_z3_distance_and_inventory_monotonicity(kind: str, post_only: bool) -> None:
    """I4 (consistent book on the grid) and I5 (more inventory never raises either quote)."""
    ops, q1, q2, pre, v = _setup(kind, post_only)
    mid, bbt, bat = v["mid"], v["bbt"], v["bat"]
    d = mid * 50e-4
    book = [bbt * TICK <= mid, mid <= bat * TICK]
    within = z3.And(q1.bid_ticks * TICK >= mid - d - TICK, q1.ask_ticks * TICK <= mid + d + TICK)
    _prove(ops, pre + book, within)
    _prove(ops, pre, z3.And(q2.bid_ticks <= q1.bid_ticks, q2.ask_ticks <= q1.ask_ticks))


def test_z3_finds_a_real_counterexample() -> None:
    """The harness is not vacuous: a false claim (the bid always rests below the mid) is refuted."""
    ops, q, _, pre, v = _setup("as")
    solver = z3.Solver()
    solver.add(*pre, *ops.side, z3.Not(q.bid_ticks * TICK < v["mid"]))
    assert solver.check() == z3.sat
