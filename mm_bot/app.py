"""The composition root: builds venues, cores, runners, journal, metrics and the view; owns the
TaskGroup; stops everything (own orders cancelled within a bounded time) and writes the summary.

Only this module and ``markets`` (which builds each market's venue) know which adapter is in use.
``run_app`` is async and takes its stop signal and clock from the caller, so tests drive a real run
end to end in-process.

Stopping: SIGINT, SIGTERM and SIGHUP set the stop event (a second signal changes nothing: the
cleanup always runs to its end), as do ``--duration``, a fired kill switch and a journal that cannot
be written. Every runner then cancels its orders (bounded), the summary is written, the journal's
session is closed. The signal handlers stay installed until all of that is done.

After a kill switch ``/metrics`` stays up for ``metrics.kill_grace_s`` more (a signal ends that wait),
so that Prometheus scrapes the trip before the process is gone and the kill-switch alert fires.

Exit codes (``RunResult.exit_code``): 0 ok, 1 a crash or a failure to write the journal, summary or
report, 3 a kill switch (whatever else went wrong: a supervisor must not restart into the same loss).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from mm_bot.clock import steady_wall_clock
from mm_bot.config import AppConfig
from mm_bot.engine.ids import run_prefix
from mm_bot.errors import EXIT_ERROR, EXIT_KILL_SWITCH, EXIT_OK, ConfigError, KillSwitch, VenueError
from mm_bot.journal import Journal, JournalError, JournalLocked
from mm_bot.markets import Market, live_market, paper_market
from mm_bot.metrics import Metrics, MetricsServer
from mm_bot.model import Side
from mm_bot.run_report import SessionReport
from mm_bot.summary import format_summary, market_summary
from mm_bot.tui import LiveView, MarketView, RunView

log = structlog.get_logger("mm_bot.app")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
__all__ = [
    "EXIT_ERROR",
    "EXIT_KILL_SWITCH",
    "EXIT_OK",
    "RunOptions",
    "RunResult",
    "format_summary",
    "run",
    "run_app",
]


@dataclass(frozen=True, slots=True)
class RunOptions:
    mode: str  # "paper" | "live"
    duration_s: float | None = None
    summary_json: Path | None = None
    tui: bool = False
    metrics_port: int | None = None  # overrides the config (tests pass 0)
    report_dir: Path | None = None  # write the session's HTML report here at exit


@dataclass(slots=True)
class RunResult:
    exit_code: int  # EXIT_OK, EXIT_ERROR or EXIT_KILL_SWITCH
    summary: dict[str, Any] = field(default_factory=dict)


def config_hash(cfg: AppConfig) -> str:
    return hashlib.sha256(cfg.model_dump_json().encode()).hexdigest()[:16]


def open_journal(cfg: AppConfig, mode: str) -> Journal:
    """The mode's journal, refused with a config error naming it if another process holds it."""
    key, path = cfg.journal.location(mode)
    try:
        return Journal.open(path, synchronous=cfg.journal.sqlite_synchronous)
    except JournalLocked as exc:
        raise ConfigError([(key, str(exc))], "run") from None


async def run_app(
    cfg: AppConfig,
    opts: RunOptions,
    *,
    stop: asyncio.Event | None = None,
    clock_ns: Callable[[], int] | None = None,
    registry: CollectorRegistry | None = None,
    on_started: Callable[[dict[str, Any]], None] | None = None,
) -> RunResult:
    """Run until ``stop`` is set, the duration elapses, a signal arrives, or a kill switch fires.
    ``clock_ns``: the clock of the whole run (default: the wall clock that never steps, ``clock``)."""
    clock_ns = clock_ns or steady_wall_clock()
    stop = stop or asyncio.Event()
    signalled = asyncio.Event()  # a stop signal arrived (``stop`` may also have been set by the run)
    start_ns = clock_ns()
    journal = open_journal(cfg, opts.mode)
    with _signals_set(stop, signalled), contextlib.closing(journal):
        session = journal.start_session(opts.mode, config_hash(cfg), start_ns)
        crashed = journal.close_crashed_sessions(start_ns)
        if crashed:
            log.warning("crashed_sessions_closed", sessions=crashed)
        try:
            return await _run(
                cfg,
                opts,
                journal,
                stop,
                signalled,
                clock_ns,
                registry or CollectorRegistry(),
                on_started,
                start_ns,
            )
        finally:
            with contextlib.suppress(JournalError):
                journal.end_session(session, clock_ns())


