"""Limit order book throughput through the book's normal per-order API.

Workload 1 (``standard``, tick 0.01): 100 bids at 99.00..99.99 and 100 asks at 100.00..100.99,
size 10 each; then for i in 0..99,999: buy if i is even else sell; every 10th order a market order
of size 1, otherwise a limit order of size 1 at 99.50 + (i % 100) * 0.01. A correct price-time
engine fills exactly 50,119 lots.

Workload 2 (``cancel_workload``): a seeded stream around a mid of 10000 ticks: 50% cancels of random
resting orders, 5% queue-position queries of random resting orders, 5% market orders, 40% limit
orders (mostly passive, a few marketable).

Usage: ``python bench/lob_bench.py [--json] [--repeat N]``; prints the best of N runs.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from typing import Any

from sim.book import OrderBook, Side

BUY, SELL = Side.BUY, Side.SELL


def standard_workload() -> dict[str, Any]:
    book = OrderBook()
    oid = 0
    for i in range(100):
        oid += 1
        book.limit(oid, BUY, 9900 + i, 10)
        oid += 1
        book.limit(oid, SELL, 10000 + i, 10)
    fills = 0
    volume = 0
    limit = book.limit
    market = book.market
    t0 = time.perf_counter()
    for i in range(100_000):
        oid += 1
        side = BUY if i % 2 == 0 else SELL
        result = market(oid, side, 1) if i % 10 == 0 else limit(oid, side, 9950 + i % 100, 1)
        if result:
            fills += len(result)
            for f in result:
                volume += f.qty
    seconds = time.perf_counter() - t0
    book.check_invariants()
    return {
        "orders": 100_000,
        "seconds": seconds,
        "orders_per_sec": 100_000 / seconds,
        "fills": fills,
        "volume": volume,
    }


def cancel_workload(n: int = 100_000, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    # Pre-draw the stream so the timed loop measures the book, not the random generator.
    draws = [(rng.random(), rng.random(), rng.randint(-50, 50), rng.randint(1, 5)) for _ in range(n)]
    book = OrderBook()
    live: list[int] = []
    oid = 0
    ops = {"limit": 0, "market": 0, "cancel": 0, "queue_query": 0}
    fills = 0
    t0 = time.perf_counter()
    for kind, pick, offset, qty in draws:
        if kind < 0.55 and not live:
            kind = 0.99  # nothing to cancel or query: place a limit order instead
        if kind < 0.5:
            j = int(pick * len(live))
            victim = live[j]
            live[j] = live[-1]
            live.pop()
            if book.order(victim) is not None:
                book.cancel(victim)
            ops["cancel"] += 1
        elif kind < 0.55:
            victim = live[int(pick * len(live))]
            if book.order(victim) is not None:
                book.queue_ahead(victim)
            ops["queue_query"] += 1
        elif kind < 0.6:
            oid += 1
            fills += len(book.market(oid, BUY if pick < 0.5 else SELL, qty))
            ops["market"] += 1
        else:
            oid += 1
            side = BUY if pick < 0.5 else SELL
            # Mostly passive around a mid of 10000; |offset| <= 2 crosses the spread and trades.
            distance = abs(offset) - 3
            price = 10000 - 1 - distance if side is BUY else 10000 + distance
            fills += len(book.limit(oid, side, price, qty))
            if book.order(oid) is not None:
                live.append(oid)
            ops["limit"] += 1
    seconds = time.perf_counter() - t0
    book.check_invariants()
    return {
        "operations": n,
        "seconds": seconds,
        "ops_per_sec": n / seconds,
        "fills": fills,
        **ops,
        "resting_orders_at_end": len(book),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    best = min((standard_workload() for _ in range(args.repeat)), key=lambda r: r["seconds"])
    cancels = min((cancel_workload() for _ in range(args.repeat)), key=lambda r: r["seconds"])
    out = {**best, "cancel_workload": cancels}
    if args.json:
        print(json.dumps(out))
    else:
        print(
            f"standard: {best['orders_per_sec']:,.0f} orders/s, fills={best['fills']}, "
            f"volume={best['volume']}"
        )
        print(f"cancels:  {cancels['ops_per_sec']:,.0f} ops/s, {cancels}")


if __name__ == "__main__":
    main()
