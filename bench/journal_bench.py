"""Latency of the journal's write-ahead order intent: the one journal call inside the decision path
(``record_order_intent`` journals the client order id before ``place`` is called).

It runs the journal as the runner does: each intent is followed by its order's state updates (ack,
then cancel or fill), and a pause of ``--gap-ms`` between orders, as between market updates, so
caches are as cold as in production. The WAL grows by every commit, so a run long enough to pass the
WAL's checkpoint threshold shows what a checkpoint costs the call it lands on.

Two write-aheads:

- ``sqlite_intent``: ``record_order_intent`` commits the row (``intent_ring=False``, the default).
- ``ring_intent_tmpfs``: the same with the ring on ``/dev/shm``, where the app puts it
  (``journal.intent_ring_dir: auto``; absent where there is no ``/dev/shm``);
- ``ring_intent``: ``record_order_intent`` writes the mmap ring (``intent_ring=True``) and
  ``flush_intents()``, timed separately, commits the row after the "send", where the runner would.

``ring_append_us`` times ``IntentLog.append`` alone: the part of a ring intent that is the slot write,
the rest being the duplicate-id check and the pending row.

Usage: ``python bench/journal_bench.py [--json] [--orders N] [--gap-ms G] [--path DIR]``
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from mm_bot.engine.orders import OrderState
from mm_bot.intent_log import IntentLog
from mm_bot.journal import Journal
from mm_bot.model import OrderRequest, OrderType, Side


def run(orders: int, gap_ms: float, path: Path, ring: bool, ring_dir: Path | None = None) -> dict[str, Any]:
    journal = Journal.open(path, intent_ring=ring, ring_dir=ring_dir)
    assert journal.uses_intent_ring is ring
    journal.start_session("bench", "-", time.time_ns())
    perf = time.perf_counter_ns
    intent: list[int] = []
    flush: list[int] = []
    for i in range(orders):
        side = Side.BUY if i % 2 == 0 else Side.SELL
        request = OrderRequest(f"bench{i:010d}", side, 6_000_000 - side * 50, 100, OrderType.POST_ONLY)
        now = time.time_ns()
        t0 = perf()
        journal.record_order_intent(request, "BTC/USDT", now)
        t1 = perf()
        intent.append(t1 - t0)
        if ring:
            journal.flush_intents()  # after the send
            flush.append(perf() - t1)
        journal.update_order_state(request.client_order_id, OrderState.OPEN, now)
        journal.update_order_state(request.client_order_id, OrderState.CANCELLED, now)
        if gap_ms > 0:
            time.sleep(gap_ms / 1000.0)
    journal.close()
    result = {"record_order_intent_us": _percentiles(intent)}
    if ring:
        result["flush_intents_us"] = _percentiles(flush)
    return result


def run_append(orders: int, gap_ms: float, path: Path) -> dict[str, float]:
    """``IntentLog.append`` alone, with the same pauses."""
    ring = IntentLog.open(path)
    assert ring is not None
    ring.reset(1)
    perf = time.perf_counter_ns
    samples: list[int] = []
    for i in range(orders):
        request = OrderRequest(f"bench{i:010d}", Side.BUY, 6_000_000, 100, OrderType.POST_ONLY)
        now = time.time_ns()
        t0 = perf()
        ring.append(request, "BTC/USDT", now, 1)
        samples.append(perf() - t0)
        if gap_ms > 0:
            time.sleep(gap_ms / 1000.0)
    ring.close()
    return _percentiles(samples)


def _percentiles(samples: list[int]) -> dict[str, float]:
    samples = sorted(samples)

    def pct(p: float) -> float:
        return round(samples[min(len(samples) - 1, int(p * len(samples)))] / 1000.0, 1)

    return {"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "max": pct(1.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--gap-ms", type=float, default=2.0)
    parser.add_argument(
        "--path", type=Path, default=None, help="directory for the journals (default: temporary)"
    )
    args = parser.parse_args()
    result: dict[str, Any] = {"orders": args.orders, "gap_ms": args.gap_ms}
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.path or Path(tmp)
        shm = Path("/dev/shm")  # a private temporary directory is made inside
        if shm.is_dir():
            with tempfile.TemporaryDirectory(dir=shm) as ring_dir:
                path = directory / f"journal-tmpfs-{time.time_ns()}.sqlite"
                result["ring_intent_tmpfs"] = run(args.orders, args.gap_ms, path, True, Path(ring_dir))
        for write_ahead, ring in (("sqlite_intent", False), ("ring_intent", True)):
            path = directory / f"journal-{write_ahead}-{time.time_ns()}.sqlite"
            result[write_ahead] = run(args.orders, args.gap_ms, path, ring)
        result["ring_append_us"] = run_append(args.orders, args.gap_ms, directory / "bench.intents")
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
