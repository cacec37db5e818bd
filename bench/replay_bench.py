"""Backtest throughput: the recorded Binance spot BTCUSDT book (both test files, 11 minutes) replayed
through ``sim.replay`` with the default config's A-S strategy deciding on every book message, the
conservative queue model and the default latencies (``mm_bot.backtest.run_backtest``).

``events`` counts the replayed rows: one per price-level change of a diff, per snapshot level and
per trade (``Tape.events``; the ``bookTicker`` rows, ``rows_not_replayed``, are not used). The
clock runs from preparing the tape to the end of the run (loading the files is not timed: it reads
the parse cache that a first load writes, in a temporary copy of the data). ``seconds`` is the best
of ``--repeat`` runs; every run must make the same fills.

``host_ref_ms`` times a fixed pure-Python loop (best of 5) beside the runs: the host's speed at the
time, to compare figures taken on a shared machine. ``--split`` also times, in a separate run, the
core's share (``MarketCore.on_event`` and ``next_timer_ns``, wrapped) and the replay alone (the
venue draining the tape with no strategy).

Usage: ``python bench/replay_bench.py [--json] [--repeat N] [--book-levels N] [--split] [--config PATH]``
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mm_bot.backtest.replay import ACCOUNT, run_backtest
from mm_bot.config import load_config
from mm_bot.engine.market import MarketCore
from sim.data import Recording, load
from sim.events import Instrument
from sim.replay import Conservative, ReplayConfig, ReplayVenue, Tape

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "binance-btcusdt-2024-08-08"
SPOT = ("spot_btcusdt_20240808.gz", "spot_btcusdt_20240809.gz")


def load_spot(workdir: Path) -> Recording:
    for name in SPOT:
        shutil.copy(DATA / name, workdir / name)
    load([workdir / name for name in SPOT])  # writes the parse cache; the timed runs read it
    return load([workdir / name for name in SPOT])


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def host_ref_ms() -> float:
    """A fixed pure-Python workload, best of 5."""

    def work() -> int:
        x = 0
        for i in range(1_000_000):
            x += i & 7
        return x

    return min(timed(work)[0] for _ in range(5)) * 1e3


def run(config: str, repeat: int, book_levels: int, split: bool) -> dict[str, Any]:
    cfg = load_config(config)
    with tempfile.TemporaryDirectory() as tmp:
        recording = load_spot(Path(tmp))
    best = None
    seconds = []
    for _ in range(repeat):
        took, result = timed(
            lambda: run_backtest(recording, cfg, queue="conservative", book_levels=book_levels)
        )
        seconds.append(took)
        if best is None:
            best = result
        elif result.trace.fill_ts_ns.tolist() != best.trace.fill_ts_ns.tolist():
            raise AssertionError("two runs on the same data made different fills")
    assert best is not None
    tape = best.venue.tape
    market = best.summary["markets"][cfg.markets[0].symbol]
    fastest = min(seconds)
    out: dict[str, Any] = {
        "data": list(SPOT),
        "events": tape.events,
        "rows_not_replayed": tape.rows_skipped,
        "rows": tape.events + tape.rows_skipped,
        "messages": len(tape),
        "book_messages": market["book_updates"],
        "core_events": best.summary["backtest"]["core_events"],
        "decisions": best.summary["backtest"]["decisions"],
        "seconds": round(fastest, 4),
        "seconds_all": [round(s, 4) for s in seconds],
        "events_per_sec": round(tape.events / fastest),
        "fills": market["fills"],
        "quotes_sent": market["quotes_sent"],
        "cancels_sent": market["cancels_sent"],
        "pnl_quote": market["pnl_quote"],
        "book_levels": book_levels,
        "queue_model": "conservative",
        "strategy": cfg.markets[0].strategy.kind,
        "host_ref_ms": round(host_ref_ms(), 2),
    }
    if split:
        out["split"] = _split(recording, cfg, book_levels)
    return out


def _split(recording: Recording, cfg: Any, book_levels: int) -> dict[str, Any]:
    """The core's share of one run, and the replay with no strategy at all."""
    spent = {"on_event": 0.0, "next_timer_ns": 0.0}
    on_event, next_timer = MarketCore.on_event, MarketCore.next_timer_ns
    clock = time.perf_counter

    def timed_on_event(self: MarketCore, event: Any, now_ns: int) -> Any:
        t0 = clock()
        out = on_event(self, event, now_ns)
        spent["on_event"] += clock() - t0
        return out

    def timed_next_timer(self: MarketCore) -> Any:
        t0 = clock()
        out = next_timer(self)
        spent["next_timer_ns"] += clock() - t0
        return out

    MarketCore.on_event = timed_on_event  # type: ignore[method-assign]
    MarketCore.next_timer_ns = timed_next_timer  # type: ignore[method-assign]
    try:
        total, _ = timed(lambda: run_backtest(recording, cfg, book_levels=book_levels))
    finally:
        MarketCore.on_event = on_event  # type: ignore[method-assign]
        MarketCore.next_timer_ns = next_timer  # type: ignore[method-assign]
    m = cfg.markets[0]
    instrument = Instrument(m.base_asset, m.quote_asset, m.tick_size, m.lot_size)

    def replay_alone() -> int:
        tape = Tape(recording)
        venue = ReplayVenue(
            tape, ReplayConfig(instrument, book_levels=book_levels), Conservative(), accounts={ACCOUNT: {}}
        )
        delivered = 0
        while not venue.done:
            delivered += len(venue.next_events(tape.end_ns))
        return tape.events

    alone = min(timed(replay_alone)[0] for _ in range(3))
    events = Tape(recording).events
    return {
        "run_seconds_instrumented": round(total, 4),
        "core_on_event_seconds": round(spent["on_event"], 4),
        "core_next_timer_seconds": round(spent["next_timer_ns"], 4),
        "replay_alone_seconds": round(alone, 4),
        "replay_alone_events_per_sec": round(events / alone),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--book-levels", type=int, default=20)
    parser.add_argument("--split", action="store_true")
    parser.add_argument("--config", default=str(ROOT / "config.yaml"))
    args = parser.parse_args()
    out = run(args.config, args.repeat, args.book_levels, args.split)
    if args.json:
        print(json.dumps(out))
    else:
        for key, value in out.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
