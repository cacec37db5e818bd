"""Synthetic order flow around a mid: background makers and takers, and the Avellaneda-Stoikov flow.

``SyntheticFlow`` produces *book commands* (``BookLimit``, ``BookMarket``, ``BookCancel``) for the
background account, given the current mid (float, in ticks), the book and the time; it matches
nothing itself. ``sim.exchange.SimExchange`` applies the commands and owns the clock. Units: prices
in ticks, sizes in lots, rates per second, times in integer nanoseconds. Flow order ids are negative
integers, so they never collide with the exchange's (positive) ids.

Background makers
- Limit orders arrive as a Poisson process (``limit_rate_per_s``, both sides together), side 50/50.
  A buy rests at ``ceil(mid) - 1 - g``, a sell at ``floor(mid) + 1 + g``: the first tick strictly on
  its side of the mid, then ``g`` ticks further, ``g`` ~ Geometric on {0, 1, ...} with mean
  ``limit_offset_mean_ticks``. Sizes ~ Geometric on {1, 2, ...} with mean ``limit_size_mean_lots``.
- Each resting flow order is cancelled at hazard ``cancel_hazard_per_s`` (so the total cancel rate is
  that times the number of resting flow orders; the steady state holds about rate/hazard orders).
- At every mid step (``on_mid_step``) the makers re-price: flow orders through the new mid by more than
  ``stale_ticks`` (bids above mid + stale_ticks, asks below mid - stale_ticks) are pulled at once, and
  flow orders farther than ``far_ticks`` from the mid are each cancelled with probability
  ``1 - exp(-far_cancel_hazard_per_s * dt)``. This keeps the background book around the mid; OUR
  orders stay where they are, so a stale quote of ours is exposed to the takers below.
- ``start`` seeds ``initial_levels`` levels per side, ``initial_orders_per_level`` orders each, from
  the first tick on each side of the mid outwards, so the book has depth at t=0.

Background takers: market orders at ``market_rate_per_s`` (both sides), side 50/50, size ~ Geometric
{1, ...} with mean ``market_size_mean_lots``. They take whatever is at the touch, ours included.

The A-S flow (Avellaneda & Stoikov 2008: a quote at distance delta from the mid is hit at intensity
A*exp(-k*delta)): aggressive orders arrive as a Poisson process of rate ``as_intensity_per_s`` (A)
per side. Each has a reach delta ~ Exponential(k), k = ``as_k_per_tick``, and is sent as an IOC limit
at ``floor(mid + delta)`` (buy) or ``ceil(mid - delta)`` (sell), size ~ Geometric {1, ...} with mean
``as_size_mean_lots``. For an integer price p the buy reaches p iff delta >= p - mid, so a resting ask
at distance delta = p - mid >= 0 that is FIRST in line (nothing ahead of it within reach) is reached
at rate A*P(reach >= delta) = A*exp(-k*delta): exactly the A-S intensity (in price units k_price =
k / tick_size, delta_price = delta * tick_size). A quote through the mid (delta < 0) is reached by
every aggressive order of that side, rate A. Behind other liquidity the quote also needs the size to
exceed the quantity ahead of it Q (everything the order takes first: better levels within reach and
the queue ahead at its own price), so its hit rate drops to A*exp(-k*delta)*P(size > Q), which for
the geometric size is A*exp(-k*delta)*(1 - 1/m)^Q (m = mean size), and a hit may then fill it only
partly. The background market orders add their own rate (half of ``market_rate_per_s`` per side,
for an order at the touch with size > queue ahead) on top.

Randomness: one ``numpy.random.Generator(PCG64(seed))`` stream of uniforms, drawn in blocks and used
in a fixed order, so a seed and a sequence of calls fix the flow exactly. Event times come from the
competing-risks (Gillespie) construction over the total rate; the cancel part is thinned (a picked
order that is no longer resting is dropped without an event), which keeps every alive order's hazard
exact without tracking fills.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from sim.book import OrderBook, Side, TimeInForce
from sim.price import PROCESS_KINDS, make_process

NEVER_NS: Final = 1 << 62
_ALL_LEVELS: Final = 1 << 30
_BLOCK: Final = 4096
_MID_BLOCK: Final = 1024


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def _check_non_negative(**values: float) -> None:
    for name, value in values.items():
        _require(math.isfinite(value) and value >= 0, f"{name} must be a finite number >= 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class FlowParams:
    """Synthetic flow parameters (ticks, lots, per second). Defaults: a BTC-like book at a 1-USD tick
    with ~150 resting background orders over >= 10 levels a side, ~10 A-S takers and ~1 market order
    per second."""

    limit_rate_per_s: float = 50.0
    limit_offset_mean_ticks: float = 6.0
    limit_size_mean_lots: float = 5.0
    cancel_hazard_per_s: float = 0.2
    stale_ticks: float | None = 0.0  # None: makers never pull orders that the mid moved through
    far_ticks: float = 30.0
    far_cancel_hazard_per_s: float = 5.0  # math.inf: pull far orders at the next mid step
    market_rate_per_s: float = 1.0
    market_size_mean_lots: float = 3.0
    as_intensity_per_s: float = 5.0  # A, per side
    as_k_per_tick: float = 0.5  # k
    as_size_mean_lots: float = 3.0
    initial_levels: int = 15
    initial_orders_per_level: int = 2

    def __post_init__(self) -> None:
        _check_non_negative(
            limit_rate_per_s=self.limit_rate_per_s,
            limit_offset_mean_ticks=self.limit_offset_mean_ticks,
            cancel_hazard_per_s=self.cancel_hazard_per_s,
            far_ticks=self.far_ticks,
            market_rate_per_s=self.market_rate_per_s,
            as_intensity_per_s=self.as_intensity_per_s,
        )
        _require(
            self.far_cancel_hazard_per_s >= 0,
            f"far_cancel_hazard_per_s must be >= 0 (inf allowed), got {self.far_cancel_hazard_per_s!r}",
        )
        if self.stale_ticks is not None:
            _check_non_negative(stale_ticks=self.stale_ticks)
        for name in ("limit_size_mean_lots", "market_size_mean_lots", "as_size_mean_lots"):
            value = getattr(self, name)
            _require(math.isfinite(value) and value >= 1, f"{name} must be >= 1 lot, got {value!r}")
        _require(
            math.isfinite(self.as_k_per_tick) and self.as_k_per_tick > 0,
            f"as_k_per_tick must be > 0, got {self.as_k_per_tick!r}",
        )
        _require(self.initial_levels >= 0, f"initial_levels must be >= 0, got {self.initial_levels!r}")
        _require(
            self.initial_orders_per_level >= 0,
            f"initial_orders_per_level must be >= 0, got {self.initial_orders_per_level!r}",
        )

    def as_hit_rate_per_s(self, delta_ticks: float) -> float:
        """A-S intensity A*exp(-k*delta) of a quote first in line at ``delta_ticks`` from the mid."""
        return self.as_intensity_per_s * math.exp(-self.as_k_per_tick * max(delta_ticks, 0.0))


@dataclass(frozen=True, slots=True)
class MarketParams:
    """The synthetic market: a mid process from ``sim.price`` stepped every ``step_ns`` and the flow.
    ``sigma_per_sqrt_s`` is in log-return units for gbm/garch and price units for abm (see price.py);
    the default ~28%/sqrt(year) at 60,000 moves the mid ~3 ticks per sqrt(second) at a 1.0 tick."""

    process: str = "gbm"
    s0: float = 60_000.0
    sigma_per_sqrt_s: float = 5e-5
    mu_per_s: float = 0.0
    garch_alpha: float = 0.05
    garch_beta: float = 0.9
    step_ns: int = 100_000_000
    flow: FlowParams = field(default_factory=FlowParams)

    def __post_init__(self) -> None:
        _require(
            self.process in PROCESS_KINDS,
            f"process must be one of {', '.join(PROCESS_KINDS)}, got {self.process!r}",
        )
        _require(math.isfinite(self.s0) and self.s0 > 0, f"s0 must be > 0, got {self.s0!r}")
        _check_non_negative(sigma_per_sqrt_s=self.sigma_per_sqrt_s)
        _require(self.step_ns > 0, f"step_ns must be > 0, got {self.step_ns!r}")
        _require(
            self.process != "garch" or self.mu_per_s == 0.0,
            f"the garch process has no drift; mu_per_s must be 0, got {self.mu_per_s!r}",
        )


# ------------------------------------------------------------------------------------- book commands
@dataclass(frozen=True, slots=True)
class BookLimit:
    oid: int
    side: Side
    price_ticks: int
    qty_lots: int
    tif: TimeInForce


@dataclass(frozen=True, slots=True)
class BookMarket:
    oid: int
    side: Side
    qty_lots: int


@dataclass(frozen=True, slots=True)
class BookCancel:
    oid: int


BookCommand = BookLimit | BookMarket | BookCancel


class _Uniforms:
    """Uniforms on [0, 1) from PCG64, drawn in fixed-size blocks (cheap scalar draws, same stream)."""

    __slots__ = ("_buf", "_i", "_rng")

    def __init__(self, seed: int) -> None:
        _require(seed >= 0, f"seed must be a non-negative integer, got {seed!r}")
        self._rng = np.random.Generator(np.random.PCG64(seed))
        self._buf: list[float] = []
        self._i = 0

    def __call__(self) -> float:
        i = self._i
        if i == len(self._buf):
            self._buf = self._rng.random(_BLOCK).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]


def _geometric_sampler(mean: float, minimum: int) -> float:
    """1/log(q) for a geometric on {minimum, minimum+1, ...} with the given mean (0.0: constant)."""
    excess = mean - minimum
    if excess <= 0:
        return 0.0
    q = excess / (excess + 1.0)  # P(X > x | X >= x)
    return 1.0 / math.log(q)


class SyntheticFlow:
    """The background and A-S flow as one Poisson event stream; see the module docstring."""

    def __init__(self, params: FlowParams, seed: int) -> None:
        self.params = params
        self._u = _Uniforms(seed)
        self._tracked: list[int] = []  # flow orders that may still rest (dead ones dropped lazily)
        self._compact_at = 4096
        self._next_oid = -1
        self._fixed_rate = params.limit_rate_per_s + params.market_rate_per_s + 2 * params.as_intensity_per_s
        self._rate = 0.0  # the total rate the pending event time was drawn with
        self.next_ns = NEVER_NS
        self._inv_log_offset = _geometric_sampler(params.limit_offset_mean_ticks, 0)
        self._inv_log_limit = _geometric_sampler(params.limit_size_mean_lots, 1)
        self._inv_log_market = _geometric_sampler(params.market_size_mean_lots, 1)
        self._inv_log_as = _geometric_sampler(params.as_size_mean_lots, 1)
        self._far_p: tuple[float, float] = (-1.0, 0.0)  # (dt_s, probability) cache

    def _geometric(self, inv_log_q: float, minimum: int) -> int:
        if inv_log_q == 0.0:
            return minimum
        return minimum + int(math.log(1.0 - self._u()) * inv_log_q)

    def _oid(self) -> int:
        oid = self._next_oid
        self._next_oid = oid - 1
        return oid

    def _schedule(self, now_ns: int) -> None:
        rate = self._fixed_rate + self.params.cancel_hazard_per_s * len(self._tracked)
        self._rate = rate
        if rate <= 0.0:
            self.next_ns = NEVER_NS
        else:
            self.next_ns = now_ns + int(-math.log(1.0 - self._u()) / rate * 1e9 + 0.5)

    def _rest(self, side: Side, offset: int, mid_ticks: float) -> BookLimit:
        if side > 0:
            price = max(1, math.ceil(mid_ticks) - 1 - offset)
        else:
            price = max(1, math.floor(mid_ticks) + 1 + offset)
        oid = self._oid()
        self._tracked.append(oid)
        size = self._geometric(self._inv_log_limit, 1)
        return BookLimit(oid, side, price, size, TimeInForce.GTC)

    def start(self, mid_ticks: float, now_ns: int) -> list[BookCommand]:
        """The initial book (best levels first, bids and asks interleaved) and the first event time."""
        p = self.params
        cmds: list[BookCommand] = []
        for level in range(p.initial_levels):
            for _ in range(p.initial_orders_per_level):
                cmds.append(self._rest(Side.BUY, level, mid_ticks))
                cmds.append(self._rest(Side.SELL, level, mid_ticks))
        self._schedule(now_ns)
        return cmds

    def fire(self, mid_ticks: float, book: OrderBook) -> BookCommand | None:
        """The event due at ``next_ns`` (None: a thinned cancel), and schedule the next one."""
        p = self.params
        x = self._u() * self._rate
        cmd: BookCommand | None = None
        if x < p.limit_rate_per_s:
            side = Side.BUY if self._u() < 0.5 else Side.SELL
            cmd = self._rest(side, self._geometric(self._inv_log_offset, 0), mid_ticks)
        elif (x := x - p.limit_rate_per_s) < p.market_rate_per_s:
            side = Side.BUY if self._u() < 0.5 else Side.SELL
            cmd = BookMarket(self._oid(), side, self._geometric(self._inv_log_market, 1))
        elif (x := x - p.market_rate_per_s) < 2 * p.as_intensity_per_s:
            reach = -math.log(1.0 - self._u()) / p.as_k_per_tick
            size = self._geometric(self._inv_log_as, 1)
            if x < p.as_intensity_per_s:
                price = max(1, math.floor(mid_ticks + reach))
                cmd = BookLimit(self._oid(), Side.BUY, price, size, TimeInForce.IOC)
            else:
                price = max(1, math.ceil(mid_ticks - reach))
                cmd = BookLimit(self._oid(), Side.SELL, price, size, TimeInForce.IOC)
        else:
            x -= 2 * p.as_intensity_per_s
            tracked = self._tracked
            # x is uniform on [0, hazard * len) given that it landed here: reuse it for the pick.
            index = int(x / p.cancel_hazard_per_s) if p.cancel_hazard_per_s > 0 else len(tracked)
            if index < len(tracked):
                oid = tracked[index]
                tracked[index] = tracked[-1]
                tracked.pop()
                if book.order(oid) is not None:
                    cmd = BookCancel(oid)
        if len(self._tracked) > self._compact_at:
            self._tracked = [oid for oid in self._tracked if book.order(oid) is not None]
            self._compact_at = max(4096, 2 * len(self._tracked))
        self._schedule(self.next_ns)
        return cmd

    def on_mid_step(self, mid_ticks: float, book: OrderBook, dt_s: float) -> list[BookCommand]:
        """The makers' re-pricing after the mid moved: pull stale orders, maybe cancel far ones."""
        p = self.params
        cmds: list[BookCommand] = []
        if p.stale_ticks is not None:
            bid_limit, ask_limit = mid_ticks + p.stale_ticks, mid_ticks - p.stale_ticks
            best_bid, best_ask = book.best_bid(), book.best_ask()
            if best_bid is not None and best_bid > bid_limit:
                bids = (pr for pr, _ in book.depth(Side.BUY, _ALL_LEVELS))
                self._pull(book, Side.BUY, bids, lambda pr: pr > bid_limit, 1.0, cmds)
            if best_ask is not None and best_ask < ask_limit:
                asks = (pr for pr, _ in book.depth(Side.SELL, _ALL_LEVELS))
                self._pull(book, Side.SELL, asks, lambda pr: pr < ask_limit, 1.0, cmds)
        if p.far_cancel_hazard_per_s > 0:
            if self._far_p[0] != dt_s:
                self._far_p = (dt_s, 1.0 - math.exp(-p.far_cancel_hazard_per_s * dt_s))
            prob = self._far_p[1]
            low, high = mid_ticks - p.far_ticks, mid_ticks + p.far_ticks
            all_bids = book.depth(Side.BUY, _ALL_LEVELS)
            if all_bids and all_bids[-1][0] < low:
                worst_bids = (pr for pr, _ in reversed(all_bids))
                self._pull(book, Side.BUY, worst_bids, lambda pr: pr < low, prob, cmds)
            all_asks = book.depth(Side.SELL, _ALL_LEVELS)
            if all_asks and all_asks[-1][0] > high:
                worst_asks = (pr for pr, _ in reversed(all_asks))
                self._pull(book, Side.SELL, worst_asks, lambda pr: pr > high, prob, cmds)
        return cmds

    def _pull(
        self,
        book: OrderBook,
        side: Side,
        prices: Iterable[int],
        hit: Callable[[int], bool],
        prob: float,
        cmds: list[BookCommand],
    ) -> None:
        """Cancel (each with probability ``prob``) the flow orders at ``prices`` while ``hit(price)``."""
        for price in prices:
            if not hit(price):
                return
            for order in book.level_orders(side, price):
                if order.oid < 0 and (prob >= 1.0 or self._u() < prob):
                    cmds.append(BookCancel(order.oid))


