"""Backtests on the recorded Binance spot books: the same core as live, in virtual time, with the
replay venue's queue model and latencies; same data, same results; the hftbacktest npz round trip;
no quotes and no fills while the book is unknown."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mm_bot.backtest.replay import TAG, BacktestResult, Latency, run_backtest
from mm_bot.config import AppConfig, load_config
from mm_bot.engine.core_types import Place
from mm_bot.engine.ids import ClientOrderIds, run_prefix
from mm_bot.engine.market import CoreRestore, MarketCore
from mm_bot.errors import ConfigError
from mm_bot.wiring import market_params
from sim.data import MSG_DEPTH, MSG_GAP, MSG_SNAPSHOT, Recording, load, load_npz, save_hftbacktest
from tests.sim.data.test_recorded_gaps import snapshot_line

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data" / "binance-btcusdt-2024-08-08"
SPOT = ("spot_btcusdt_20240808.gz", "spot_btcusdt_20240809.gz")
MS = 1_000_000


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("recorded")
    for name in SPOT:
        shutil.copy(DATA / name, target / name)
    return target


@pytest.fixture(scope="module")
def first(workdir: Path) -> Recording:
    """The first spot file alone (about 4.5 minutes)."""
    return load([workdir / SPOT[0]])


@pytest.fixture(scope="module")
def both(workdir: Path) -> Recording:
    return load([workdir / name for name in SPOT])


@pytest.fixture(scope="module")
def cfg() -> AppConfig:
    return load_config(ROOT / "config.yaml")


@pytest.fixture(scope="module")
def result(first: Recording, cfg: AppConfig) -> BacktestResult:
    return run_backtest(first, cfg)


def test_the_backtest_trades_and_its_trace_matches_its_summary(result: BacktestResult) -> None:
    """Quotes are sent and filled; the trace's fills, counts and last position are the summary's."""
    trace, market = result.trace, result.summary["markets"]["BTC/USDT"]
    assert market["fills"] > 10 and market["quotes_sent"] > 100
    assert len(trace.fill_ts_ns) == market["fills"] and trace.quotes_sent == market["quotes_sent"]
    assert trace.cancels_sent == market["cancels_sent"]
    assert np.isclose(float(np.sum(trace.fill_fee_quote)), market["fees_quote"])
    assert set(trace.fill_side.tolist()) == {1, -1} and trace.fill_maker.all()
    assert trace.strategy == "as" and trace.symbol == "BTC/USDT" and trace.start_ns < trace.end_ns
    assert np.all(np.diff(trace.ts_ns) >= 100 * MS)  # at most one sample per 100 ms
    assert len(trace.decision_ts_ns) == sum(market["decision_reasons"].values())
    assert (
        result.summary["mode"] == "backtest" and result.summary["backtest"]["queue_model"] == "conservative"
    )
    json.dumps(result.summary, allow_nan=False)


def test_the_same_data_and_seed_give_the_same_results(
    first: Recording, cfg: AppConfig, result: BacktestResult
) -> None:
    """A second run (reporting its progress) makes the same fills, decisions and trace, and writes the
    same summary."""
    progress: list[float] = []
    again = run_backtest(first, cfg, seed=0, progress=progress.append)
    assert again.trace.same_as(result.trace)
    assert json.dumps(again.summary, sort_keys=True) == json.dumps(result.summary, sort_keys=True)
    assert progress == sorted(progress) and progress[-1] == 1.0


def test_a_fresh_core_fed_the_same_events_makes_the_same_decisions(
    first: Recording, cfg: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The events the core got in a backtest, fed at the same times to a new core built the same
    way, give the same commands: the backtest is the core's own decisions, nothing else decides."""
    seen: list[tuple[Any, int, list[Any]]] = []
    on_event = MarketCore.on_event

    def recording(self: MarketCore, event: Any, now_ns: int) -> Any:
        commands = on_event(self, event, now_ns)
        seen.append((event, now_ns, commands))
        return commands

    monkeypatch.setattr(MarketCore, "on_event", recording)
    run = run_backtest(first, cfg, latency=Latency(entry=15 * MS, response=15 * MS))
    monkeypatch.setattr(MarketCore, "on_event", on_event)
    start = run.trace.start_ns
    mcfg = cfg.markets[0]
    core = MarketCore(market_params(mcfg, cfg.execution, TAG), ClientOrderIds(run_prefix(start, TAG)), start)
    starting = {"BTC": cfg.paper.balances["BTC"], "USDT": cfg.paper.balances["USDT"]}
    core.restore(CoreRestore(baseline=starting))
    core.reconciler.compare_assets = frozenset(starting)
    core.start(start)
    assert all(core.on_event(event, now) == commands for event, now, commands in seen)
    assert sum(isinstance(c, Place) for _, _, commands in seen for c in commands) == run.trace.quotes_sent


def test_order_latency_is_applied_both_ways(first: Recording, cfg: AppConfig) -> None:
    """Entry 30 ms and response 10 ms: every order's ack reaches the core 40 ms after it was sent,
    and the venue took it 30 ms after."""
    run = run_backtest(first, cfg, latency=Latency(entry=30 * MS, response=10 * MS))
    orders = [o for o in run.core.table.history() if o.accepted_ns is not None]
    assert len(orders) > 50
    assert {o.accepted_ns - o.sent_ns for o in orders} == {40 * MS}
    account = run.venue.orders.accounts["backtest"]
    fills = list(account.fills)
    assert fills and all(f.ts_ns - f.exchange_ts_ns == 10 * MS for f in fills)


