"""Strict configuration: pydantic models for ``config.yaml``, env overrides, secrets.

Every model is frozen, rejects unknown keys and does not coerce types (``"5"`` is not a number;
an integer is accepted where a float is expected).
Units are in field names: ``_bps`` basis points of mid, ``_ms``/``_s`` time, ``_base``/``_quote``
amounts in the base/quote asset, ``_per_s`` rates, ``_per_price`` inverse price units.

Loading (``load_config``) never raises anything but ``ConfigError``, whose ``problems`` hold one
``(yaml_path, message)`` pair per problem, e.g. ``("markets[0].risk.max_position_base", "...")``.
All problems are collected in one pass; a cross-field check of a section runs once that section's
own fields are valid. ``<file>`` names problems with the file itself: missing, YAML syntax, or
refused as hostile (over 1 MiB, over 10,000 nodes once aliases are expanded, nested over 64 deep;
see ``loader``).

The YAML is read as YAML 1.2 where 1.1 surprises users: ``1e-5`` is a float and ``14:30`` is a
string (PyYAML alone reads them as a string and the sexagesimal number 870). Duplicate keys are
errors.

Env overrides: ``MM_BOT__<key>__<key>...=<YAML value>`` replaces one value before validation, e.g.
``MM_BOT__paper__synthetic__seed=7`` or ``MM_BOT__markets__0__risk__max_position_base=0.02``.
Segments match existing keys case-insensitively; a new key is taken as written.

Secrets never come from files: keys such as ``api_key`` or ``secret`` anywhere in the YAML are
rejected. ``live.api_key_env`` etc. name environment variables; ``read_secret`` and
``live_credentials`` read them as ``SecretStr``. An error message never echoes the value given for an
``*_env`` field, nor any value that looks like a key or token.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

DEFAULT_CONFIG_PATH = Path("config.yaml")
ENV_PREFIX = "MM_BOT__"
FILE = "<file>"  # yaml path of problems with the file itself
ROOT = "<root>"  # yaml path of the whole document

Loc = tuple[str | int, ...]
Pos = Annotated[float, Field(gt=0)]
NonNeg = Annotated[float, Field(ge=0)]
PosInt = Annotated[int, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, lt=1)]

_LOT_EPS = 1e-9  # relative tolerance for "a multiple of lot_size" in float
# Lot counts are ints that pass through float arithmetic (lots * lot_size * price): far below 2**53
# they stay exact, with room for positions of many clips.
_MAX_ORDER_LOTS = 10**9
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_YAML12_FLOAT = re.compile(r"^[-+]?(\d[\d_]*)?\.?\d*[eE][-+]?\d+$")  # 1e-5, 2.5E3: floats YAML 1.1 misses
_SECRET_KEYS = {  # normalized key -> the live.* field naming its env var
    "apikey": "api_key_env",
    "key": "api_key_env",
    "secret": "api_secret_env",
    "apisecret": "api_secret_env",
    "secretkey": "api_secret_env",
    "privatekey": "api_secret_env",
    "password": "api_password_env",
    "passphrase": "api_password_env",
    "token": "api_key_env",
}


Problem = tuple[Loc, str]


def _when(bad: bool, where: str | Loc, message: str) -> list[Problem]:
    """One cross-field problem at ``where`` (a field name or a path inside the model) if ``bad``."""
    return [((where,) if isinstance(where, str) else where, message)] if bad else []


def _required(model: BaseModel, names: Sequence[str], why: str) -> list[Problem]:
    return [((n,), f"required {why}") for n in names if getattr(model, n) is None]


def _cross(problems: list[Problem]) -> None:
    """Raise every cross-field problem of one model at once; ``_render`` expands them by path."""
    if problems:
        ctx = {"summary": "; ".join(m for _, m in problems), "problems": tuple(dict.fromkeys(problems))}
        raise PydanticCustomError("cross_field", "{summary}", ctx)


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


# --- per market ---------------------------------------------------------------------------------


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


# --- paper trading ------------------------------------------------------------------------------


class GarchConfig(_Strict):
    """GARCH(1,1) on mid returns per step; long-run variance matches ``sigma``."""

    alpha: Fraction
    beta: Fraction

    @model_validator(mode="after")
    def _check(self) -> Self:
        total = self.alpha + self.beta
        _cross(_when(total >= 1, "beta", f"alpha + beta = {total} must be < 1 (stationary)"))
        return self


class BackgroundFlowConfig(_Strict):
    """Other traders' Poisson flow that shapes the synthetic book, in ticks and lots of the market
    (the fields of ``sim.flow.FlowParams``; see its docstring for the exact model)."""

    limit_rate_per_s: NonNeg = 50.0  # background limit orders per second
    limit_offset_mean_ticks: NonNeg = 6.0  # their mean distance from the mid
    limit_size_mean_lots: Annotated[float, Field(ge=1)] = 5.0
    cancel_hazard_per_s: NonNeg = 0.2  # each resting background order is cancelled at this rate
    stale_ticks: NonNeg | None = 0.0  # pull orders the mid moved through by this much (null: never)
    far_ticks: NonNeg = 30.0  # orders farther than this from the mid ...
    far_cancel_hazard_per_s: NonNeg = 5.0  # ... are cancelled at this rate
    market_rate_per_s: NonNeg = 1.0  # background market orders per second
    market_size_mean_lots: Annotated[float, Field(ge=1)] = 3.0
    initial_levels: NonNegInt = 15  # book seeded with this many levels a side ...
    initial_orders_per_level: NonNegInt = 2  # ... of this many orders each


class AsFlowConfig(_Strict):
    """Market orders that reach our quote at distance delta with intensity A exp(-k delta): each
    reaches Exp(k) beyond the mid and carries a geometric size with this mean."""

    a_per_s: NonNeg
    k_per_price: Pos
    size_mean_lots: Annotated[float, Field(ge=1)] = 3.0


class SyntheticMarketConfig(_Strict):
    """Synthetic mid process of one market. ``sigma``: price units per sqrt(second) at s0 (abm uses
    it as is; gbm and garch scale it with s/s0)."""

    process: Literal["abm", "gbm", "garch"]
    s0: Pos
    sigma: Pos
    step_ms: PosInt = 100
    garch: GarchConfig | None = None
    flow: BackgroundFlowConfig
    as_flow: AsFlowConfig

    @model_validator(mode="after")
    def _check(self) -> Self:
        _cross(_required(self, ["garch"] if self.process == "garch" else [], "when process is 'garch'"))
        return self


class SyntheticConfig(_Strict):
    seed: NonNegInt
    markets: dict[str, SyntheticMarketConfig]  # by symbol


class FeesConfig(_Strict):
    maker_bps: Annotated[float, Field(ge=-50, le=100)]  # negative: rebate
    taker_bps: Annotated[float, Field(ge=0, le=100)]


class LatencyConfig(_Strict):
    order_ms: NonNegInt  # our order/cancel to the matching engine, and its reply back
    market_data_ms: NonNegInt  # matching engine to our book view


class PaperConfig(_Strict):
    """``run --paper``: the simulator fills our orders. ``exchange`` market data (live public book
    via CCXT) comes with the CCXT venue and is rejected until then."""

    market_data: Literal["synthetic", "exchange"]
    synthetic: SyntheticConfig
    balances: dict[str, NonNeg]  # asset -> starting amount
    fees: FeesConfig
    latency: LatencyConfig

    @model_validator(mode="after")
    def _check(self) -> Self:
        msg = "'exchange' is not yet supported (comes with the CCXT venue); use 'synthetic'"
        p = _when(self.market_data == "exchange", "market_data", msg)
        for asset in self.balances:
            p += _when(asset != asset.upper(), ("balances", asset), "asset must be upper case, e.g. USDT")
        _cross(p)
        return self


# --- top level ----------------------------------------------------------------------------------


class LiveConfig(_Strict):
    """``run --live``. The ``*_env`` fields NAME environment variables; secrets never live here."""

    exchange_id: str | None = None  # ccxt id, e.g. "binance"; needed by venue 'ccxt'
    sandbox: bool = True
    api_key_env: str = "MM_API_KEY"
    api_secret_env: str = "MM_API_SECRET"  # noqa: S105 - the name of a variable, not a secret
    api_password_env: str | None = None  # some venues also need a passphrase
    grpc_target: Annotated[str, Field(pattern=r"^\S+:\d{1,5}$")] | None = None  # "host:port"

    @field_validator("api_key_env", "api_secret_env", "api_password_env")
    @classmethod
    def _env_name(cls, v: str | None) -> str | None:
        if v is not None and not _ENV_NAME.match(v):
            msg = "must be the NAME of an environment variable (e.g. MM_API_KEY), not the secret"
            raise PydanticCustomError("env_name", msg, {})
        return v


class MetricsConfig(_Strict):
    """Prometheus exporter."""

    enabled: bool = True
    host: str = "127.0.0.1"  # address to bind: a host name or IP, not empty, no whitespace
    port: Annotated[int, Field(ge=0, le=65535)] = 9464  # 0: pick a free port

    @field_validator("host")
    @classmethod
    def _host(cls, v: str) -> str:
        if not v or any(c.isspace() for c in v):
            raise PydanticCustomError(
                "host", "must be a host name or IP address (not empty, no whitespace)", {}
            )
        return v


class JournalConfig(_Strict):
    """SQLite files, paths relative to the working directory; paper and live never share one.

    ``synchronous`` is SQLite's: ``FULL`` also survives a power loss, ``NORMAL`` survives the process
    dying; ``auto`` is FULL for the live journal and NORMAL for paper.
    """

    paper_path: str = "var/journal-paper.sqlite"
    live_path: str = "var/journal-live.sqlite"
    synchronous: Literal["auto", "NORMAL", "FULL"] = "auto"

    @model_validator(mode="after")
    def _check(self) -> Self:
        same = Path(self.paper_path) == Path(self.live_path)
        _cross(_when(same, "live_path", "must differ from paper_path: paper and live journals are separate"))
        return self


class LoggingConfig(_Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_: bool = Field(default=False, alias="json")  # JSON lines (production) vs console renderer


class VerifyConfig(_Strict):
    timeout_ms: PosInt = 30_000  # per proof; a timeout counts as a failure


class ExecutionConfig(_Strict):
    """Talking to the venue, for every market. An unanswered cancel is re-sent every
    ``cancel_retry_ms`` up to ``cancel_max_retries`` times; then (and for any order whose outcome
    is unknown) the order's status is looked up every ``status_retry_ms``."""

    request_timeout_ms: PosInt = 5000  # each venue call's timeout
    max_in_flight: PosInt = 4  # venue requests in flight per market
    reconcile_interval_s: Pos = 30.0  # periodic reconciliation with the venue's open orders and fills
    cancel_retry_ms: PosInt = 500
    cancel_max_retries: PosInt = 3
    status_retry_ms: PosInt = 1000
    shutdown_timeout_s: Pos = 5.0  # bound on the cancel-all at exit


