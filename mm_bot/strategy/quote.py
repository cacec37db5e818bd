"""The quote pipeline: model prices -> clamps -> integer ticks -> post-only -> inventory gating.

``compute_quote(inputs, params, ops)`` is written once, generic over the numeric backend (see
``numeric``): the bot evaluates it on floats, ``mm_bot.verify`` on Z3 terms to prove the invariants
below over whole parameter ranges. It branches only on ``QuoteParams`` (static config).

Units: prices in quote currency, sizes and inventory in base units (the models see inventory in
lots, ``inventory_base / order_size_base``: see ``avellaneda_stoikov``), ticks are integers
(price = ticks * tick_size), bps are of the mid. ``D = mid * max_distance_bps / 1e4``.

Steps, in this order (the order is what makes the invariants hold together):

1. Model: a centre c and a half-spread h. "as": c = reservation price, h = A-S optimal spread / 2.
   "glft": c = mid - skew*q, h = GLFT asymptotic half-spread (xi = gamma, Delta = 1 lot). "fixed":
   c = mid, h = fixed bps. "depths": externally supplied depths, e.g. the exact GLFT table
   (``glft.GlftDepthTable.depths_at``): bid = mid - bid_depth, ask = mid + ask_depth.
2. Spread clamp: h into [h_min, h_max] (half of min/max spread). Width only: c is unchanged.
3. Distance clamp (fat-finger guard), per side: bid into [mid - D, mid + D - 2*h_min], ask into
   [mid - D + 2*h_min, mid + D]. Each side keeps its model price when it can, and because the ask's
   interval is the bid's shifted by 2*h_min, ask - bid >= 2*h_min still holds after clamping.
4. Round outward to ticks: bid DOWN (floor), ask UP (ceil). Float rounding is not corrected: a price
   that is mathematically on the grid may land one tick further out (never further in).
5. Post-only (if enabled): bid_ticks <= best_ask_ticks - 1 and ask_ticks >= best_bid_ticks + 1, where
   the book's prices are rounded to the nearest tick (they are assumed to be on the grid). These
   only move quotes AWAY from each other, so they never narrow the spread.
6. Minimum spread in ticks, M = max(1, ceil(mid * min_spread_bps / 1e4 / tick)): ask_ticks >=
   bid_ticks + M, by pushing the ASK up (moving the ask up keeps the post-only bound of step 5; the
   bid is never moved by this step). In exact arithmetic steps 3-4 already give this; the step is the
   integer-exact backstop for float rounding and for min_spread_bps = 0.
7. Inventory gating: bid size = clamp(order_size, 0, max_position - inventory), ask size =
   clamp(order_size, 0, max_position + inventory); a side is allowed iff its size > 0 (and >=
   min_order_size_base when that is set). Size shrinks linearly to 0 as the position approaches the
   limit, so no fill of a quoted size can breach max position.

Invariants (over reals, where Z3 proves them; on floats I1-I3 also hold exactly because steps 5-6 are
integer arithmetic, and I5 holds exactly because every IEEE operation used is monotone):

- I1 ordered:      bid_ticks < ask_ticks.
- I2 min spread:   ask_ticks - bid_ticks >= max(1, ceil(mid * min_spread_bps / 1e4 / tick)).
- I3 post-only:    if post_only, bid_ticks <= best_ask_ticks - 1 and ask_ticks >= best_bid_ticks + 1,
                   for ANY book, crossed or not.
- I4 distance:     bid_ticks*tick >= mid - D - tick and ask_ticks*tick <= mid + D + tick (one tick of
                   rounding allowance, from step 4 and from the integer minimum spread of step 6);
                   with post_only this needs best_bid <= mid <= best_ask on the tick grid.
- I5 inventory monotone: for "as", "glft" and "fixed", more long inventory never raises bid_ticks nor
                   ask_ticks (every step is monotone and the centre is non-increasing in inventory).
                   bid size is non-increasing and ask size non-decreasing in inventory.
- I6 position:     0 <= size <= order_size on both sides; if bid_allowed, inventory + bid_size <=
                   max_position; if ask_allowed, inventory - ask_size >= -max_position. A side is
                   never allowed when the position is already at (or past) its limit.

Preconditions: mid > 0, sigma >= 0, A > 0, k > 0, tau_s >= 0, all inputs finite (the float backend
raises on NaN/inf at the rounding step; callers validate market data first). ``QuoteParams`` checks
its own consistency, notably max_distance_bps >= min_spread_bps / 2 (step 3 needs D >= h_min).
With a mid only a few ticks above zero, bid_ticks may be <= 0: the caller must not send it.
In floats, I6's sums hold up to one rounding of ``max_position - inventory``.

For a Z3 backend: relational claims (I5 compares two evaluations) need log/exp/sqrt to be functions of
their argument, e.g. one fresh bounded real per distinct argument term (as the test backend in
``tests/bot/strategy/test_quote_z3.py`` does), or an uninterpreted function with the bound axioms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, NamedTuple, get_args

from mm_bot.strategy.avellaneda_stoikov import optimal_spread, reservation_price
from mm_bot.strategy.glft import glft_coefficients, glft_half_spread_and_skew
from mm_bot.strategy.numeric import FLOAT_OPS, Ops

StrategyKind = Literal["as", "glft", "fixed", "depths"]
_BPS = 1e-4
_new = tuple.__new__


class QuoteInputs(NamedTuple):
    """Market state for one quote; fields are floats on the trading path, Z3 terms under proof.

    ``sigma`` in price units per sqrt(second), ``A`` in 1/second (GLFT), ``k`` in 1/price,
    ``tau_s`` the A-S horizon (rolling constant or T - t), ``bid_depth``/``ask_depth`` (price units,
    kind "depths" only). ``best_bid``/``best_ask`` are used only when post_only is on.
    """

    mid: float
    inventory_base: float
    sigma: float
    A: float
    k: float
    tau_s: float
    best_bid: float
    best_ask: float
    bid_depth: float = 0.0
    ask_depth: float = 0.0


@dataclass(frozen=True, slots=True)
class QuoteParams:
    """Static quoting parameters (known at build time; the pipeline may branch on these).

    ``gamma`` is risk aversion per (price unit x lot), see ``avellaneda_stoikov``.
    """

    kind: StrategyKind
    gamma: float
    order_size_base: float
    max_position_base: float
    tick_size: float
    min_spread_bps: float
    max_spread_bps: float
    max_distance_bps: float
    post_only: bool = True
    fixed_half_spread_bps: float = 0.0
    min_order_size_base: float = 0.0

    def __post_init__(self) -> None:
        problems = []
        if self.kind not in get_args(StrategyKind):
            problems.append(f"kind must be one of {get_args(StrategyKind)}, got {self.kind!r}")
        numbers = {
            "gamma": self.gamma,
            "order_size_base": self.order_size_base,
            "max_position_base": self.max_position_base,
            "tick_size": self.tick_size,
            "min_spread_bps": self.min_spread_bps,
            "max_spread_bps": self.max_spread_bps,
            "max_distance_bps": self.max_distance_bps,
            "fixed_half_spread_bps": self.fixed_half_spread_bps,
            "min_order_size_base": self.min_order_size_base,
        }
        problems += [
            f"{name} must be finite and >= 0, got {v}"
            for name, v in numbers.items()
            if not (math.isfinite(v) and v >= 0.0)
        ]
        if not problems:
            for name in ("order_size_base", "tick_size"):
                if numbers[name] <= 0.0:
                    problems.append(f"{name} must be > 0")
            if self.kind in ("as", "glft") and self.gamma <= 0.0:
                problems.append("gamma must be > 0 for the 'as' and 'glft' strategies")
            if self.min_spread_bps > self.max_spread_bps:
                problems.append("min_spread_bps must be <= max_spread_bps")
            if not self.min_spread_bps / 2.0 <= self.max_distance_bps < 1e4:
                problems.append("max_distance_bps must be in [min_spread_bps / 2, 10000)")
        if problems:
            raise ValueError("invalid QuoteParams: " + "; ".join(problems))


class Quote(NamedTuple):
    """One two-sided quote. Under Z3 the fields are terms (allowed flags are z3 Bools).

    ``reservation_price`` is the model's centre and ``model_half_spread`` its half-spread (price
    units, before clamps); ``half_spread`` is after the min/max spread clamp. Sizes are in base units
    (the caller rounds them DOWN to the venue's lot step, which keeps I6); a size is meaningful only
    when its side is allowed.
    """

    bid_ticks: int
    ask_ticks: int
    bid_size_base: float
    ask_size_base: float
    bid_allowed: bool
    ask_allowed: bool
    reservation_price: float
    model_half_spread: float
    half_spread: float


def model_center_and_half_spread(
    inputs: QuoteInputs, params: QuoteParams, ops: Ops = FLOAT_OPS
) -> tuple[float, float]:
    """Step 1: the strategy's (centre, half-spread) in price units, before any clamp."""
    # Unpacked, not read by name: NamedTuple attribute reads are not specialised by CPython 3.11.
    mid, inventory_base, sigma, a, k, tau_s, _, _, bid_depth, ask_depth = inputs
    kind = params.kind
    if kind == "as":
        q_lots = inventory_base / params.order_size_base
        center = reservation_price(mid, q_lots, params.gamma, sigma, tau_s)
        return center, optimal_spread(params.gamma, sigma, tau_s, k, ops) / 2.0
    if kind == "glft":
        q_lots = inventory_base / params.order_size_base
        c1, c2 = glft_coefficients(params.gamma, a, k, ops)
        half, skew = glft_half_spread_and_skew(sigma, c1, c2)
        return mid - skew * q_lots, half
    if kind == "fixed":
        return mid, mid * (params.fixed_half_spread_bps * _BPS)
    return mid + (ask_depth - bid_depth) / 2.0, (bid_depth + ask_depth) / 2.0


def compute_quote(inputs: QuoteInputs, params: QuoteParams, ops: Ops = FLOAT_OPS) -> Quote:
    """Steps 1-7 of the module docstring; guarantees invariants I1-I6."""
    p = params
    mid, inventory_base, _, _, _, _, best_bid, best_ask, _, _ = inputs
    center, model_half = model_center_and_half_spread(inputs, p, ops)
    # 2. spread clamp (width only)
    per_bp = mid * _BPS
    half_min = per_bp * (p.min_spread_bps / 2.0)
    half = ops.clamp_le(model_half, half_min, per_bp * (p.max_spread_bps / 2.0))
    # 3. distance clamp per side; the ask's interval is the bid's shifted by 2*half_min
    dist = per_bp * p.max_distance_bps
    lo = mid - dist
    hi = mid + dist
    bid = ops.clamp_le(center - half, lo, hi - 2.0 * half_min)
    ask = ops.clamp_ge(center + half, lo + 2.0 * half_min, hi)
    # 4. round outward
    tick = p.tick_size
    bid_ticks = ops.floor(bid / tick)
    ask_ticks = ops.ceil(ask / tick)
    # 5. post-only: stay strictly behind the opposite touch (moves quotes apart only)
    if p.post_only:
        bid_ticks = ops.min(bid_ticks, ops.floor(best_ask / tick + 0.5) - 1)
        ask_ticks = ops.max(ask_ticks, ops.floor(best_bid / tick + 0.5) + 1)
    # 6. integer minimum spread, enforced by moving the ask away (keeps step 5)
    min_ticks = ops.max(ops.ceil(per_bp * p.min_spread_bps / tick), 1)
    ask_ticks = ops.max(ask_ticks, bid_ticks + min_ticks)
    # 7. inventory gating: size = min(order size, room left), never negative
    size = p.order_size_base
    bid_size = ops.clamp_ge(size, 0.0, p.max_position_base - inventory_base)
    ask_size = ops.clamp_ge(size, 0.0, p.max_position_base + inventory_base)
    if p.min_order_size_base > 0.0:
        bid_allowed = ops.ge(bid_size, p.min_order_size_base)
        ask_allowed = ops.ge(ask_size, p.min_order_size_base)
    else:
        bid_allowed = ops.gt(bid_size, 0.0)
        ask_allowed = ops.gt(ask_size, 0.0)
    # tuple.__new__: the same immutable Quote without NamedTuple's Python-level __new__ (~120 ns a quote)
    return _new(
        Quote, (bid_ticks, ask_ticks, bid_size, ask_size, bid_allowed, ask_allowed, center, model_half, half)
    )
