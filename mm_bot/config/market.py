"""The models of one quoted market (``markets[i]``): strategy, volatility, fill intensity, horizon,
quoting, lockouts, risk limits and the verified price range, and ``MarketConfig`` that checks them
against each other (lot and tick grid, order size against the position limit)."""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from mm_bot.config.base import NonNeg, NonNegInt, Pos, PosInt, _cross, _required, _Strict, _when

_LOT_EPS = 1e-9  # relative tolerance for "a multiple of lot_size" in float
# Lot counts are ints that pass through float arithmetic (lots * lot_size * price): far below 2**53
# they stay exact, with room for positions of many clips.
_MAX_ORDER_LOTS = 10**9
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class StrategyConfig(_Strict):
    """``as``: Avellaneda-Stoikov; ``glft``: Guéant-Lehalle-Fernandez-Tapia; ``fixed``: naive baseline.

    Inventory ``q`` in the A-S/GLFT formulas counts order-size clips (position_base /
    order_size_base), as in A-S 2008 where every fill is one share; so ``gamma`` is per clip and
    per price unit, and ``gamma / k`` is dimensionless.
    """

    kind: Literal["as", "glft", "fixed"]
    gamma: Pos | None = None  # risk aversion; required for as/glft
    tau_s: Pos | None = None  # A-S rolling horizon T - t when the horizon is infinite
    fixed_half_spread_bps: Pos | None = None  # required for fixed: quotes at mid +- this

    @model_validator(mode="after")
    def _check(self) -> Self:
        need = {"as": ["gamma"], "glft": ["gamma"], "fixed": ["fixed_half_spread_bps"]}[self.kind]
        _cross(_required(self, need, f"when kind is '{self.kind}'"))
        return self


class VolatilityConfig(_Strict):
    """sigma in price units per sqrt(second). ``ewma`` estimates it from mid log-returns sampled
    every ``sample_interval_s`` (times mid), starts from ``sigma_fixed`` and is clamped to
    [floor, cap]."""

    source: Literal["fixed", "ewma"]
    sigma_fixed: Pos  # the value for fixed; the prior for ewma
    half_life_s: Pos | None = None
    sample_interval_s: Pos = 1.0
    floor: Pos | None = None
    cap: Pos | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        p = _required(self, ["half_life_s", "floor", "cap"] if self.source == "ewma" else [], "for ewma")
        if self.floor is not None and self.cap is not None:
            p += _when(self.floor > self.cap, "floor", f"floor {self.floor} must be <= cap {self.cap}")
            p += _when(
                self.floor <= self.cap and not self.floor <= self.sigma_fixed <= self.cap,
                "sigma_fixed",
                f"sigma_fixed {self.sigma_fixed} (the prior) must lie in [floor, cap]",
            )
        _cross(p)
        return self


class IntensityConfig(_Strict):
    """Fill intensity lambda(delta) = A * exp(-k * delta), delta = distance from mid in price units.

    ``estimated`` fits A and k online from public trades in a ``window_s`` window, starting from the
    fixed values as priors and clamped to [a_min, a_max], [k_min, k_max]. Until ``min_trades``
    trades are seen it quotes with the priors, and after ``max_warmup_s`` it quotes with the
    clamped estimate, so quoting never stalls for lack of trades.
    """

    source: Literal["fixed", "estimated"]
    a_per_s: Pos
    k_per_price: Pos
    a_min: Pos | None = None
    a_max: Pos | None = None
    k_min: Pos | None = None
    k_max: Pos | None = None
    window_s: Pos | None = None
    max_warmup_s: Pos | None = None
    min_trades: PosInt | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        names = ["a_min", "a_max", "k_min", "k_max", "window_s", "max_warmup_s", "min_trades"]
        p = _required(self, names if self.source == "estimated" else [], "when source is 'estimated'")
        for lo_name, prior_name, hi_name in (
            ("a_min", "a_per_s", "a_max"),
            ("k_min", "k_per_price", "k_max"),
        ):
            lo, prior, hi = getattr(self, lo_name), getattr(self, prior_name), getattr(self, hi_name)
            if lo is not None and hi is not None and lo > hi:
                p += _when(True, lo_name, f"{lo_name} {lo} must be <= {hi_name} {hi}")
            else:
                outside = (lo is not None and prior < lo) or (hi is not None and prior > hi)
                p += _when(
                    outside, prior_name, f"prior {prior} must lie in [{lo_name}, {hi_name}] = [{lo}, {hi}]"
                )
        _cross(p)
        return self


