"""``mm_bot.verify``: Z3 proves the quote invariants of the configured markets on the code that trades;
broken configs and mutated quote code fail with counterexamples that the float path confirms."""

from __future__ import annotations

import dataclasses
import json
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import z3

import mm_bot.verify.prove as prove_module
from mm_bot.config import AppConfig, MarketConfig, load_config
from mm_bot.engine.market import MarketCore, trading_quote_params
from mm_bot.engine.orders import ClientOrderIds
from mm_bot.errors import VerificationFailed
from mm_bot.strategy.glft import exact_depth_table, glft_half_spread_and_skew
from mm_bot.strategy.quote import Quote, QuoteInputs, QuoteParams, compute_quote
from mm_bot.verify import (
    PROPERTIES,
    MarketReport,
    Property,
    PropertyResult,
    VerifyReport,
    Z3Ops,
    ensure_verified,
    format_report,
    market_spec,
    verify_config,
    verify_market,
    verify_spec,
)
from mm_bot.verify.spec import MarketSpec
from mm_bot.verify.z3ops import exact
from mm_bot.wiring import market_params

CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"
M = "MM_BOT__markets__0__"
TIMEOUT_MS = 30_000
SESSION = {
    M + "horizon__kind": "session",
    M + "horizon__session_length_s": "3600",
    M + "horizon__at_end": "flatten",
}


def market(environ: dict[str, str] | None = None) -> MarketConfig:
    return load_config(CONFIG, environ or {}).markets[0]


def result(report: MarketReport, name: str) -> PropertyResult:
    return next(r for r in report.results if r.name == name)


def unchecked(params: QuoteParams, **changes: Any) -> QuoteParams:
    """QuoteParams with ``changes`` applied WITHOUT its consistency check (to show the prover catches
    what the check would have refused)."""
    out = object.__new__(QuoteParams)
    for f in dataclasses.fields(QuoteParams):
        object.__setattr__(out, f.name, changes.get(f.name, getattr(params, f.name)))
    return out


def replay(params: QuoteParams, cx: dict[str, Any], inventory: str = "inventory_base") -> Quote:
    """The counterexample's inputs through the float pipeline, built here as ``MarketCore`` does."""
    tick = params.tick_size
    bb, ba = cx["best_bid_ticks"], cx["best_ask_ticks"]
    inputs = QuoteInputs(
        (bb + ba) * 0.5 * tick,
        cx[inventory],
        cx["sigma"],
        cx["A"],
        cx["k"],
        cx["tau_s"],
        bb * tick,
        ba * tick,
    )
    return compute_quote(inputs, params)


@pytest.fixture(scope="module")
def default_report() -> VerifyReport:
    return verify_config(load_config(CONFIG, {}))


# --- the default config -------------------------------------------------------------------------


@pytest.mark.parametrize("name", [p.name for p in PROPERTIES])
def test_default_config_proves_every_property(default_report: VerifyReport, name: str) -> None:
    """Each property holds for every input in the default market's ranges (Z3: unsat)."""
    [market_report] = default_report.markets
    r = result(market_report, name)
    assert (r.status, r.counterexample) == ("proved", None), format_report(default_report)


def test_report_table_and_json_shape(default_report: VerifyReport) -> None:
    """The report is a readable table and JSON with stable field names."""
    assert default_report.ok
    text = format_report(default_report)
    assert all(p.name in text for p in PROPERTIES) and "BTC/USDT" in text and "proved" in text
    doc = json.loads(json.dumps(default_report.to_json()))
    assert set(doc) == {"ok", "seconds", "timeout_ms", "markets"} and doc["ok"] is True
    [m] = doc["markets"]
    assert set(m) == {"market", "strategy", "ok", "seconds", "ranges", "results"}
    assert m["ranges"]["mid"] == [10000.0, 200000.0] and m["ranges"]["sigma"] == [1.0, 50.0]
    row = m["results"][0]
    assert set(row) == {
        "market",
        "property",
        "status",
        "seconds",
        "summary",
        "statement",
        "detail",
        "fix",
        "counterexample",
    }
    assert [r["property"] for r in m["results"]] == [p.name for p in PROPERTIES]