async def _run(
    cfg: AppConfig,
    opts: RunOptions,
    journal: Journal,
    stop: asyncio.Event,
    signalled: asyncio.Event,  # a stop signal arrived (``stop`` is also set by the run itself)
    clock_ns: Callable[[], int],
    registry: CollectorRegistry,
    on_started: Callable[[dict[str, Any]], None] | None,
    start_ns: int,
) -> RunResult:
    metrics = Metrics(registry, clock_ns=clock_ns)
    metrics.set_build_info(opts.mode)
    prefix = run_prefix(start_ns, journal.order_tag)
    markets: list[Market] = []  # their venues are closed at the end, whatever happens
    try:
        build = live_market if opts.mode == "live" else paper_market
        for i in range(len(cfg.markets)):
            markets.append(await build(cfg, i, f"{prefix}{i}", journal, metrics, clock_ns, start_ns))
        report = None if opts.report_dir is None else SessionReport(opts.report_dir, opts.mode)
        if report is not None:
            report.attach(markets)
        result = await _trade_all(
            cfg, opts, journal, stop, signalled, clock_ns, registry, metrics, markets, on_started, start_ns
        )
        if report is not None and not report.write(start_ns, clock_ns()):
            result.exit_code = result.exit_code or EXIT_ERROR
        return result
    finally:
        for m in markets:
            await m.venue.close()


async def _trade_all(
    cfg: AppConfig,
    opts: RunOptions,
    journal: Journal,
    stop: asyncio.Event,
    signalled: asyncio.Event,  # a stop signal arrived (``stop`` is also set by the run itself)
    clock_ns: Callable[[], int],
    registry: CollectorRegistry,
    metrics: Metrics,
    markets: list[Market],
    on_started: Callable[[dict[str, Any]], None] | None,
    start_ns: int,
) -> RunResult:
    server = None
    if cfg.metrics.enabled:
        port = cfg.metrics.port if opts.metrics_port is None else opts.metrics_port
        server = MetricsServer(registry, cfg.metrics.host, port)
        try:
            await server.start()
        except OSError as exc:  # e.g. the port is taken: a setting to change, not a crash
            problem = f"cannot listen on {cfg.metrics.host}:{port}: {exc.strerror or exc}"
            if opts.metrics_port is None:
                raise ConfigError([("metrics.port", problem)]) from None
            raise ConfigError([("--metrics-port", problem)], "arguments") from None
    view = LiveView() if opts.tui else None
    kill_reason: str | None = None
    failure: str | None = None
    try:
        metrics.set_up(True)
        if view is not None:
            view.start()
        log.info(
            "run_started",
            mode=opts.mode,
            markets=[m.symbol for m in markets],
            metrics_port=server.port if server else None,
        )
        if on_started is not None:
            on_started({"metrics_port": server.port if server else None})

        async def trade(m: Market) -> None:
            nonlocal kill_reason, failure
            try:
                await m.runner.run(stop)
            except KillSwitch as exc:  # counted in the metrics by the market's recorder when it fired
                kill_reason = exc.reason
                log.error("kill_switch_fired", market=m.symbol, reason=exc.reason)
                stop.set()
            except JournalError as exc:
                failure = f"journal: {exc}"
                stop.set()
            except Exception as exc:  # a crash: this market cancelled at the venue; the others stop too
                failure = failure or repr(exc)
                log.error("market_crashed", market=m.symbol, error=repr(exc), exc_info=exc)
                stop.set()

        async def show(view: LiveView) -> None:
            while not stop.is_set():
                view.update(_run_view(opts.mode, markets, clock_ns() - start_ns, kill_reason))
                await asyncio.sleep(0.25)

        try:
            async with asyncio.TaskGroup() as tg:
                for m in markets:
                    tg.create_task(trade(m), name=f"market:{m.symbol}")
                if view is not None:
                    tg.create_task(show(view), name="view")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(opts.duration_s):
                        await stop.wait()
                stop.set()
        except* Exception as group:  # the terminal view failed; the markets stopped on their own
            failure = repr(group.exceptions[0])
            log.error("run_crashed", error=failure, exc_info=group.exceptions[0])
        duration_s = (clock_ns() - start_ns) / 1e9
        summary = _summary(opts.mode, duration_s, markets, kill_reason, failure)
        for m in markets:
            with contextlib.suppress(JournalError, VenueError, TimeoutError):
                async with asyncio.timeout(cfg.execution.request_timeout_ms / 1000.0):
                    balances = (await m.venue.account()).balances
                journal.save_balances(f"{opts.mode}/{m.symbol}", balances, clock_ns())
        written = _write_summary(opts.summary_json, summary)
        log.info("run_stopped", duration_s=round(duration_s, 3), kill_reason=kill_reason, error=failure)
        if kill_reason is not None:
            if server is not None:
                metrics.set_up(False)
                await _serve_after_kill(cfg.metrics.kill_grace_s, signalled)
            return RunResult(EXIT_KILL_SWITCH, summary)
        return RunResult(EXIT_ERROR if failure or not written else EXIT_OK, summary)
    finally:
        if view is not None:
            view.stop()
        metrics.set_up(False)
        if server is not None:
            await server.stop()


