"""Per-update latency of the pure decision path (``MarketCore.on_event``: book view, estimators,
quote pipeline, ``decide``, order table) on a realistic update stream.

The stream is the default config's synthetic market run in virtual time through ``SimExchange``,
with the core's own orders really placed (``mm_bot.backtest.driver.Driver``, with the runner's refresh
ticks), filled and cancelled, so every kind of update occurs
(book snapshots, public trades, acks, fills, cancels). Only ``on_event`` is timed, two ways:

- ``interleaved``: timed while the simulator runs between updates (its work evicts the core's code
  and data from the CPU caches, as a venue adapter's would);
- ``replay``: the recorded stream fed again to a fresh core in a tight loop. The core is
  deterministic, so it makes exactly the same decisions (checked) and the figures isolate the
  decision path itself. The stream is replayed ``--replays`` times (5); the headline ``p50_us``,
  ``p99_us``, ... are the medians over the replays, each replay's figures are under ``replays``.
  ``host_ref_us`` times a fixed pure-Python workload after each replay (median): the host's speed
  while the replays ran, to compare runs taken at different times on a shared machine.
- ``after_idle``: the first ``--idle-books`` book updates of the stream replayed once more, with the
  process asleep for ``--idle-ms`` (50) before each book, as a live bot sleeps between a venue's
  messages; beside it ``hot``, the same books' figures from that replay's tight-loop twin. On a VM an
  idle CPU wakes slowly and cold: this is what a quiet live process pays per decision.

Usage: ``python bench/decide_bench.py [--json] [--seconds S] [--replays N] [--idle-ms MS]
[--idle-books N] [--config PATH]``
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections import Counter
from typing import Any

from mm_bot.backtest.driver import Driver
from mm_bot.config import AppConfig, MarketConfig, load_config
from mm_bot.engine.ids import ClientOrderIds
from mm_bot.engine.market import MarketCore
from mm_bot.model import BookSnapshot
from mm_bot.wiring import market_params, refresh_interval_s, sim_exchange

START_NS = 1_700_000_000 * 1_000_000_000


def run(
    config_path: str, seconds: float, replays: int = 5, idle_ms: float = 50.0, idle_books: int = 300
) -> dict[str, Any]:
    cfg = load_config(config_path)
    out = _run(cfg, cfg.markets[0], seconds, replays)
    out["after_idle"] = after_idle(cfg, cfg.markets[0], out.pop("recorded"), idle_ms, idle_books)
    return out


def new_core(cfg: AppConfig, mcfg: MarketConfig) -> MarketCore:
    return MarketCore(market_params(mcfg, cfg.execution), ClientOrderIds("mmbench"), START_NS)


def _run(cfg: AppConfig, mcfg: MarketConfig, seconds: float, replays: int) -> dict[str, Any]:
    exchange = sim_exchange(cfg, mcfg, START_NS)
    core = new_core(cfg, mcfg)
    end_ns = START_NS + int(seconds * 1e9)
    samples: list[int] = []
    recorded: list[tuple[Any, int]] = []
    kinds: Counter[str] = Counter()
    perf = time.perf_counter_ns

    def timed(event: Any, now: int) -> list[Any]:
        recorded.append((event, now))
        kinds[type(event).__name__] += 1
        t0 = perf()
        commands = core.on_event(event, now)
        samples.append(perf() - t0)
        return commands

    refresh_ns = round(refresh_interval_s(mcfg) * 1e9)
    Driver(core, exchange, account="me", refresh_ns=refresh_ns, step=timed).run_until(end_ns)
    # The recorded stream is held in memory for the replays: move it out of the collector's way
    # (gc.freeze()), so the replays time the core, not collections of the recorded stream.
    gc.collect()
    gc.freeze()
    # Replays: the same events and times into fresh cores, nothing else running in between.
    runs = []
    host_refs: list[float] = []
    for _ in range(replays):
        replay_core = new_core(cfg, mcfg)
        replay_core.start(START_NS)
        replay_samples: list[int] = []
        for event, now in recorded:
            t0 = perf()
            replay_core.on_event(event, now)
            replay_samples.append(perf() - t0)
        assert replay_core.stats.decision_reasons == core.stats.decision_reasons, "replay diverged"
        runs.append(_pcts(replay_samples))
        host_refs.append(host_reference_us())
    headline = {k: statistics.median(run[k] for run in runs) for k in runs[0]}
    return {
        "updates": len(samples),
        "simulated_s": seconds,
        **{f"{k}_us": v for k, v in headline.items()},
        "replays": runs,
        "host_ref_us": round(statistics.median(host_refs), 1),
        "interleaved": _pcts(samples),
        "events": dict(kinds),
        "fills": core.ledger.fills,
        "quotes_sent": core.stats.quotes_sent,
        "recorded": recorded,
    }


def after_idle(
    cfg: AppConfig, mcfg: MarketConfig, recorded: list[tuple[Any, int]], idle_ms: float, books: int
) -> dict[str, Any]:
    """The stream up to its ``books``-th book update fed to two fresh cores: one in a tight loop,
    one asleep ``idle_ms`` before each book. Both make the same decisions; the book updates are timed."""
    perf = time.perf_counter_ns
    timed_books: dict[bool, list[int]] = {False: [], True: []}
    for idle in (False, True):
        replay_core = new_core(cfg, mcfg)
        replay_core.start(START_NS)
        seen = 0
        for event, now in recorded:
            is_book = isinstance(event, BookSnapshot)
            if is_book:
                seen += 1
                if seen > books:
                    break
                if idle:
                    time.sleep(idle_ms / 1e3)
            t0 = perf()
            replay_core.on_event(event, now)
            if is_book:
                timed_books[idle].append(perf() - t0)
    return {
        "idle_ms": idle_ms,
        "books": len(timed_books[True]),
        "hot": _pcts(timed_books[False]),
        "idle": _pcts(timed_books[True]),
    }


def host_reference_us() -> float:
    """A fixed pure-Python workload (tuples, dict stores, float arithmetic: the decision path's kind of
    work), timed after each replay: how fast the host runs Python at that moment. On a shared VM it
    drifts by 20-30% over minutes and the p99 moves with it; this figure lets runs be compared."""
    t0 = time.perf_counter_ns()
    table: dict[int, tuple[int, int, float]] = {}
    x = 0.0
    for i in range(20_000):
        row = (i, i + 1, i * 0.5)
        table[i & 1023] = row
        x += row[2] - row[0] * 0.25
    elapsed = time.perf_counter_ns() - t0
    assert x > 0.0 and len(table) == 1024
    return elapsed / 1000.0


def _pcts(samples: list[int]) -> dict[str, float]:
    samples = sorted(samples)

    def pct(p: float) -> float:
        return round(samples[min(len(samples) - 1, int(p * len(samples)))] / 1000.0, 2)

    return {
        "p50": pct(0.50),
        "p90": pct(0.90),
        "p99": pct(0.99),
        "max": round(samples[-1] / 1000.0, 2),
        "mean": round(sum(samples) / len(samples) / 1000.0, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--seconds", type=float, default=600.0, help="simulated seconds (default 600)")
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--replays", type=int, default=5, help="replays of the stream (default 5)")
    parser.add_argument("--idle-ms", type=float, default=50.0, help="sleep before each book (default 50)")
    parser.add_argument("--idle-books", type=int, default=300, help="books replayed after idle (default 300)")
    args = parser.parse_args()
    result = run(args.config, args.seconds, args.replays, args.idle_ms, args.idle_books)
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
