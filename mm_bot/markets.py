"""Building one market for a run: its venue, a core that continues where the journal left off, and
the runner between them. Paper and live differ only in the venue and where the starting balances
come from:

- paper: the simulated account holds the configured balances plus what the journal's fills changed,
  whatever the last exit was (clean or SIGKILL); every balance is compared on reconciliation;
- live: the venue's balances at the first live start on this account are the baseline the journal
  keeps; position continues from the journal's fills and is checked against the base balance now
  minus that baseline (the quote asset may be shared with other markets and is not compared).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
import structlog

from mm_bot.config import AppConfig, MarketConfig, live_credentials, read_secret
from mm_bot.engine.ids import ClientOrderIds
from mm_bot.engine.market import CoreRestore, MarketCore
from mm_bot.errors import ConfigError, CredentialsRefused, VenueMismatch
from mm_bot.journal import Journal, JournalOrder, utc_day
from mm_bot.live.runner import MarketRunner, RunnerSettings
from mm_bot.logging import register_secret
from mm_bot.metrics import Metrics
from mm_bot.model import OrderRequest
from mm_bot.venues.base import Venue
from mm_bot.venues.ccxt import CcxtVenue
from mm_bot.venues.ccxt_client import make_exchange
from mm_bot.venues.grpc import GrpcVenue
from mm_bot.venues.mirrored import MirroredVenue
from mm_bot.venues.sim import SimVenue
from mm_bot.wiring import instrument, market_params, refresh_interval_s, sim_exchange

log = structlog.get_logger("mm_bot.markets")


@dataclass(slots=True)
class Market:
    symbol: str
    core: MarketCore
    venue: Venue
    runner: MarketRunner
    max_position_base: float


async def paper_market(
    cfg: AppConfig,
    index: int,
    prefix: str,
    journal: Journal,
    metrics: Metrics,
    clock_ns: Callable[[], int],
    start_ns: int,
) -> Market:
    """One paper market: its simulated account holds the balances the journal's fills imply; the
    book is the synthetic market's, or a real venue's mirrored (``paper.market_data: exchange``)."""
    mcfg = cfg.markets[index]
    account = f"paper/{mcfg.symbol}"
    configured = {a: v for a, v in cfg.paper.balances.items() if a in (mcfg.base_asset, mcfg.quote_asset)}
    journal.set_starting_balances(account, configured, start_ns)
    starting = journal.starting_balances(account)
    core = restored_core(cfg, mcfg, prefix, journal, starting, start_ns)
    core.reconciler.compare_assets = frozenset(starting)  # one exchange per market: nothing shared
    balances = dict(starting)
    balances[mcfg.base_asset] = balances.get(mcfg.base_asset, 0.0) + core.ledger.position_base
    balances[mcfg.quote_asset] = balances.get(mcfg.quote_asset, 0.0) + core.ledger.cash_quote
    mirrored = cfg.paper.market_data == "exchange"
    exchange = sim_exchange(cfg, mcfg, start_ns, balances, synthetic=not mirrored)
    sim = SimVenue(exchange, mcfg.symbol, clock_ns=clock_ns)
    venue: Venue = sim
    if mirrored:
        venue = MirroredVenue(_market_data_venue(cfg, index, clock_ns), sim, clock_ns=clock_ns)
    await _start(venue, index, "live.api_key_env")
    return _assemble(cfg, mcfg, core, venue, journal, metrics, clock_ns)


async def live_market(
    cfg: AppConfig,
    index: int,
    prefix: str,
    journal: Journal,
    metrics: Metrics,
    clock_ns: Callable[[], int],
    start_ns: int,
) -> Market:
    """One live market through CCXT or a gRPC gateway: the venue is started (market checked against
    the config, credentials tried) before the core is built from the journal and the venue's
    balances."""
    mcfg = cfg.markets[index]
    venue: Venue
    if mcfg.venue == "grpc":
        venue = grpc_venue(cfg, index, journal.order_tag, clock_ns)
        await _start(venue, index, "live.grpc_token_env")
    else:
        venue = ccxt_venue(cfg, index, journal.order_tag, clock_ns)
        await _start(venue, index, "live.api_key_env")
    try:
        balances = (await venue.account()).balances
    except BaseException:
        await venue.close()
        raise
    account = _account_key(cfg, mcfg)
    if not journal.starting_balances(account) and journal.totals(mcfg.symbol).fill_count:
        await venue.close()
        problem = (
            f"holds {mcfg.symbol} fills from another venue account than {account.rsplit('/', 1)[0]}: "
            "its position is not this account's; use a new journal, or the venue it was made with"
        )
        raise ConfigError([("journal.live_path", problem)], "run")
    journal.set_starting_balances(account, balances, start_ns)
    starting = journal.starting_balances(account)
    core = restored_core(
        cfg, mcfg, prefix, journal, starting, start_ns, journal.starting_balances_set_ns(account)
    )
    core.reconciler.compare_assets = frozenset({mcfg.base_asset})
    return _assemble(cfg, mcfg, core, venue, journal, metrics, clock_ns)


def _account_key(cfg: AppConfig, mcfg: MarketConfig) -> str:
    """The journal's name of the venue account a live market trades on."""
    live = cfg.live
    if mcfg.venue == "grpc":
        return f"live/grpc/{live.grpc_target}/{mcfg.symbol}"
    where = live.endpoint or ("sandbox" if live.sandbox else "production")
    return f"live/{live.exchange_id}/{where}/{mcfg.symbol}"


