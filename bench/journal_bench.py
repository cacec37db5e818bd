"""Cost of the journal's two calls that matter: the write-ahead ``record_order_intent`` (a commit inside
the decision window: event received to venue call issued) and ``totals()`` (run at start-up).

The intents run as the runner does: each one followed by its order's state updates (ack, then cancel)
and a pause of ``--gap-ms`` between orders, as between market updates, so caches are as cold as in
production. The WAL grows by every commit, so a long enough run shows what an automatic checkpoint
costs the commit it lands on. Once with ``synchronous=NORMAL`` (paper) and once with ``FULL`` (live:
an fsync of the WAL per commit). ``totals()`` is timed on a journal holding ``--fills`` fills of one
market (written in one transaction through ``record_fill``).

Usage: ``python bench/journal_bench.py [--orders N] [--gap-ms G] [--fills F] [--path DIR]``; prints JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from mm_bot.engine.order_states import OrderState
from mm_bot.journal import Journal
from mm_bot.journal_schema import transaction
from mm_bot.model import Instrument, Liquidity, OrderRequest, OrderType, OwnFill, Side

SYNCHRONOUS: tuple[Literal["NORMAL", "FULL"], ...] = ("NORMAL", "FULL")
BTC = Instrument("BTC/USDT", "BTC", "USDT", Decimal("0.01"), Decimal("0.00001"))


def intents(
    path: Path, synchronous: Literal["NORMAL", "FULL"], orders: int, gap_ms: float
) -> dict[str, float]:
    """``record_order_intent`` latency in microseconds."""
    perf = time.perf_counter_ns
    samples: list[int] = []
    with Journal.open(path, synchronous=synchronous) as journal:
        journal.start_session("bench", "-", time.time_ns())
        for i in range(orders):
            side = Side.BUY if i % 2 == 0 else Side.SELL
            request = OrderRequest(f"bench{i:010d}", side, 6_000_000 - side * 50, 100, OrderType.POST_ONLY)
            now = time.time_ns()
            t0 = perf()
            journal.record_order_intent(request, BTC.symbol, now)
            samples.append(perf() - t0)
            journal.update_order_state(request.client_order_id, OrderState.OPEN, now)
            journal.update_order_state(request.client_order_id, OrderState.CANCELLED, now, "user")
            if gap_ms > 0:
                time.sleep(gap_ms / 1000.0)
    return _percentiles(samples, "us")


def totals(path: Path, fills: int, runs: int = 20) -> dict[str, Any]:
    """``totals()`` time in milliseconds: the first call after open, then ``runs`` more."""
    with Journal.open(path) as journal, transaction(journal._conn):
        for i in range(fills):
            side = Side.BUY if i % 3 else Side.SELL
            fill = OwnFill(i, f"c{i}", side, 6_000_000 + i % 101, 1 + i % 7, Liquidity.MAKER, 0.01, f"t{i}")
            journal.record_fill(fill, BTC)
    perf = time.perf_counter_ns
    with Journal.open(path) as journal:
        t0 = perf()
        result = journal.totals(BTC.symbol)
        first = perf() - t0
        samples = []
        for _ in range(runs):
            t0 = perf()
            journal.totals(BTC.symbol)
            samples.append(perf() - t0)
    assert result.fill_count == fills
    return {"fills": fills, "first_ms": round(first / 1e6, 2), **_percentiles(samples, "ms")}


def _percentiles(samples_ns: list[int], unit: Literal["us", "ms"]) -> dict[str, float]:
    ordered = sorted(samples_ns)
    scale = 1e3 if unit == "us" else 1e6

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] / scale, 2)

    return {f"p50_{unit}": pct(0.5), f"p99_{unit}": pct(0.99), f"max_{unit}": pct(1.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--gap-ms", type=float, default=2.0)
    parser.add_argument("--fills", type=int, default=100_000)
    parser.add_argument(
        "--path", type=Path, default=None, help="directory for the journals (default: temporary)"
    )
    args = parser.parse_args()
    result: dict[str, Any] = {"orders": args.orders, "gap_ms": args.gap_ms}
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.path or Path(tmp)
        for synchronous in SYNCHRONOUS:
            path = directory / f"journal-{synchronous.lower()}-{time.time_ns()}.sqlite"
            result[f"record_order_intent_{synchronous.lower()}"] = intents(
                path, synchronous, args.orders, args.gap_ms
            )
        result["totals"] = totals(directory / f"journal-fills-{time.time_ns()}.sqlite", args.fills)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