def test_the_probabilistic_queue_fills_at_least_as_often(
    first: Recording, cfg: AppConfig, result: BacktestResult
) -> None:
    """Cancellations ahead move us up: on this data power(2) fills more of our quotes."""
    run = run_backtest(first, cfg, queue="probabilistic")
    assert run.summary["backtest"]["queue_model"] == "probabilistic"
    assert len(run.trace.fill_ts_ns) >= len(result.trace.fill_ts_ns)


def test_the_hftbacktest_npz_round_trip_replays_the_same(
    both: Recording, cfg: AppConfig, tmp_path: Path
) -> None:
    """Both spot files exported to hftbacktest's npz and imported back: the same trace as the raw files."""
    raw = run_backtest(both, cfg)
    path = tmp_path / "spot.npz"
    save_hftbacktest(both, path)
    meta = both.meta
    back = load_npz(path, symbol=meta.symbol, tick_size=meta.tick_size, lot_size=meta.lot_size)
    again = run_backtest(back, cfg)
    assert len(raw.trace.fill_ts_ns) > 10
    assert again.trace.same_as(raw.trace)


def test_a_recording_of_another_market_is_refused(first: Recording, cfg: AppConfig) -> None:
    """The config's tick must be the data's (exit 2 at the CLI: a config error naming the field)."""
    other = cfg.model_copy(
        update={"markets": [cfg.markets[0].model_copy(update={"tick_size": 0.1, "symbol": "ETH/USDT"})]}
    )
    with pytest.raises(ConfigError, match=r"markets\[0\]\.tick_size") as info:
        run_backtest(first, other)
    assert "markets[0].symbol" in str(info.value)


@pytest.fixture(scope="module")
def broken(workdir: Path, first: Recording, tmp_path_factory: pytest.TempPathFactory) -> Recording:
    """The first spot file with one diff line taken out (a sequence break) and a REST snapshot of the
    intact book put in 300 diffs later (the resync), as tests/sim/data/test_recorded_gaps builds it."""
    with gzip.open(workdir / SPOT[0]) as source:
        lines = source.readlines()
    diff_lines = [n for n, raw in enumerate(lines) if b"@depth" in raw[:80]]
    dropped, resync = diff_lines[1500], diff_lines[1800]
    resync_u = json.loads(lines[resync].split(b" ", 1)[1])["data"]["u"]
    diffs = np.flatnonzero(first.messages["kind"] == MSG_DEPTH)
    message = int(diffs[np.flatnonzero(first.messages["last_id"][diffs] == resync_u)[0]])
    edited = [
        *lines[:dropped],
        *lines[dropped + 1 : resync + 1],
        snapshot_line(first, message),
        *lines[resync + 1 :],
    ]
    path = tmp_path_factory.mktemp("broken") / SPOT[0]
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.writelines(edited)
    return load([path])


def _window(recording: Recording, run: BacktestResult) -> tuple[int, int, int, int]:
    """(venue time, core time) of the gap and of the resync snapshot after it."""
    tape, m = run.venue.tape, recording.messages
    [gap] = np.flatnonzero(m["kind"] == MSG_GAP)
    resync = int(np.flatnonzero((m["kind"] == MSG_SNAPSHOT) & (np.arange(len(m)) > gap))[0])
    at = {int(k): i for i, k in enumerate(tape.message_index)}
    return (
        int(tape.venue_ns[at[gap]]),
        int(tape.local_ns[at[gap]]),
        int(tape.venue_ns[at[resync]]),
        int(tape.local_ns[at[resync]]),
    )


def test_nothing_is_quoted_or_filled_while_the_book_is_unknown(broken: Recording, cfg: AppConfig) -> None:
    """From the gap to the resync snapshot: the core is told the book is gone (it cancels, reason
    ``disconnected``), sends nothing, no fill happens at the venue, and it quotes again after."""
    assert len(broken.report.gaps) == 1
    run = run_backtest(broken, cfg, sample_interval_ns=0)  # a sample at every book the core got
    gap_venue, gap_core, resync_venue, resync_core = _window(broken, run)
    trace = run.trace
    actions = np.array(trace.decision_action)
    reasons = np.array(trace.decision_reason)
    during = (trace.decision_ts_ns >= gap_core) & (trace.decision_ts_ns < resync_core)
    assert during.any() and "disconnected" in set(reasons[during])
    assert not np.isin(actions[during], ["send", "replace"]).any()
    after = trace.decision_ts_ns >= resync_core
    assert np.isin(actions[after], ["send", "replace"]).any()
    fills = list(run.venue.orders.accounts["backtest"].fills)
    assert fills and not [f for f in fills if gap_venue <= f.exchange_ts_ns < resync_venue]
    books = trace.ts_ns[(trace.ts_ns >= gap_core) & (trace.ts_ns < resync_core)]
    assert len(books) == 0  # no book reached the core in between
    assert run.summary["markets"]["BTC/USDT"]["venue"]["reconciles"] >= 2  # again after the resync