class HorizonConfig(_Strict):
    """``infinite``: rolling horizon strategy.tau_s. ``session``: ends session_length_s after start.
    ``daily``: quotes inside the UTC window [daily_start_utc, daily_end_utc) (may cross midnight).

    ``at_end``: ``flatten`` cancels all and unwinds the position with taker orders;
    ``cancel_only`` cancels all and keeps the position; ``stop_quoting`` sends nothing new and lets
    resting orders age out (quoting.order_max_age_s).
    """

    kind: Literal["infinite", "session", "daily"]
    session_length_s: Pos | None = None
    daily_start_utc: str | None = None  # "HH:MM"
    daily_end_utc: str | None = None
    at_end: Literal["flatten", "stop_quoting", "cancel_only"] | None = None

    @field_validator("daily_start_utc", "daily_end_utc")
    @classmethod
    def _hhmm(cls, v: str | None) -> str | None:
        if v is not None and not _HHMM.match(v):
            raise PydanticCustomError("hhmm", 'must be a UTC time "HH:MM" (00:00 to 23:59)', {})
        return v

    @model_validator(mode="after")
    def _check(self) -> Self:
        need = {
            "infinite": [],
            "session": ["session_length_s", "at_end"],
            "daily": ["daily_start_utc", "daily_end_utc", "at_end"],
        }[self.kind]
        p = _required(self, need, f"when kind is '{self.kind}'")
        empty = self.daily_start_utc is not None and self.daily_start_utc == self.daily_end_utc
        p += _when(empty, "daily_end_utc", "must differ from daily_start_utc (an empty window never quotes)")
        _cross(p)
        return self


class QuotingConfig(_Strict):
    """Spread clamps and order hygiene. Quotes are post-only; prices round bids down, asks up."""

    min_spread_bps: Pos
    max_spread_bps: Pos
    max_distance_bps: Pos  # no quote farther than this from mid, however skewed
    tolerance_bps: NonNeg  # keep a resting order if it is within this of the target price
    order_max_age_s: Pos  # replace older orders even when within tolerance
    post_only: bool = True
    refresh_interval_ms: PosInt | None = None  # requote on a timer too, not only on book updates

    @model_validator(mode="after")
    def _check(self) -> Self:
        lo, hi, half = self.min_spread_bps, self.max_spread_bps, self.min_spread_bps / 2
        p = _when(lo > hi, "min_spread_bps", f"min_spread_bps {lo} must be <= max_spread_bps {hi}")
        p += _when(
            self.tolerance_bps >= half,
            "tolerance_bps",
            f"tolerance_bps {self.tolerance_bps} must be < min_spread_bps/2 = {half}: a tolerance band as "
            "wide as the half-spread could keep an order on the wrong side of mid",
        )
        p += _when(
            self.max_distance_bps < half,
            "max_distance_bps",
            f"max_distance_bps {self.max_distance_bps} must be >= min_spread_bps/2 = {half}, "
            "else no quote satisfies both",
        )
        _cross(p)
        return self


class LockoutConfig(_Strict):
    """Quiet periods in milliseconds: no new order on a side after a fill / a reject on it, and a
    minimum gap between any two orders of this market."""

    after_fill_ms: NonNegInt
    after_reject_ms: NonNegInt
    between_orders_ms: NonNegInt


