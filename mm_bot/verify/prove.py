"""Running the proofs: one Z3 query per property, counterexamples replayed on the float path."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import z3

from mm_bot.config import AppConfig, MarketConfig
from mm_bot.errors import VerificationFailed
from mm_bot.strategy.numeric import FLOAT_OPS
from mm_bot.strategy.quote import Quote
from mm_bot.verify.properties import PROPERTIES, Property
from mm_bot.verify.report import MarketReport, PropertyResult, Status, VerifyReport, format_report
from mm_bot.verify.spec import MarketSpec, market_spec
from mm_bot.verify.world import BOOL_LOGIC, FIELDS, Z3_LOGIC, Sample, World, preferences, symbolic_sample
from mm_bot.verify.z3ops import Z3Ops, to_python

# Building the terms runs the real pipeline on Z3 values: a Python branch or math call on a market
# input there (the generic-code rule of ``numeric`` broken) surfaces as one of these.
_BUILD_ERRORS = (z3.Z3Exception, TypeError, ValueError, ArithmeticError)

_FIRST_TRY_MS = 400.0
_PREFERENCE_MS = 1000  # per attempt at a more readable counterexample (failures only)

# Chords per transcendental function, coarse to fine. Every level is sound, so the coarsest (the
# fastest) decides a proof; a counterexample that the float replay does not confirm may come from
# the slack of the coarse bounds and is looked for again with finer ones.
REFINEMENT = (1, 4, 16)


def verify_config(cfg: AppConfig) -> VerifyReport:
    """Every market of ``cfg``, each proof with ``cfg.verify.timeout_ms``."""
    start = time.perf_counter()
    markets = tuple(verify_market(m, cfg.verify.timeout_ms) for m in cfg.markets)
    return VerifyReport(markets, cfg.verify.timeout_ms, time.perf_counter() - start)


def ensure_verified(cfg: AppConfig) -> VerifyReport:
    """``verify_config``, raising ``VerificationFailed`` (with the formatted report) unless all hold."""
    report = verify_config(cfg)
    if not report.ok:
        raise VerificationFailed(format_report(report))
    return report


def verify_market(mcfg: MarketConfig, timeout_ms: int) -> MarketReport:
    """The properties for one configured market, over its ranges, on the params the bot trades with."""
    start = time.perf_counter()
    try:
        spec = market_spec(mcfg)
    except ValueError as exc:  # QuoteParams refuses the combination: nothing to prove
        result = PropertyResult(mcfg.symbol, "params", "failed", 0.0, None, str(exc), "valid quote params")
        return MarketReport(mcfg.symbol, (result,), time.perf_counter() - start, strategy=mcfg.strategy.kind)
    return verify_spec(spec, timeout_ms)


def verify_spec(spec: MarketSpec, timeout_ms: int) -> MarketReport:
    """The properties over ``spec``'s ranges (``verify_market`` builds the spec from the config)."""
    start = time.perf_counter()
    ops = Z3Ops()
    sample, pre = symbolic_sample(spec, ops)
    world = World(spec, sample, ops, Z3_LOGIC)
    ranges, kind = spec.ranges(), spec.quote.kind

    def report(results: list[PropertyResult]) -> MarketReport:
        return MarketReport(spec.market, tuple(results), time.perf_counter() - start, ranges, kind)

    try:
        claimed = [p for p in PROPERTIES if not (spec.policy_depths and p.model_claim)]
        claims = [(prop, prop.claim(world)) for prop in claimed]
    except _BUILD_ERRORS as exc:
        detail = (
            f"evaluating the quote pipeline on symbolic inputs raised {type(exc).__name__}: {exc} (a Python "
            "branch or math call on a market input breaks the generic-code rule of strategy.numeric)"
        )
        failure = PropertyResult(spec.market, "pipeline", "failed", 0.0, None, detail, "generic pipeline")
        return report([failure])
    bases = [pre + ops.axioms(pieces) for pieces in REFINEMENT]
    if _check(bases[0], timeout_ms)[0] == z3.unsat:
        detail = "the input ranges are contradictory: every proof would be vacuous"
        return report([PropertyResult(spec.market, "ranges", "failed", 0.0, None, detail, "input ranges")])
    return report([_prove(spec, prop, claim, bases, world, timeout_ms) for prop, claim in claims])


def _solver(timeout_ms: float, facts: list[Any], seed: int = 0) -> Any:
    solver = z3.Solver()
    solver.set("timeout", max(1, int(timeout_ms)))
    solver.set("random_seed", seed)
    solver.add(*facts)
    return solver


def _check(facts: list[Any], timeout_ms: int) -> tuple[Any, Any]:
    """(answer, solver) for ``facts``, with restarts: nonlinear search time is heavy-tailed.

    One seed may wander for seconds on a query that most seeds settle in milliseconds, so tries run
    with growing budgets (``_FIRST_TRY_MS``, doubling every two tries) and new random seeds until
    one is decisive or ``timeout_ms`` (the whole budget of the query) is spent.
    """
    deadline = time.perf_counter() + timeout_ms / 1e3
    budget, seed = _FIRST_TRY_MS, 0
    while True:
        left_ms = (deadline - time.perf_counter()) * 1e3
        solver = _solver(min(budget, left_ms), facts, seed)
        answer = solver.check()
        if answer != z3.unknown or left_ms <= budget:
            return answer, solver
        seed += 1
        budget *= 2 if seed % 2 == 0 else 1