class SyntheticMarket:
    """The mid process (``sim.price``) stepped every ``step_ns`` and the flow around it, as one event
    stream for the exchange: ``next_ns`` is when the next mid step or flow event is due, ``pop(book)``
    handles it and returns the book commands to apply (a mid step goes before a flow event due at the
    same instant). The mid is piecewise constant between steps. One seed fixes both streams."""

    def __init__(self, params: MarketParams, tick_size: float, seed: int, start_ns: int) -> None:
        _require(seed >= 0, f"seed must be a non-negative integer, got {seed!r}")
        mid_seed, flow_seed = (int(s) for s in np.random.SeedSequence(seed).generate_state(2, np.uint64))
        self.params = params
        self._tick = tick_size
        self._dt_s = params.step_ns / 1e9
        self._process = make_process(
            params.process,
            s0=params.s0,
            sigma_per_sqrt_s=params.sigma_per_sqrt_s,
            seed=mid_seed,
            mu_per_s=params.mu_per_s,
            garch_alpha=params.garch_alpha,
            garch_beta=params.garch_beta,
            dt_s=self._dt_s,
        )
        self._mids: list[float] = []
        self._mid_i = 0
        self.mid = params.s0  # price units
        self.mid_ticks = params.s0 / tick_size
        self._start_ns = start_ns
        self.next_mid_ns = start_ns + params.step_ns
        self.flow = SyntheticFlow(params.flow, flow_seed)

    def start(self) -> list[BookCommand]:
        """The initial book at the start time."""
        return self.flow.start(self.mid_ticks, self._start_ns)

    @property
    def next_ns(self) -> int:
        return min(self.next_mid_ns, self.flow.next_ns)

    def pop(self, book: OrderBook) -> list[BookCommand]:
        if self.next_mid_ns <= self.flow.next_ns:
            if self._mid_i == len(self._mids):
                self._mids = self._process.path(_MID_BLOCK, self._dt_s).tolist()
                self._mid_i = 0
            self.mid = self._mids[self._mid_i]
            self._mid_i += 1
            self.mid_ticks = self.mid / self._tick
            self.next_mid_ns += self.params.step_ns
            return self.flow.on_mid_step(self.mid_ticks, book, self._dt_s)
        cmd = self.flow.fire(self.mid_ticks, book)
        return [] if cmd is None else [cmd]
