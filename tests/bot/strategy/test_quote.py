"""The quote pipeline on floats: hand-computed examples of each step, and Hypothesis properties for
the invariants I1-I6 of ``mm_bot.strategy.quote`` over wide parameter ranges."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mm_bot.strategy.glft import exact_depth_table, glft_depths
from mm_bot.strategy.quote import Quote, QuoteInputs, QuoteParams, compute_quote

AS_PARAMS = QuoteParams(
    kind="as",
    gamma=0.1,
    order_size_base=1.0,
    max_position_base=5.0,
    tick_size=0.01,
    min_spread_bps=1.0,
    max_spread_bps=500.0,
    max_distance_bps=500.0,
    post_only=True,
)
AS_INPUTS = QuoteInputs(
    mid=100.0, inventory_base=2.0, sigma=2.0, A=140.0, k=1.5, tau_s=1.0, best_bid=99.99, best_ask=100.01
)


def test_avellaneda_stoikov_by_hand() -> None:
    """Two lots long, A-S 2008 parameters: r = 99.2, half = 0.84538521;
    bid 98.3546 rounds down to 9835 ticks, ask 100.0454 up to 10005."""
    q = compute_quote(AS_INPUTS, AS_PARAMS)
    assert q.reservation_price == pytest.approx(99.2, abs=1e-12)
    assert q.model_half_spread == pytest.approx(0.8453852113757116, rel=1e-13)
    assert q.half_spread == q.model_half_spread  # no clamp binds
    assert (q.bid_ticks, q.ask_ticks) == (9835, 10005)
    assert (q.bid_size_base, q.ask_size_base, q.bid_allowed, q.ask_allowed) == (1.0, 1.0, True, True)


def test_glft_kind_uses_the_asymptotic_depths() -> None:
    """kind "glft": bid = mid - (half + skew*q), ask = mid + (half - skew*q), rounded outward."""
    p = replace(AS_PARAMS, kind="glft")
    q = compute_quote(AS_INPUTS, p)
    bid_depth, ask_depth = glft_depths(2.0, 2.0, 0.1, 140.0, 1.5)
    assert q.bid_ticks == math.floor((100.0 - bid_depth) / 0.01)
    assert q.ask_ticks == math.ceil((100.0 + ask_depth) / 0.01)
    assert q.reservation_price < 100.0


def test_fixed_and_depths_kinds() -> None:
    """ "fixed": mid -+ bps, no skew; "depths": mid - bid_depth, mid + ask_depth (e.g. exact GLFT table)."""
    fixed = replace(AS_PARAMS, kind="fixed", fixed_half_spread_bps=7.5)
    q = compute_quote(AS_INPUTS, fixed)
    assert (q.bid_ticks, q.ask_ticks) == (9992, 10008)  # 99.925 down, 100.075 up
    table = exact_depth_table(5, 0.1, 2.0, 140.0, 1.5, 60.0)
    bid_depth, ask_depth = table.depths_at(2.0)
    inputs = AS_INPUTS._replace(bid_depth=bid_depth, ask_depth=ask_depth)
    q = compute_quote(inputs, replace(AS_PARAMS, kind="depths"))
    assert q.bid_ticks == math.floor((100.0 - bid_depth) / 0.01)
    assert q.ask_ticks == math.ceil((100.0 + ask_depth) / 0.01)


def test_min_spread_clamp() -> None:
    """A zero model spread is widened to 10 bps around the centre: 100.003 -+ 0.05 -> 9995 / 10006."""
    p = replace(AS_PARAMS, kind="fixed", fixed_half_spread_bps=0.0, min_spread_bps=10.0, post_only=False)
    q = compute_quote(AS_INPUTS._replace(mid=100.003), p)
    assert q.half_spread == pytest.approx(0.0500015)
    assert (q.bid_ticks, q.ask_ticks) == (9995, 10006)


def test_max_spread_clamp() -> None:
    """A-S over a long horizon wants a huge spread; it is capped at max_spread_bps (here 100 bps)."""
    p = replace(AS_PARAMS, max_spread_bps=100.0)
    q = compute_quote(AS_INPUTS._replace(inventory_base=0.0, tau_s=100.0), p)
    assert q.model_half_spread > 20.0
    assert q.half_spread == pytest.approx(0.5)
    assert (q.bid_ticks, q.ask_ticks) == (9950, 10050)


def test_distance_clamp_keeps_the_other_side() -> None:
    """Long inventory, r = 96: the bid (94.35) stops at mid - D = 95, the ask keeps its model price."""
    wide_book = AS_INPUTS._replace(tau_s=5.0, best_ask=200.0, best_bid=1.0)
    q = compute_quote(wide_book._replace(inventory_base=2.0), AS_PARAMS)
    assert q.reservation_price == pytest.approx(96.0)
    assert q.bid_ticks == 9500
    assert q.ask_ticks == math.ceil((96.0 + q.half_spread) / 0.01)
    far = compute_quote(wide_book._replace(inventory_base=4.0), replace(AS_PARAMS, max_position_base=10.0))
    assert (far.bid_ticks, far.ask_ticks) == (9500, 9501)  # both below mid - D: ask = bid + min spread


def test_post_only_pushes_behind_the_touch_and_min_spread_follows() -> None:
    """Model ask below the best bid: ask -> best_bid + 1 tick; the bid stays M ticks below it."""
    inputs = AS_INPUTS._replace(inventory_base=4.0, tau_s=5.0, best_bid=99.5, best_ask=99.6)
    q = compute_quote(inputs, replace(AS_PARAMS, max_position_base=10.0, min_spread_bps=30.0))
    assert q.ask_ticks == 9951
    assert q.bid_ticks <= q.ask_ticks - 3


def test_integer_min_spread_backstop() -> None:
    """min_spread_bps = 0 and a zero model spread on a grid mid: step 6 still opens one tick."""
    p = replace(AS_PARAMS, kind="fixed", fixed_half_spread_bps=0.0, min_spread_bps=0.0, post_only=False)
    q = compute_quote(AS_INPUTS._replace(mid=100.0), p)
    assert (q.bid_ticks, q.ask_ticks) == (10000, 10001)


def test_inventory_gating_and_size_shrink() -> None:
    """Size = min(order size, room left): 0.3 lot of room -> 0.3; at the limit the side is off."""
    p = replace(AS_PARAMS, max_position_base=5.0)
    near = compute_quote(AS_INPUTS._replace(inventory_base=4.7), p)
    assert near.bid_size_base == pytest.approx(0.3)
    assert near.bid_allowed
    assert (near.ask_size_base, near.ask_allowed) == (1.0, True)
    at = compute_quote(AS_INPUTS._replace(inventory_base=-5.0), p)
    assert (at.ask_size_base, at.ask_allowed, at.bid_allowed) == (0.0, False, True)
    past = compute_quote(AS_INPUTS._replace(inventory_base=6.0), p)
    assert (past.bid_size_base, past.bid_allowed, past.ask_size_base) == (0.0, False, 1.0)
    floor = compute_quote(AS_INPUTS._replace(inventory_base=4.7), replace(p, min_order_size_base=0.5))
    assert not floor.bid_allowed


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "bogus"}, "kind"),
        ({"tick_size": 0.0}, "tick_size"),
        ({"gamma": 0.0}, "gamma"),
        ({"min_spread_bps": 600.0}, "min_spread_bps"),
        ({"max_distance_bps": 0.1}, "max_distance_bps"),
        ({"max_distance_bps": 1e4}, "max_distance_bps"),
        ({"order_size_base": math.nan}, "order_size_base"),
        ({"max_position_base": -1.0}, "max_position_base"),
    ],
)
def test_params_validation(change: dict[str, Any], message: str) -> None:
    """Inconsistent static parameters are refused when the params are built."""
    with pytest.raises(ValueError, match=message):
        replace(AS_PARAMS, **change)


# ---- properties -------------------------------------------------------------------------------------

TICKS = [1e-8, 1e-4, 0.01, 0.1, 0.5, 1.0, 5.0]


@st.composite
def scenarios(draw: st.DrawFn, consistent_book: bool = True) -> tuple[QuoteInputs, QuoteParams]:
    """Wide ranges: mid 20..1e7 ticks, any spread/distance config, inventory up to 3x the limit."""
    tick = draw(st.sampled_from(TICKS))
    mid = tick * draw(st.floats(20.0, 1e7))
    order = draw(st.floats(1e-4, 10.0))
    min_bps = draw(st.floats(0.0, 50.0))
    params = QuoteParams(
        kind=draw(st.sampled_from(["as", "glft", "fixed"])),
        gamma=draw(st.floats(1e-6, 10.0)) / mid,
        order_size_base=order,
        max_position_base=order * draw(st.floats(0.0, 20.0)),
        tick_size=tick,
        min_spread_bps=min_bps,
        max_spread_bps=min_bps + draw(st.floats(0.0, 500.0)),
        max_distance_bps=draw(st.floats(min_bps / 2.0, 5000.0)),
        post_only=draw(st.booleans()),
        fixed_half_spread_bps=draw(st.floats(0.0, 100.0)),
    )
    if consistent_book:  # best_bid <= mid <= best_ask, on the grid
        bb = math.floor(mid / tick) - draw(st.integers(0, 20))
        ba = max(math.ceil(mid / tick) + draw(st.integers(0, 20)), bb + 1)
    else:  # anything, crossed or locked included
        bb = math.floor(mid / tick) + draw(st.integers(-50, 50))
        ba = math.floor(mid / tick) + draw(st.integers(-50, 50))
    inputs = QuoteInputs(
        mid=mid,
        inventory_base=draw(st.floats(-3.0, 3.0)) * max(params.max_position_base, order),
        sigma=mid * draw(st.floats(0.0, 1e-2)),
        A=draw(st.floats(1e-3, 1e3)),
        k=draw(st.floats(10.0, 1e5)) / mid,
        tau_s=draw(st.floats(0.0, 3600.0)),
        best_bid=bb * tick,
        best_ask=ba * tick,
    )
    return inputs, params


def _min_ticks(i: QuoteInputs, p: QuoteParams) -> int:
    return max(math.ceil(i.mid * 1e-4 * p.min_spread_bps / p.tick_size), 1)


@given(scenarios(consistent_book=False))
def test_ordered_min_spread_and_post_only_for_any_book(case: tuple[QuoteInputs, QuoteParams]) -> None:
    """I1-I3: bid < ask, ask - bid >= M ticks, post-only never at or through the opposite touch."""
    i, p = case
    q = compute_quote(i, p)
    assert q.bid_ticks < q.ask_ticks
    assert q.ask_ticks - q.bid_ticks >= _min_ticks(i, p)
    assert (q.ask_ticks - q.bid_ticks) * p.tick_size >= i.mid * p.min_spread_bps * 1e-4 * (1 - 1e-12)
    if p.post_only:
        assert q.bid_ticks * p.tick_size < i.best_ask
        assert q.ask_ticks * p.tick_size > i.best_bid


@given(scenarios())
def test_quotes_within_max_distance_plus_one_tick(case: tuple[QuoteInputs, QuoteParams]) -> None:
    """I4: mid - D - tick <= bid, ask <= mid + D + tick (float slack 1e-9 of the mid)."""
    i, p = case
    q = compute_quote(i, p)
    d = i.mid * p.max_distance_bps * 1e-4
    slack = 1e-9 * i.mid
    assert q.bid_ticks * p.tick_size >= i.mid - d - p.tick_size - slack
    assert q.ask_ticks * p.tick_size <= i.mid + d + p.tick_size + slack


@given(scenarios(), st.floats(0.0, 1.0))
def test_more_long_inventory_never_raises_quotes(case: tuple[QuoteInputs, QuoteParams], more: float) -> None:
    """I5: on the final rounded ticks, more inventory never raises bid or ask; sizes move the right way."""
    i, p = case
    more_inv = i._replace(inventory_base=i.inventory_base + more * 3.0 * max(p.max_position_base, 1e-3))
    q1, q2 = compute_quote(i, p), compute_quote(more_inv, p)
    assert q2.bid_ticks <= q1.bid_ticks
    assert q2.ask_ticks <= q1.ask_ticks
    assert q2.bid_size_base <= q1.bid_size_base
    assert q2.ask_size_base >= q1.ask_size_base


@given(scenarios(consistent_book=False))
def test_no_fill_can_breach_max_position(case: tuple[QuoteInputs, QuoteParams]) -> None:
    """I6: sizes in [0, order size]; an allowed side's full fill stays within +-max position."""
    i, p = case
    q: Quote = compute_quote(i, p)
    limit = p.max_position_base * (1 + 1e-12) + 1e-15
    for size in (q.bid_size_base, q.ask_size_base):
        assert 0.0 <= size <= p.order_size_base
    if q.bid_allowed:
        assert i.inventory_base + q.bid_size_base <= limit
    if q.ask_allowed:
        assert i.inventory_base - q.ask_size_base >= -limit
    if i.inventory_base >= p.max_position_base:
        assert not q.bid_allowed
    if i.inventory_base <= -p.max_position_base:
        assert not q.ask_allowed
