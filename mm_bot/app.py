"""The composition root: builds venues, cores, runners, journal, metrics and the view; owns the
TaskGroup; stops everything (own orders cancelled within a bounded time) and writes the summary.

Only this module knows which venue adapter is in use. ``run_app`` is async and takes its stop
signal and clock from the caller, so tests drive a real run end to end in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from mm_bot.config import AppConfig
from mm_bot.engine.ids import ClientOrderIds, run_prefix
from mm_bot.engine.market import MarketCore
from mm_bot.engine.runner import MarketRunner
from mm_bot.errors import ConfigError, KillSwitch
from mm_bot.journal import Journal
from mm_bot.metrics import Metrics, MetricsServer
from mm_bot.model import Side
from mm_bot.runtime import GcPolicy
from mm_bot.tui import LiveView, MarketView, RunView
from mm_bot.venues.sim import SimVenue
from mm_bot.wiring import market_params, refresh_interval_s, sim_exchange

log = structlog.get_logger("mm_bot.app")

SHUTDOWN_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class RunOptions:
    mode: str  # "paper" | "live"
    duration_s: float | None = None
    summary_json: Path | None = None
    tui: bool = False
    metrics_port: int | None = None  # overrides the config (tests pass 0)


@dataclass(slots=True)
class RunResult:
    exit_code: int
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class _Market:
    symbol: str
    core: MarketCore
    venue: SimVenue
    runner: MarketRunner
    max_position_base: float


def config_hash(cfg: AppConfig) -> str:
    return hashlib.sha256(cfg.model_dump_json().encode()).hexdigest()[:16]


async def run_app(
    cfg: AppConfig,
    opts: RunOptions,
    *,
    stop: asyncio.Event | None = None,
    clock_ns: Callable[[], int] = time.time_ns,
    registry: CollectorRegistry | None = None,
    on_started: Callable[[dict[str, Any]], None] | None = None,
) -> RunResult:
    """Run until ``stop`` is set, the duration elapses, a signal arrives, or a kill switch fires."""
    if opts.mode != "paper":
        raise ConfigError(
            [
                (
                    "markets[*].venue",
                    "live trading needs the CCXT or gRPC venue adapter, "
                    "which this version does not include yet; use --paper",
                )
            ]
        )
    stop = stop or asyncio.Event()
    start_ns = clock_ns()
    journal_path = Path(cfg.journal.paper_path)
    journal_path.parent.mkdir(parents=True, exist_ok=True)
    # The write-ahead of each order goes to the journal's mmap ring: a memory store inside the
    # decision window instead of a SQLite commit (bench/journal_bench.py); rows are committed after.
    journal = Journal.open(journal_path, intent_ring=True, ring_dir=_ring_dir(cfg.journal.intent_ring_dir))
    session = journal.start_session(opts.mode, config_hash(cfg), start_ns)
    registry = registry or CollectorRegistry()
    metrics = Metrics(registry, clock_ns=clock_ns)
    metrics.set_build_info(opts.mode)
    server: MetricsServer | None = None
    view: LiveView | None = None
    kill_reason: str | None = None
    markets: list[_Market] = []
    gc_policy = GcPolicy(idle=cfg.runtime.gc == "idle")
    try:
        ids_prefix = run_prefix(start_ns)
        for i, mcfg in enumerate(cfg.markets):
            key = f"paper/{mcfg.symbol}"
            saved = journal.load_balances(key) or None
            exchange = sim_exchange(cfg, mcfg, start_ns, saved)
            venue = SimVenue(exchange, mcfg.symbol, clock_ns=clock_ns)
            core = MarketCore(market_params(mcfg), ClientOrderIds(f"{ids_prefix}{i}"), start_ns)
            pos = journal.position(mcfg.symbol)
            if pos.fill_count:
                core.restore(
                    pos.position_lots,
                    pos.cash_quote,
                    pos.fees_quote,
                    venue.instrument.lots_of(f"{pos.volume_base:.12f}".rstrip("0")),
                    pos.fill_count,
                )
                log.info(
                    "position_restored",
                    market=mcfg.symbol,
                    position_base=pos.position_base,
                    cash_quote=pos.cash_quote,
                    fills=pos.fill_count,
                )
            runner = MarketRunner(
                core,
                venue,
                clock_ns=clock_ns,
                journal=journal,
                metrics=metrics.market(mcfg.symbol),
                refresh_interval_s=refresh_interval_s(mcfg),
                keep_warm_s=cfg.runtime.keep_warm_ms / 1000.0,
                gc_policy=gc_policy,
            )
            markets.append(_Market(mcfg.symbol, core, venue, runner, mcfg.risk.max_position_base))
        if cfg.metrics.enabled:
            port = cfg.metrics.port if opts.metrics_port is None else opts.metrics_port
            server = MetricsServer(registry, cfg.metrics.host, port)
            try:
                await server.start()
            except OSError as exc:  # e.g. the port is taken: a setting to change, not a crash
                server = None
                problem = f"cannot listen on {cfg.metrics.host}:{port}: {exc.strerror or exc}"
                raise ConfigError([("metrics.port", problem)]) from None
        metrics.set_up(True)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        if opts.tui:
            view = LiveView()
            view.start()
        log.info(
            "run_started",
            mode=opts.mode,
            markets=[m.symbol for m in markets],
            metrics_port=server.port if server else None,
        )
        if on_started is not None:
            on_started({"metrics_port": server.port if server else None})

        async def guarded(m: _Market) -> None:
            nonlocal kill_reason
            try:
                await m.runner.run()
            except KillSwitch as exc:
                kill_reason = exc.reason
                metrics.market(m.symbol).kill_switch(exc.reason)
                log.error("kill_switch_fired", market=m.symbol, reason=exc.reason)
                stop.set()

        async def show(view: LiveView) -> None:
            while True:
                view.update(_run_view(opts.mode, markets, clock_ns() - start_ns, kill_reason))
                await asyncio.sleep(0.25)

        crash: str | None = None
        gc_policy.start()
        try:
            async with asyncio.TaskGroup() as tg:
                tasks = [tg.create_task(guarded(m), name=f"market:{m.symbol}") for m in markets]
                if view is not None:  # without a terminal view there is nothing to refresh
                    tasks.append(tg.create_task(show(view), name="view"))
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(opts.duration_s):
                        await stop.wait()
                for task in tasks:
                    task.cancel()
        except* Exception as group:  # a crash still cancels every own order below
            crash = repr(group.exceptions[0])
            log.error("run_crashed", error=crash, exc_info=group.exceptions[0])
        # Every market task has ended: cancel own orders, bounded.
        open_at_exit = await asyncio.gather(*(m.runner.shutdown(SHUTDOWN_TIMEOUT_S) for m in markets))
        for m in markets:
            balances = (await m.venue.account()).balances
            journal.save_balances(f"paper/{m.symbol}", balances, clock_ns())
        duration_s = (clock_ns() - start_ns) / 1e9
        summary = _summary(opts.mode, duration_s, markets, list(open_at_exit), kill_reason)
        summary["error"] = crash
        if opts.summary_json is not None:
            opts.summary_json.parent.mkdir(parents=True, exist_ok=True)
            opts.summary_json.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        log.info("run_stopped", duration_s=round(duration_s, 3), kill_reason=kill_reason, error=crash)
        return RunResult(1 if kill_reason or crash else 0, summary)
    finally:
        gc_policy.stop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        if view is not None:
            view.stop()
        metrics.set_up(False)
        if server is not None:
            await server.stop()
        journal.end_session(session, clock_ns())
        journal.close()


def _ring_dir(setting: str) -> Path | None:
    """The journal's intent-ring directory. "auto": a private (0700, ours) directory on the tmpfs
    ``/dev/shm`` where there is one, so no other local user can plant or read the ring; else None
    (beside the journal)."""
    if setting != "auto":
        return Path(setting)
    shm = Path("/dev/shm")  # noqa: S108 - a private subdirectory is created and checked below
    if not (hasattr(os, "getuid") and shm.is_dir() and os.access(shm, os.W_OK)):
        return None
    private = shm / f"mm-bot-{os.getuid()}"
    try:
        private.mkdir(mode=0o700, exist_ok=True)
        st = private.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    return private


def _run_view(mode: str, markets: list[_Market], elapsed_ns: int, kill_reason: str | None) -> RunView:
    views = []
    for m in markets:
        core = m.core
        q = core.last_quote
        inst = core.instrument
        bid = core.orders.resting(Side.BUY)
        ask = core.orders.resting(Side.SELL)
        bid_px = inst.price_of(bid.request.price_ticks) if bid else None
        ask_px = inst.price_of(ask.request.price_ticks) if ask else None
        mid = core.mid if core.mid == core.mid else None
        a, k, _ = core.intensity_a_k(core.start_ns + elapsed_ns)
        status = (
            "fixed"
            if core.intensity is None
            else core.intensity.calibration(core.start_ns + elapsed_ns).status
        )
        views.append(
            MarketView(
                symbol=m.symbol,
                mid=mid,
                reservation_price=q.reservation_price if q else None,
                bid_price=bid_px,
                ask_price=ask_px,
                spread_bps=(ask_px - bid_px) / mid * 1e4 if (bid_px and ask_px and mid) else None,
                sigma=core.sigma(),
                intensity_a=a,
                intensity_k=k,
                intensity_status=status,
                position_base=core.position_base,
                max_position_base=m.max_position_base,
                pnl_quote=core.pnl_quote(),
                fees_quote=core.fees_quote,
                fills=core.stats.fills,
                volume_base=inst.qty_of(core.stats.volume_lots),
                open_orders=len(core.orders.live_orders()),
                recent_decisions=tuple(core.recent),
                base_asset=inst.base,
                quote_asset=inst.quote,
            )
        )
    return RunView(mode, elapsed_ns / 1e9, tuple(views), kill_reason)


def _summary(
    mode: str, duration_s: float, markets: list[_Market], open_at_exit: list[int], kill_reason: str | None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "mode": mode,
        "duration_s": round(duration_s, 3),
        "kill_reason": kill_reason,
        "markets": {},
    }
    for m, still_open in zip(markets, open_at_exit, strict=True):
        core, st, inst = m.core, m.core.stats, m.core.instrument
        out["markets"][m.symbol] = {
            "quotes_sent": st.quotes_sent,
            "cancels_sent": st.cancels_sent,
            "fills": st.fills,
            "volume_base": inst.qty_of(st.volume_lots),
            "position_base": core.position_base,
            "max_abs_position_base": inst.qty_of(st.max_abs_position_lots),
            "max_position_base": m.max_position_base,
            "pnl_quote": core.pnl_quote(),
            "fees_quote": core.fees_quote,
            "decision_reasons": dict(sorted(st.decision_reasons.items())),
            "open_orders_at_exit": still_open,
            "decision_latency_us": m.runner.latency_summary_us(),
            "core_latency_us": m.runner.latency_summary_us("core"),
            "mid": core.mid if core.mid == core.mid else None,
            "sigma": core.sigma(),
            "intensity": _intensity(core),
            "book_updates": st.book_updates,
            "trades_seen": st.trades_seen,
            "malformed_events": dict(st.malformed),
            "one_sided_books": st.one_sided_books,
            "rejects": dict(st.rejects),
            "kill_reason": core.kill_reason,
        }
    return out


def _intensity(core: MarketCore) -> dict[str, Any]:
    """The A/k in use and, when estimated online, the calibration behind them (buckets, fit, r2)."""
    if core.intensity is None:
        a, k, _ = core.intensity_a_k(core.start_ns)
        return {"source": "fixed", "a_per_s": a, "k_per_price": k}
    cal = core.intensity.fit(core.last_book_ns or core.start_ns)
    out: dict[str, Any] = {"source": "estimated"}
    for name in (
        "A_per_s",
        "k_per_price",
        "status",
        "ready",
        "clamped",
        "r2",
        "fit_A_per_s",
        "fit_k_per_price",
        "bucket_depths_price",
        "bucket_rates_per_s",
        "decayed_trades",
        "trades_accepted",
        "trades_rejected",
    ):
        value = getattr(cal, name, None)
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


def run(cfg: AppConfig, opts: RunOptions) -> RunResult:
    """Blocking entry point for the CLI: uvloop when available."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency everywhere but Windows
        return asyncio.run(run_app(cfg, opts))
    return uvloop.run(run_app(cfg, opts))


def format_summary(summary: dict[str, Any]) -> str:
    """A few human lines about the run (the JSON summary has everything)."""
    lines = [
        f"{summary['mode']} run: {summary['duration_s']:.1f} s"
        + (f", KILLED: {summary['kill_reason']}" if summary.get("kill_reason") else "")
    ]
    for symbol, m in summary["markets"].items():
        lat = m["decision_latency_us"]
        top = sorted(m["decision_reasons"].items(), key=lambda kv: -kv[1])[:4]
        lines.append(
            f"  {symbol}: quotes {m['quotes_sent']}, cancels {m['cancels_sent']}, fills {m['fills']} "
            f"({m['volume_base']:.6g} base), position {m['position_base']:+.6g} "
            f"(max |{m['max_abs_position_base']:.6g}|), pnl {m['pnl_quote']:+.4f}, "
            f"fees {m['fees_quote']:+.4f}, open at exit {m['open_orders_at_exit']}"
        )
        lines.append(
            f"    decision latency p50 {lat['p50']} us, p99 {lat['p99']} us; top reasons: "
            + ", ".join(f"{k} {v}" for k, v in top)
        )
    return "\n".join(lines)