VARIANTS = {
    "glft": {M + "strategy__kind": "glft"},
    "fixed": {M + "strategy__kind": "fixed"},
    "as, estimated A and k": {M + "intensity__source": "estimated"},
    "as, fixed sigma": {M + "volatility__source": "fixed"},
    "as, session horizon": SESSION,
    "glft, session horizon (exact depth table)": {M + "strategy__kind": "glft", **SESSION},
    "glft, estimated, daily window": {
        M + "strategy__kind": "glft",
        M + "intensity__source": "estimated",
        M + "horizon__kind": "daily",
        M + "horizon__daily_start_utc": "22:00",
        M + "horizon__daily_end_utc": "06:00",
        M + "horizon__at_end": "cancel_only",
    },
    "not post-only": {M + "quoting__post_only": "false"},
    "coarse tick, min spread below one tick": {M + "tick_size": "100", M + "quoting__max_spread_bps": "250"},
}


@pytest.mark.parametrize("environ", VARIANTS.values(), ids=VARIANTS.keys())
def test_other_strategies_and_ranges_are_proved(environ: dict[str, str]) -> None:
    """Every strategy kind, estimator and horizon is proved over its ranges; a min spread below one
    tick is still a whole tick apart (the pipeline's integer minimum spread)."""
    report = verify_market(market(environ), TIMEOUT_MS)
    assert report.ok, format_report(VerifyReport((report,), TIMEOUT_MS, report.seconds))


def test_ranges_come_from_the_config() -> None:
    """The proofs cover the configured ranges: sigma's clamps, A/k clamps, the hard position, tau."""
    spec = market_spec(market({M + "intensity__source": "estimated", **SESSION}))
    assert (spec.sigma.lo, spec.sigma.hi) == (1.0, 50.0)
    assert (spec.A.lo, spec.A.hi, spec.k.lo, spec.k.hi) == (0.05, 10.0, 0.02, 2.0)
    assert (spec.inventory_base.lo, spec.inventory_base.hi) == pytest.approx((-0.02, 0.02))
    assert (spec.tau_s.lo, spec.tau_s.hi) == (0.0, 3600.0)
    spec = market_spec(market({M + "volatility__source": "fixed"}))
    assert spec.sigma.constant and spec.tau_s.constant and spec.A.constant
    assert spec.quote == market_params(market({M + "volatility__source": "fixed"})).quote


def test_trading_params_agree_with_the_core() -> None:
    """verify sees the QuoteParams the core really quotes with (GLFT + session: the exact table)."""
    for environ, exact_depths in (({}, False), ({M + "strategy__kind": "glft", **SESSION}, True)):
        params = market_params(market(environ))
        core = MarketCore(params, ClientOrderIds("mmt"), 0)
        quote, uses_table = trading_quote_params(params)
        assert uses_table is exact_depths
        assert quote == core.quoter.quote_params


def test_exact_glft_table_meets_the_assumed_facts() -> None:
    """The depth facts the 'depths' proofs assume (bid depth non-decreasing and ask depth non-increasing
    in inventory, mirror-symmetric) hold on the exact table over sampled inputs (a check, not a proof:
    GLFT 2013 prove the monotonicity)."""
    rng = random.Random(7)
    for _ in range(20):
        sigma, a, k = rng.uniform(1, 50), rng.uniform(0.05, 10), rng.uniform(0.02, 2)
        table = exact_depth_table(10, 0.001, sigma, a, k, rng.uniform(0, 3600))
        qs = np.linspace(-10, 10, 81)
        bid, ask = np.array([table.depths_at(q) for q in qs]).T
        assert np.all(np.diff(bid) >= -1e-9) and np.all(np.diff(ask) <= 1e-9)
        assert np.all(ask[qs >= 0] <= bid[qs >= 0] + 1e-9) and np.all(bid[qs <= 0] <= ask[qs <= 0] + 1e-9)


# --- broken configs -------------------------------------------------------------------------------


def test_tolerance_band_wider_than_half_spread_fails_with_a_real_counterexample() -> None:
    """tolerance 0.6 bps with a 1 bps min spread (config validation bypassed): a resting order kept
    within the band can reach the middle of our own quote. The counterexample is real on floats."""
    m = market()
    wide = m.quoting.model_construct(**{**m.quoting.model_dump(), "tolerance_bps": 0.6})
    report = verify_market(m.model_copy(update={"quoting": wide}), TIMEOUT_MS)
    r = result(report, "tolerance_band")
    assert r.status == "failed" and r.counterexample is not None
    cx = r.counterexample
    q = replay(market_params(m).quote, cx)
    tick = m.tick_size
    tolerance_ticks = (cx["best_bid_ticks"] + cx["best_ask_ticks"]) * 0.5 * tick * 0.6 * 1e-4 / tick
    assert 2 * tolerance_ticks >= q.ask_ticks - q.bid_ticks
    assert (q.bid_ticks, q.ask_ticks) == (cx["replay"]["bid_ticks"], cx["replay"]["ask_ticks"])
    assert [x.name for x in report.results if not x.ok] == ["tolerance_band"]