async def _serve_after_kill(grace_s: float, signalled: asyncio.Event) -> None:
    """Wait ``grace_s`` (the metrics server still up), or until a stop signal arrives."""
    if grace_s <= 0 or signalled.is_set():
        return
    log.info("metrics_kept_up_after_kill", seconds=grace_s)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(grace_s):
            await signalled.wait()


@contextlib.contextmanager
def _signals_set(stop: asyncio.Event, signalled: asyncio.Event) -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP set ``stop`` and ``signalled`` until the block ends, cleanup included.
    Once one has been received the process is on its way out: from the end of the block on, these
    signals are ignored, so nothing interrupts the last steps (closing the journal, printing the
    summary)."""
    loop = asyncio.get_running_loop()
    received: list[signal.Signals] = []
    installed = []
    for sig in STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, _on_signal, (stop, signalled), sig, received)
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
            if received:
                signal.signal(sig, signal.SIG_IGN)


def _on_signal(
    events: tuple[asyncio.Event, asyncio.Event], sig: signal.Signals, received: list[signal.Signals]
) -> None:
    if received:
        log.warning("signal_ignored_while_stopping", signal=sig.name)
    else:
        log.info("signal_received", signal=sig.name)
    received.append(sig)
    for event in events:
        event.set()


def _write_summary(path: Path | None, summary: dict[str, Any]) -> bool:
    """Write the summary JSON; a failure is logged (the summary is printed anyway), never raised."""
    if path is None:
        return True
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    except OSError as exc:
        log.error("summary_write_failed", path=str(path), error=str(exc))
        return False
    return True


def _summary(
    mode: str, duration_s: float, markets: list[Market], kill_reason: str | None, error: str | None
) -> dict[str, Any]:
    return {
        "mode": mode,
        "duration_s": round(duration_s, 3),
        "kill_reason": kill_reason,
        "error": error,
        "markets": {
            m.symbol: market_summary(m.core, m.runner, m.runner.still_open, m.max_position_base)
            for m in markets
        },
    }


def _run_view(mode: str, markets: list[Market], elapsed_ns: int, kill_reason: str | None) -> RunView:
    views = []
    for m in markets:
        core = m.core
        q = core.quoter.last_quote
        inst = core.instrument
        bid = core.table.resting(Side.BUY)
        ask = core.table.resting(Side.SELL)
        bid_px = inst.price_of(bid.request.price_ticks) if bid else None
        ask_px = inst.price_of(ask.request.price_ticks) if ask else None
        mid = core.book.mid if core.book.mid == core.book.mid else None
        a, k = core.quoter.last_a_k
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
                intensity_status=core.quoter.status,
                position_base=core.ledger.position_base,
                max_position_base=m.max_position_base,
                pnl_quote=core.pnl_quote(),
                fees_quote=core.ledger.fees_quote,
                fills=core.ledger.fills,
                volume_base=inst.qty_of(core.ledger.volume_lots),
                open_orders=len(core.table.live_orders()),
                recent_decisions=tuple((ts, d.side.label, d.label) for ts, d in core.recent),
                base_asset=inst.base,
                quote_asset=inst.quote,
            )
        )
    return RunView(mode, elapsed_ns / 1e9, tuple(views), kill_reason)


def run(cfg: AppConfig, opts: RunOptions) -> RunResult:
    """Blocking entry point for the CLI: uvloop when available."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency everywhere but Windows
        return asyncio.run(run_app(cfg, opts))
    return uvloop.run(run_app(cfg, opts))
