"""``run_backtest``: a recorded book, a config, and the same ``MarketCore`` that trades live, in virtual time.

The core is built as ``mm_bot/markets.py`` builds a paper market's (``wiring.market_params`` from
the market's config, restored with the starting balances as the reconciliation baseline), with
client order ids ``run_prefix(start, "bt")``. The venue is ``sim.replay.ReplayVenue`` over the
recording (``sim/replay/__init__.py`` states every assumption it makes); ``driver.drive`` runs the
two with the refresh timer of ``quoting.refresh_interval_ms``. Defaults come from the paper
section: fees ``paper.fees``, entry and response latency ``paper.latency.order_ms``, starting
balances ``paper.balances`` (the market's two assets); the feed latency is the recording's own
("recorded": its receive times, clock-corrected).

Nothing here reads a clock or a file: the same recording, config and arguments give the same
trace and summary, byte for byte. ``seed`` is recorded in the summary; no model here draws
random numbers, so it changes nothing yet.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal, cast

from mm_bot.backtest.driver import Progress, drive
from mm_bot.backtest.recorder import TraceRecorder
from mm_bot.backtest.trace import RunTrace
from mm_bot.config import AppConfig, MarketConfig
from mm_bot.engine.ids import ClientOrderIds, run_prefix
from mm_bot.engine.market import CoreRestore, MarketCore
from mm_bot.errors import ConfigError
from mm_bot.live.runner import MarketRunner
from mm_bot.summary import market_summary
from mm_bot.wiring import MS, market_params, refresh_interval_s
from sim.data import Recording
from sim.events import Instrument as SimInstrument
from sim.replay import QueueModel, ReplayConfig, ReplayVenue, Tape, queue_model

__all__ = ["ACCOUNT", "TAG", "BacktestResult", "Latency", "check_market", "replay_venue", "run_backtest"]

TAG = "bt"  # client order ids of backtests start with it
ACCOUNT = "backtest"
LatencyValue = int | Literal["recorded"]


@dataclass(frozen=True, slots=True)
class Latency:
    """``feed``: the strategy sees a message at its recorded (clock-corrected) receive time, or this
    many ns after the venue applied it. ``entry`` / ``response``: an order's way to the venue and the
    answer's way back, in ns, or ``"recorded"`` (the latest recorded feed latency).
    ``base_ns``: the smallest feed latency left after correcting a recorder clock that runs behind
    the venue's."""

    feed: LatencyValue = "recorded"
    entry: LatencyValue = 20 * MS
    response: LatencyValue = 20 * MS
    base_ns: int = 0

    @classmethod
    def from_config(cls, cfg: AppConfig) -> Latency:
        order = cfg.paper.latency.order_ms * MS
        return cls(entry=order, response=order)

    def to_json(self) -> dict[str, Any]:
        return {"feed": self.feed, "entry": self.entry, "response": self.response, "base_ns": self.base_ns}


@dataclass(frozen=True, slots=True, eq=False)
class BacktestResult:
    trace: RunTrace
    summary: dict[str, Any]
    """The run contract's ``--summary-json`` object (``mode`` "backtest", ``duration_s`` of virtual
    time, ``markets`` by symbol as ``mm_bot.summary.market_summary``) plus ``backtest``: the data,
    the models and the replay's counts."""
    core: MarketCore
    venue: ReplayVenue


class _NoRequests:
    """``market_summary`` reads one thing of the runner, its decision latency: a backtest makes no
    real requests, so there is none to report."""

    def latency_summary_us(self) -> dict[str, Any]:
        return {"p50": None, "p99": None, "max": None, "samples": 0}