def test_max_distance_tighter_than_the_spread_fails() -> None:
    """max distance 0.2 bps under a 1 bps min spread: QuoteParams refuses it, and the prover, given
    the params anyway, finds quotes beyond the fat-finger guard that the float path confirms."""
    m = market()
    tight = m.quoting.model_construct(**{**m.quoting.model_dump(), "max_distance_bps": 0.2})
    refused = verify_market(m.model_copy(update={"quoting": tight}), TIMEOUT_MS)
    assert [(x.name, x.status) for x in refused.results] == [("params", "failed")]
    assert "max_distance_bps" in refused.results[0].detail

    spec = market_spec(m)
    bad = unchecked(spec.quote, max_distance_bps=0.2)
    r = result(verify_spec(dataclasses.replace(spec, quote=bad), TIMEOUT_MS), "max_distance")
    assert r.status == "failed" and r.counterexample is not None
    cx = r.counterexample
    q = replay(bad, cx)
    mid, t = cx["mid"], bad.tick_size
    d = mid * 0.2e-4
    assert not (mid - d - t <= q.bid_ticks * t and q.ask_ticks * t <= mid + d + t)


def test_coarse_tick_and_wide_distance_quotes_a_zero_price() -> None:
    """A coarse tick (100) near the bottom of the mid range with a 90% fat-finger guard: a long
    inventory skew rounds the bid down to tick 0, a price the bot would silently not send."""
    environ = {
        M + "tick_size": "100",
        M + "verify__mid_min": "150",
        M + "verify__mid_max": "1000",
        "MM_BOT__paper__synthetic__markets__BTC/USDT__s0": "500",
        M + "quoting__max_distance_bps": "9000",
        M + "quoting__max_spread_bps": "15000",  # two ticks at mid_min are 13,333 bps
        M + "quoting__min_spread_bps": "0.5",
        M + "quoting__tolerance_bps": "0.2",
    }
    m = market(environ)
    report = verify_market(m, TIMEOUT_MS)
    r = result(report, "positive_prices")
    assert r.status == "failed" and r.counterexample is not None
    assert replay(market_params(m).quote, r.counterexample).bid_ticks <= 0
    assert result(report, "min_spread").ok and result(report, "ordered").ok


def test_ensure_verified_refuses_a_broken_config() -> None:
    """The guard `run` uses: the default passes, a failing config raises with the table."""
    assert ensure_verified(load_config(CONFIG, {})).ok
    cfg = load_config(CONFIG, {})
    m = cfg.markets[0]
    wide = m.quoting.model_construct(**{**m.quoting.model_dump(), "tolerance_bps": 0.6})
    broken = AppConfig.model_construct(**{**dict(cfg), "markets": [m.model_copy(update={"quoting": wide})]})
    with pytest.raises(VerificationFailed, match="tolerance_band"):
        ensure_verified(broken)


# --- mutations of the quote code --------------------------------------------------------------------


def test_flipped_inventory_skew_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Flipping the sign of the A-S reservation price skew (in the code quote.py calls) fails the
    inventory-skew proof: the proof reads the real code. The counterexample is real under the mutant."""
    import mm_bot.strategy.quote as quote_module

    def flipped(mid: float, inventory_lots: float, gamma: float, sigma: float, tau_s: float) -> float:
        return mid + inventory_lots * gamma * sigma * sigma * tau_s

    monkeypatch.setattr(quote_module, "reservation_price", flipped)
    m = market()
    report = verify_market(m, TIMEOUT_MS)
    r = result(report, "inventory_skew")
    assert r.status == "failed" and r.counterexample is not None
    cx = r.counterexample
    assert cx["inventory_base"] < cx["inventory2_base"]
    p = market_params(m).quote
    q1, q2 = replay(p, cx), replay(p, cx, "inventory2_base")
    assert q2.bid_ticks > q1.bid_ticks or q2.ask_ticks > q1.ask_ticks
    assert result(report, "mid_side").status == "failed"
    assert result(report, "ordered").ok and result(report, "position_limit").ok


def test_flipped_glft_skew_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same for GLFT: a skew with the wrong sign fails inventory_skew."""
    import mm_bot.strategy.quote as quote_module

    def flipped(sigma: float, c1: float, c2: float, delta_lots: float = 1.0) -> tuple[float, float]:
        half, skew = glft_half_spread_and_skew(sigma, c1, c2, delta_lots)
        return half, -skew

    monkeypatch.setattr(quote_module, "glft_half_spread_and_skew", flipped)
    report = verify_market(market({M + "strategy__kind": "glft"}), TIMEOUT_MS)
    assert result(report, "inventory_skew").status == "failed"