class RiskConfig(_Strict):
    """Per-market limits. Position counts the change in base asset since the start.

    Feed guards: a book whose mid is more than ``max_mid_jump_bps`` from the last trusted mid is
    dropped, unless ``jump_confirm_books`` consecutive books agree with each other within that limit
    (then they confirm a new price level); a book or trade stamped more than ``max_clock_skew_ms``
    in our future is dropped.
    """

    max_position_base: Pos  # stop adding on the side that grows |position| beyond this
    hard_position_base: Pos | None = None  # above this, unwind with taker orders
    daily_loss_limit_quote: Pos  # kill switch on realized + marked loss since 00:00 UTC
    stale_book_ms: PosInt  # cancel quotes when the book is older than this
    max_mid_jump_bps: Pos = 500.0
    jump_confirm_books: PosInt = 3
    max_clock_skew_ms: PosInt = 5000

    @model_validator(mode="after")
    def _check(self) -> Self:
        hard, soft = self.hard_position_base, self.max_position_base
        msg = f"hard_position_base {hard} must be > max_position_base {soft}"
        _cross(_when(hard is not None and hard <= soft, "hard_position_base", msg))
        return self


class MarketVerifyConfig(_Strict):
    """Ranges the Z3 proofs of the quote invariants cover (`mm-bot verify`)."""

    mid_min: Pos
    mid_max: Pos

    @model_validator(mode="after")
    def _check(self) -> Self:
        lo, hi = self.mid_min, self.mid_max
        _cross(_when(lo >= hi, "mid_min", f"mid_min {lo} must be < mid_max {hi}"))
        return self


class MarketConfig(_Strict):
    """One quoted market. ``venue`` is the adapter used by ``run --live``; ``run --paper`` always
    trades against the simulator."""

    symbol: Annotated[str, Field(pattern=r"^[A-Z0-9]+/[A-Z0-9]+(:[A-Z0-9]+)?$")]  # "BTC/USDT" (ccxt style)
    venue: Literal["sim", "ccxt", "grpc"]
    tick_size: Pos  # quote units
    lot_size: Pos  # base units
    order_size_base: Pos
    strategy: StrategyConfig
    volatility: VolatilityConfig
    intensity: IntensityConfig
    horizon: HorizonConfig
    quoting: QuotingConfig
    lockouts: LockoutConfig
    risk: RiskConfig
    verify: MarketVerifyConfig

    @property
    def base_asset(self) -> str:
        return self.symbol.split("/")[0]

    @property
    def quote_asset(self) -> str:
        return self.symbol.split("/")[1].split(":")[0]

    @property
    def order_size_lots(self) -> int:
        return round(self.order_size_base / self.lot_size)

    @model_validator(mode="after")
    def _check(self) -> Self:
        size, lot, max_pos = self.order_size_base, self.lot_size, self.risk.max_position_base
        lots = size / lot
        below_one = round(lots) < 1
        off_grid = not below_one and abs(lots - round(lots)) > _LOT_EPS * max(1.0, lots)
        p = _when(below_one, "order_size_base", f"order_size_base {size} is smaller than one lot_size {lot}")
        p += _when(
            off_grid, "order_size_base", f"order_size_base {size} must be a multiple of lot_size {lot}"
        )
        p += _when(
            lots > _MAX_ORDER_LOTS,
            "lot_size",
            f"lot_size {lot} is too fine: order_size_base {size} would be {lots:.3g} lots "
            f"(at most {_MAX_ORDER_LOTS:.0e})",
        )
        p += _when(size > max_pos, "order_size_base", f"must be <= risk.max_position_base {max_pos}")
        # Prices round outward to the tick (bids down, asks up), which can widen the spread by up to
        # one tick a side; at the lowest verified mid that must still fit under max_spread_bps.
        tick, mid_min, max_spread = self.tick_size, self.verify.mid_min, self.quoting.max_spread_bps
        rounding_bps = 2 * tick * 1e4 / mid_min
        p += _when(
            rounding_bps > max_spread,
            "tick_size",
            f"tick_size {tick} is too coarse: at verify.mid_min {mid_min} one tick is "
            f"{rounding_bps / 2:.4g} bps, and outward rounding of both quotes (2 ticks, "
            f"{rounding_bps:.4g} bps) exceeds quoting.max_spread_bps {max_spread}",
        )
        no_tau = (
            self.strategy.kind == "as" and self.horizon.kind == "infinite" and self.strategy.tau_s is None
        )
        p += _when(no_tau, ("strategy", "tau_s"), "required for kind 'as' with an infinite horizon")
        _cross(p)
        return self