def run_backtest(
    recording: Recording,
    cfg: AppConfig,
    *,
    market: int = 0,
    queue: str | QueueModel = "conservative",
    latency: Latency | None = None,
    seed: int = 0,
    book_levels: int = 20,
    balances: dict[str, float] | None = None,
    sample_interval_ns: int = 100 * MS,
    tape: Tape | None = None,
    progress: Progress | None = None,
) -> BacktestResult:
    """Replay ``recording`` through the core of ``cfg.markets[market]``.

    ``queue``: a ``sim.replay.queue_model`` name or a model. ``book_levels``: the levels per side of
    every book the core gets (20, as the CCXT venue's default). ``tape``: a ``Tape`` prepared from
    this recording with ``latency.feed`` and ``latency.base_ns`` (several runs can share one)."""
    mcfg = cfg.markets[market]
    check_market(recording, mcfg, market)
    latency = latency or Latency.from_config(cfg)
    model = queue_model(queue) if isinstance(queue, str) else queue
    if tape is None:
        tape = Tape(recording, feed=latency.feed, base_latency_ns=latency.base_ns)
    elif tape.meta is not recording.meta or tape.feed != latency.feed:
        raise ValueError("the tape was prepared from another recording or with another feed latency")
    wanted = (mcfg.base_asset, mcfg.quote_asset)
    source = cfg.paper.balances if balances is None else balances
    starting = {asset: float(source.get(asset, 0.0)) for asset in wanted}
    start_ns = tape.start_ns
    core = MarketCore(
        market_params(mcfg, cfg.execution, TAG), ClientOrderIds(run_prefix(start_ns, TAG)), start_ns
    )
    core.restore(CoreRestore(baseline=starting))
    core.reconciler.compare_assets = frozenset(starting)
    venue = replay_venue(tape, cfg, mcfg, latency, model, book_levels, starting)
    recorder = TraceRecorder(core, sample_interval_ns)
    handled = drive(
        core,
        venue,
        account=ACCOUNT,
        refresh_ns=round(refresh_interval_s(mcfg) * 1e9),
        end_ns=tape.end_ns,
        on_book=recorder.on_book,
        on_fill=recorder.on_fill,
        progress=progress,
    )
    trace = recorder.build(symbol=mcfg.symbol, start_ns=start_ns, end_ns=tape.end_ns)
    open_at_exit = len(venue.open_orders(ACCOUNT))
    runner = cast(MarketRunner, _NoRequests())  # see _NoRequests
    summary = {
        "mode": "backtest",
        "duration_s": (tape.end_ns - start_ns) / 1e9,
        "kill_reason": core.kill_reason,
        "error": None,
        "markets": {mcfg.symbol: market_summary(core, runner, open_at_exit, mcfg.risk.max_position_base)},
        "backtest": {
            "data": list(recording.meta.sources),
            "data_symbol": recording.meta.symbol,
            "queue_model": model.name,
            "latency": latency.to_json(),
            "clock_shift_ns": tape.clock_shift_ns,
            "book_levels": book_levels,
            "seed": seed,
            "messages": len(tape),
            "events": tape.events,
            "core_events": handled,
            "decisions": recorder.decisions,
            "gaps": len(recording.report.gaps),
        },
    }
    return BacktestResult(trace, summary, core, venue)


def replay_venue(
    tape: Tape,
    cfg: AppConfig,
    mcfg: MarketConfig,
    latency: Latency,
    model: QueueModel,
    book_levels: int,
    starting: dict[str, float],
    account: str = ACCOUNT,
) -> ReplayVenue:
    """The venue of a backtest of ``mcfg``: the paper section's fees, these latencies and balances."""
    return ReplayVenue(
        tape,
        ReplayConfig(
            SimInstrument(mcfg.base_asset, mcfg.quote_asset, mcfg.tick_size, mcfg.lot_size),
            maker_fee_bps=cfg.paper.fees.maker_bps,
            taker_fee_bps=cfg.paper.fees.taker_bps,
            book_levels=book_levels,
            entry_latency=latency.entry,
            response_latency=latency.response,
        ),
        model,
        accounts={account: starting},
    )


def check_market(recording: Recording, mcfg: MarketConfig, index: int) -> None:
    """The recording must be of the configured market: same symbol (ignoring separators), tick and lot.
    A recording that does not know its symbol (an hftbacktest feed file) is taken to be the market's."""
    meta = recording.meta
    problems = []
    if meta.symbol != "unknown" and _plain(meta.symbol) != _plain(mcfg.symbol):
        problems.append((f"markets[{index}].symbol", f"the data is of {meta.symbol}, not {mcfg.symbol}"))
    for name, data, configured in (
        ("tick_size", meta.tick, mcfg.tick_size),
        ("lot_size", meta.lot, mcfg.lot_size),
    ):
        if not math.isclose(data, configured, rel_tol=1e-9):
            problems.append(
                (f"markets[{index}].{name}", f"the data has {name} {data:g}, the config {configured:g}")
            )
    if problems:
        raise ConfigError(problems, "backtest")


def _plain(symbol: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", symbol.upper())