def grpc_venue(cfg: AppConfig, index: int, tag: str, clock_ns: Callable[[], int] = time.time_ns) -> GrpcVenue:
    """The gRPC gateway venue of market ``index`` (``live.grpc_*``), not started. The token comes
    from the environment variable ``live.grpc_token_env`` names; TLS from ``live.grpc_tls``."""
    live = cfg.live
    assert live.grpc_target is not None  # the config requires it with venue: grpc
    token = read_secret(live.grpc_token_env, "live.grpc_token_env").get_secret_value()
    register_secret(token)
    credentials = None
    if live.grpc_tls:
        roots = None
        if live.grpc_ca_cert is not None:
            try:
                roots = Path(live.grpc_ca_cert).read_bytes()
            except OSError as exc:
                problem = f"cannot read {live.grpc_ca_cert}: {exc.strerror or exc}"
                raise ConfigError([("live.grpc_ca_cert", problem)], "run") from None
        credentials = grpc.ssl_channel_credentials(root_certificates=roots)
    attempts = 3
    return GrpcVenue(
        live.grpc_target,
        token,
        instrument(cfg.markets[index]),
        tag=tag,
        credentials=credentials,
        clock_ns=clock_ns,
        call_timeout_s=cfg.execution.request_timeout_ms / 1000.0 / attempts,
        place_attempts=attempts,
    )


def ccxt_venue(cfg: AppConfig, index: int, tag: str, clock_ns: Callable[[], int] = time.time_ns) -> CcxtVenue:
    """The CCXT venue of market ``index`` for the orders whose client ids start with ``tag``, not
    started; its failures at start become config errors."""
    mcfg, live = cfg.markets[index], cfg.live
    if mcfg.venue != "ccxt":
        what = "sim is for --paper"
        raise ConfigError(
            [(f"markets[{index}].venue", f"live trading needs venue: ccxt or grpc ({what})")], "run"
        )
    if live.exchange_id is None:
        raise ConfigError([("live.exchange_id", "venue ccxt needs a ccxt exchange id, e.g. binance")], "run")
    creds = live_credentials(live)
    for secret in (creds.api_key, creds.api_secret, creds.password):
        if secret is not None:  # ccxt logs request headers (the key among them) at DEBUG: redacted
            register_secret(secret.get_secret_value())
    try:
        exchange = make_exchange(
            live.exchange_id,
            api_key=creds.api_key.get_secret_value(),
            api_secret=creds.api_secret.get_secret_value(),
            password=creds.password.get_secret_value() if creds.password else None,
            endpoint=live.endpoint,
            sandbox=live.sandbox,
            timeout_ms=cfg.execution.request_timeout_ms,
            rate_limit=live.client_rate_limit,
        )
    except KeyError:
        raise ConfigError(
            [("live.exchange_id", f"ccxt has no exchange {live.exchange_id!r}")], "run"
        ) from None
    return CcxtVenue(exchange, instrument(mcfg), tag=tag, clock_ns=clock_ns)