def _conjuncts(claim: Any) -> list[Any]:
    """``claim`` split at its top-level And (also inside an Implies' conclusion).

    Each part is proved by its own query: the negation of a conjunction is a disjunction, which
    sends the nonlinear search in circles (e.g. inventory_skew without post-only times out as one
    query and takes milliseconds as four).
    """
    if z3.is_and(claim):
        return [part for child in claim.children() for part in _conjuncts(child)]
    if z3.is_implies(claim):
        premise, conclusion = claim.children()
        return [z3.Implies(premise, part) for part in _conjuncts(conclusion)]
    return [claim]


def _prove(
    spec: MarketSpec, prop: Property, claim: Any, bases: list[list[Any]], world: World, timeout_ms: int
) -> PropertyResult:
    seconds = 0.0
    gave_up: list[str] = []

    def result(status: Status, cx: dict[str, Any] | None = None, detail: str = "") -> PropertyResult:
        name, summary, statement = prop.name, prop.summary, prop.statement
        return PropertyResult(spec.market, name, status, seconds, cx, detail, summary, statement, prop.fix)

    for part in _conjuncts(claim):
        spurious: dict[str, Any] | None = None
        for base in bases:
            t0 = time.perf_counter()
            answer, solver = _check([*base, z3.Not(part)], timeout_ms)
            seconds += time.perf_counter() - t0
            if answer == z3.unsat:
                spurious = None
                break
            if answer == z3.unknown:
                gave_up.append(solver.reason_unknown())
                break
            model = _readable_model([*base, z3.Not(part)], preferences(spec, world.s), timeout_ms)
            cx = _counterexample(spec, prop, model or solver.model(), world)
            if cx["replay_violates"]:
                return result("failed", cx, cx.pop("replay_note", ""))
            spurious = cx  # maybe the slack of the bounds: try finer ones
        if spurious is not None:
            note = (
                "not proved: the solver's counterexample does not violate the property when replayed on "
                "the float path (slack in the transcendental bounds, or real and float rounding differ at "
                "a boundary)"
            )
            return result("unknown", spurious, note)
    if gave_up:
        return result("unknown", detail=f"solver gave up: {'; '.join(sorted(set(gave_up)))}")
    return result("proved", detail=prop.note(spec) or "")


def _readable_model(facts: list[Any], preferred: list[list[Any]], timeout_ms: int) -> Any:
    """A model of ``facts`` that also meets the first satisfiable set of ``preferred``, or None."""
    for extra in preferred:
        if not extra:
            continue
        answer, solver = _check([*facts, *extra], min(timeout_ms, _PREFERENCE_MS))
        if answer == z3.sat:
            return solver.model()
    return None


def _value(model: Any, x: Any) -> Any:
    if isinstance(x, int | float):
        return x
    return to_python(model.eval(x, model_completion=True))


def _price(ticks: int, tick: float) -> float:
    """ticks * tick without float noise in the report (100351.43, not 100351.43000000001)."""
    return float(Decimal(ticks) * Decimal(repr(tick)))


def _quote_values(quote: Quote, tick: float, value: Any) -> dict[str, Any]:
    bid, ask = value(quote.bid_ticks), value(quote.ask_ticks)
    return {
        "bid": _price(bid, tick),
        "ask": _price(ask, tick),
        "bid_ticks": bid,
        "ask_ticks": ask,
        "bid_size_base": float(value(quote.bid_size_base)),
        "ask_size_base": float(value(quote.ask_size_base)),
        "bid_allowed": bool(value(quote.bid_allowed)),
        "ask_allowed": bool(value(quote.ask_allowed)),
    }


def _counterexample(spec: MarketSpec, prop: Property, model: Any, world: World) -> dict[str, Any]:
    """The model's inputs, the solver's quote, and the same inputs replayed through ``FLOAT_OPS``."""
    values = {name: _value(model, getattr(world.s, name)) for name in FIELDS}
    floats = Sample(**values)
    replay = World(spec, floats, FLOAT_OPS, BOOL_LOGIC)
    tick = spec.quote.tick_size
    cx: dict[str, Any] = {
        "inventory_base": float(values["inventory_base"]),
        "sigma": float(values["sigma"]),
        "A": float(values["A"]),
        "k": float(values["k"]),
        "tau_s": float(values["tau_s"]),
        "mid": float(replay.mid),
        "best_bid": _price(values["best_bid_ticks"], tick),
        "best_ask": _price(values["best_ask_ticks"], tick),
        "best_bid_ticks": values["best_bid_ticks"],
        "best_ask_ticks": values["best_ask_ticks"],
    }
    if prop.relational:
        cx["inventory2_base"] = float(values["inventory2_base"])
    solver_value = lambda x: _value(model, x)  # noqa: E731
    cx["solver"] = _quote_values(world.quote, tick, solver_value)
    if prop.relational:
        cx["solver2"] = _quote_values(world.quote2, tick, solver_value)
    try:
        holds = bool(prop.claim(replay))
    except (ValueError, ArithmeticError) as exc:  # the float path itself fails on these inputs
        cx["replay_violates"] = True
        cx["replay_note"] = f"the float path raises {type(exc).__name__}: {exc}"
        return cx
    cx["replay"] = _quote_values(replay.quote, tick, lambda x: x)
    if prop.relational:
        cx["replay2"] = _quote_values(replay.quote2, tick, lambda x: x)
    cx["values"] = prop.show(replay)
    cx["replay_violates"] = not holds
    return cx
