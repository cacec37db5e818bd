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
see ``yaml_reader``).

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

The models of one market are in ``market``, those of paper trading in ``paper``, the shared base
model and number types in ``base``; this module holds the other top-level sections and ``AppConfig``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from mm_bot.config.base import (
    DEFAULT_CONFIG_PATH,
    FILE,
    ROOT,
    NonNeg,
    Pos,
    PosInt,
    Problem,
    _cross,
    _Strict,
    _when,
)
from mm_bot.config.market import MarketConfig
from mm_bot.config.paper import PaperConfig

__all__ = [  # DEFAULT_CONFIG_PATH, FILE, ROOT, MarketConfig and PaperConfig are re-exported
    "DEFAULT_CONFIG_PATH",
    "FILE",
    "ROOT",
    "AppConfig",
    "ExecutionConfig",
    "JournalConfig",
    "LiveConfig",
    "LoggingConfig",
    "MarketConfig",
    "MetricsConfig",
    "PaperConfig",
    "VerifyConfig",
]

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_ENDPOINT = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~\-/]*)?$")


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


class LiveConfig(_Strict):
    """``run --live``. The ``*_env`` fields NAME environment variables; secrets never live here."""

    exchange_id: str | None = None  # ccxt id, e.g. "binance"; needed by venue 'ccxt'
    sandbox: bool = True
    api_key_env: str = "MM_API_KEY"
    api_secret_env: str = "MM_API_SECRET"  # noqa: S105 - the name of a variable, not a secret
    api_password_env: str | None = None  # some venues also need a passphrase
    grpc_target: Annotated[str, Field(pattern=r"^\S+:\d{1,5}$")] | None = None  # "host:port"
    grpc_token_env: str = "MM_GRPC_TOKEN"  # noqa: S105 - the name of a variable, not a secret
    # TLS to the gateway: needed for any target but loopback. ``grpc_ca_cert``: a PEM file of the
    # CA that signed its certificate (None: the system's roots).
    grpc_tls: bool = False
    grpc_ca_cert: str | None = None
    # Base URL of a server speaking the exchange's API (our emulator, a testnet): every REST and
    # WebSocket URL of the exchange is moved onto it. None: the exchange itself (or its sandbox).
    endpoint: str | None = None
    # ccxt's own request spacing (a leaky bucket of the exchange's documented weights). Off: the bot
    # paces itself (lockouts, max_in_flight) and backs off on the venue's 429/418; on, it delays a
    # requote's second request by ~10 ms on Binance (bench/live_bench.py).
    client_rate_limit: bool = False

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, v: str | None) -> str | None:
        if v is not None and not _ENDPOINT.match(v):
            msg = "must be a base URL such as http://127.0.0.1:8080 (http or https, no query)"
            raise PydanticCustomError("endpoint", msg, {})
        return v

    @field_validator("api_key_env", "api_secret_env", "api_password_env", "grpc_token_env")
    @classmethod
    def _env_name(cls, v: str | None) -> str | None:
        if v is not None and not _ENV_NAME.match(v):
            msg = "must be the NAME of an environment variable (e.g. MM_API_KEY), not the secret"
            raise PydanticCustomError("env_name", msg, {})
        return v


class MetricsConfig(_Strict):
    """Prometheus exporter. ``kill_grace_s``: after a kill switch, ``/metrics`` stays up this long
    before the process exits, so Prometheus scrapes the trip (its alert fires); more than one scrape
    interval (deploy/prometheus.yml: 5 s); 0 exits at once."""

    enabled: bool = True
    host: str = "127.0.0.1"  # address to bind: a host name or IP, not empty, no whitespace
    port: Annotated[int, Field(ge=0, le=65535)] = 9464  # 0: pick a free port
    kill_grace_s: NonNeg = 10.0

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

    ``synchronous`` is SQLite's: ``NORMAL`` survives the process dying (SIGKILL, a crash), ``FULL``
    also a power loss, at an fsync (about a millisecond) before every order. ``auto`` is NORMAL: after
    a power loss the venue holds what a lost commit knew (orders carry the journal's tag and are
    adopted and cancelled; fills are fetched again from the last one the journal kept).
    """

    paper_path: str = "var/journal-paper.sqlite"
    live_path: str = "var/journal-live.sqlite"
    synchronous: Literal["auto", "NORMAL", "FULL"] = "auto"

    @model_validator(mode="after")
    def _check(self) -> Self:
        same = Path(self.paper_path) == Path(self.live_path)
        _cross(_when(same, "live_path", "must differ from paper_path: paper and live journals are separate"))
        return self

    def location(self, mode: str) -> tuple[str, Path]:
        """The config key and path of ``mode``'s journal ("paper" or "live")."""
        if mode not in ("paper", "live"):
            raise ValueError(f"mode must be 'paper' or 'live', got {mode!r}")
        return f"journal.{mode}_path", Path(self.live_path if mode == "live" else self.paper_path)

    @property
    def sqlite_synchronous(self) -> Literal["NORMAL", "FULL"]:
        """SQLite's ``synchronous`` for the journal (``auto`` is NORMAL)."""
        return "NORMAL" if self.synchronous == "auto" else self.synchronous


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
        no_source = self.paper.market_data == "exchange" and self.live.exchange_id is None
        p += _when(no_source, ("paper", "market_data"), "'exchange' needs live.exchange_id (ccxt's id)")
        target = self.live.grpc_target
        remote = target is not None and target.rsplit(":", 1)[0] not in LOOPBACK_HOSTS
        plain = remote and not self.live.grpc_tls
        p += _when(plain, ("live", "grpc_tls"), f"must be true for a target off this host ({target})")
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