def test_a_python_branch_on_market_data_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """Code that branches in Python on a market input cannot be proved: verification fails loudly."""
    import mm_bot.strategy.quote as quote_module

    def branching(mid: float, inventory_lots: float, gamma: float, sigma: float, tau_s: float) -> float:
        return mid - 1.0 if inventory_lots > 0 else mid

    monkeypatch.setattr(quote_module, "reservation_price", branching)
    report = verify_market(market(), TIMEOUT_MS)
    assert [(x.name, x.status) for x in report.results] == [("pipeline", "failed")]
    assert not report.ok


# --- the solver's side -----------------------------------------------------------------------------


def test_a_counterexample_the_floats_do_not_confirm_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    """ln(1+x) >= x - x^2/2 is true, but closer than the linear bounds can resolve for small x: the
    solver's 'counterexample' does not replay, so the status is unknown (not proved, not failed)."""

    def claim(w: Any) -> Any:
        x = w.p.gamma / w.s.k
        return w.ops.log1p(x) >= x - x * x / 2

    prop = Property("log1p_lower", "ln(1+x) >= x - x^2/2", "", claim)
    monkeypatch.setattr(prove_module, "PROPERTIES", (prop,))
    report = verify_market(market({M + "intensity__source": "estimated"}), TIMEOUT_MS)
    [r] = report.results
    assert r.status == "unknown" and not r.ok and r.counterexample is not None
    assert r.counterexample["replay_violates"] is False and "not proved" in r.detail


@pytest.mark.parametrize("pieces", [1, 4, 16])
@pytest.mark.parametrize(
    ("fn", "real", "lo", "hi"),
    [
        ("log1p", math.log1p, 0.0005, 0.05),
        ("log1p", math.log1p, -0.5, 30.0),
        ("exp", math.exp, -3.0, 40.0),
        ("sqrt", math.sqrt, 0.0, 1e6),
        ("log", math.log, 0.01, 100.0),
    ],
)
def test_transcendental_bounds_are_sound(fn: str, real: Any, lo: float, hi: float, pieces: int) -> None:
    """The true function value satisfies every bound Z3Ops asserts, at breakpoints and in between
    (the true value is within an ulp of libm's: some value that close must satisfy them all)."""
    ops = Z3Ops()
    x = z3.Real("x")
    ops.declare(x, lo, hi)
    y = getattr(ops, fn)(x)
    axioms = ops.axioms(pieces)
    rng = random.Random(1)
    grid = [lo + (hi - lo) * i / pieces for i in range(pieces)]
    points = [lo, hi, *grid, *(rng.uniform(lo, hi) for _ in range(20))]
    points += [lo - 1.0, hi * 2 + 1] if fn == "exp" else [hi * 2 + 1]
    for v in points:
        solver = z3.Solver()
        near = real(v)
        lo_y, hi_y = math.nextafter(near, -math.inf), math.nextafter(near, math.inf)
        solver.add(*axioms, x == exact(v), y >= exact(lo_y), y <= exact(hi_y))
        assert solver.check() == z3.sat, (fn, v)


def test_bounds_pin_the_value_down() -> None:
    """The bounds are not vacuous: with 16 pieces ln(1+x) is known to ~1e-6 on its range."""
    ops = Z3Ops()
    x = z3.Real("x")
    ops.declare(x, 0.0005, 0.05)
    y = ops.log1p(x)
    solver = z3.Solver()
    solver.add(*ops.axioms(16), x == exact(0.0123))
    solver.add(z3.Or(y > exact(math.log1p(0.0123) + 1e-6), y < exact(math.log1p(0.0123) - 1e-6)))
    assert solver.check() == z3.unsat


def test_unknown_counts_as_failure() -> None:
    """A property that was not proved (timeout) does not let the bot start."""
    r = PropertyResult("X/Y", "ordered", "unknown", 1.0, None, "solver gave up: timeout")
    report = VerifyReport((MarketReport("X/Y", (r,), 1.0),), 10, 1.0)
    assert not report.ok and "NOT proved" in format_report(report)


def test_spec_can_be_built_by_hand() -> None:
    """verify_spec takes hand-built params and ranges (here the defaults): all proved."""
    spec = market_spec(market())
    assert isinstance(spec, MarketSpec)
    assert verify_spec(spec, TIMEOUT_MS).ok