def _market_data_venue(cfg: AppConfig, index: int, clock_ns: Callable[[], int]) -> CcxtVenue:
    """The public book and trades of ``live.exchange_id`` (no keys) for market ``index``."""
    live = cfg.live
    assert live.exchange_id is not None  # the config requires it with paper.market_data: exchange
    try:
        exchange = make_exchange(
            live.exchange_id,
            api_key="",
            api_secret="",
            endpoint=live.endpoint,
            sandbox=live.sandbox,
            timeout_ms=cfg.execution.request_timeout_ms,
        )
    except KeyError:
        raise ConfigError(
            [("live.exchange_id", f"ccxt has no exchange {live.exchange_id!r}")], "run"
        ) from None
    return CcxtVenue(exchange, instrument(cfg.markets[index]), tag="", clock_ns=clock_ns, private=False)


async def _start(venue: Venue, index: int, credentials_key: str) -> None:
    """Start ``venue``; a market that does not match the config, or refused credentials, is a config
    error naming what to change; on any failure the venue is closed."""
    try:
        await venue.start()
    except VenueMismatch as exc:
        await venue.close()
        raise ConfigError([(f"markets[{index}]", str(exc))], "venue") from None
    except CredentialsRefused as exc:
        await venue.close()
        raise ConfigError([(credentials_key, str(exc))], "venue") from None
    except BaseException:
        await venue.close()
        raise


def restored_core(
    cfg: AppConfig,
    mcfg: MarketConfig,
    prefix: str,
    journal: Journal,
    starting: dict[str, float],
    start_ns: int,
    no_fill_before_ns: int | None = None,
) -> MarketCore:
    """A core continuing the journal's record of ``mcfg``'s market: fills, unsettled orders, the UTC
    day's loss baseline and the balances before any fill."""
    totals = journal.totals(mcfg.symbol)
    unsettled = journal.open_orders(mcfg.symbol)
    filled = _filled_lots(journal, mcfg.symbol, unsettled)
    restore = CoreRestore(
        totals=totals,
        fill_keys=journal.fill_keys(mcfg.symbol),
        inherited=tuple((_request(o), o.created_ns, filled.get(o.client_order_id, 0)) for o in unsettled),
        day_baseline=_day_baseline(journal, mcfg.symbol, start_ns),
        no_fill_before_ns=no_fill_before_ns,
        baseline=starting,
    )
    params = market_params(mcfg, cfg.execution, journal.order_tag)
    core = MarketCore(params, ClientOrderIds(prefix), start_ns)
    core.restore(restore)
    if totals.fill_count:
        log.info(
            "position_restored",
            market=mcfg.symbol,
            position_base=core.ledger.position_base,
            cash_quote=core.ledger.cash_quote,
            fills=totals.fill_count,
        )
    return core


def _assemble(
    cfg: AppConfig,
    mcfg: MarketConfig,
    core: MarketCore,
    venue: Venue,
    journal: Journal,
    metrics: Metrics,
    clock_ns: Callable[[], int],
) -> Market:
    e = cfg.execution
    settings = RunnerSettings(
        refresh_interval_s=refresh_interval_s(mcfg),
        request_timeout_s=e.request_timeout_ms / 1000.0,
        max_in_flight=e.max_in_flight,
        shutdown_timeout_s=e.shutdown_timeout_s,
    )
    runner = MarketRunner(
        core,
        venue,
        clock_ns=clock_ns,
        journal=journal,
        metrics=metrics.market(mcfg.symbol),
        settings=settings,
    )
    return Market(mcfg.symbol, core, venue, runner, mcfg.risk.max_position_base)


def _filled_lots(journal: Journal, market: str, orders: list[JournalOrder]) -> dict[str, int]:
    """Lots of each of ``orders`` that the journal's fills filled."""
    if not orders:
        return {}
    out: dict[str, int] = {}
    for fill in journal.fills(market, since_ts_ns=min(o.created_ns for o in orders)):
        out[fill.client_order_id] = out.get(fill.client_order_id, 0) + fill.qty_lots
    return out


def _request(o: JournalOrder) -> OrderRequest:
    return OrderRequest(o.client_order_id, o.side, o.price_ticks, o.qty_lots, o.order_type)


def _day_baseline(journal: Journal, market: str, now_ns: int) -> tuple[int, float] | None:
    day = utc_day(now_ns)
    pnl = journal.day_baseline(market, day)
    return None if pnl is None else (day, pnl)