class AppConfig(_Strict):
    markets: Annotated[list[MarketConfig], Field(min_length=1)]
    paper: PaperConfig
    live: LiveConfig = LiveConfig()
    metrics: MetricsConfig = MetricsConfig()
    journal: JournalConfig = JournalConfig()
    logging: LoggingConfig = LoggingConfig()
    verify: VerifyConfig = VerifyConfig()
    execution: ExecutionConfig = ExecutionConfig()

    def market(self, symbol: str) -> MarketConfig:
        return next(m for m in self.markets if m.symbol == symbol)

    def describe(self) -> str:
        """One line for ``check-config``: what this config would run."""
        ms = ", ".join(f"{m.symbol} ({m.strategy.kind} on {m.venue})" for m in self.markets)
        return f"{len(self.markets)} market(s): {ms}; paper market data: {self.paper.market_data}"

    @model_validator(mode="after")
    def _check(self) -> Self:
        p: list[Problem] = []
        first: dict[str, int] = {}
        synthetic = self.paper.synthetic.markets
        for i, m in enumerate(self.markets):
            dup = f"duplicate symbol {m.symbol!r} (also markets[{first.get(m.symbol)}])"
            p += _when(m.symbol in first, ("markets", i, "symbol"), dup)
            first.setdefault(m.symbol, i)
            no_id = m.venue == "ccxt" and self.live.exchange_id is None
            p += _when(no_id, ("markets", i, "venue"), "venue 'ccxt' needs live.exchange_id")
            no_target = m.venue == "grpc" and self.live.grpc_target is None
            p += _when(no_target, ("markets", i, "venue"), "venue 'grpc' needs live.grpc_target")
            for asset in (m.base_asset, m.quote_asset):
                msg = f"no starting balance for {asset} (traded in {m.symbol})"
                p += _when(asset not in self.paper.balances, ("paper", "balances"), msg)
            s = synthetic.get(m.symbol)
            missing = self.paper.market_data == "synthetic" and s is None
            p += _when(missing, ("paper", "synthetic", "markets"), f"no synthetic market for {m.symbol}")
            if s is not None:
                lo, hi = m.verify.mid_min, m.verify.mid_max
                msg = f"s0 {s.s0} is outside markets[{i}].verify [mid_min, mid_max] = [{lo}, {hi}]"
                p += _when(not lo <= s.s0 <= hi, ("paper", "synthetic", "markets", m.symbol, "s0"), msg)
        for sym in synthetic:
            p += _when(
                sym not in first, ("paper", "synthetic", "markets", sym), "not a configured market symbol"
            )
        _cross(p)
        return self
