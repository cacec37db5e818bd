"""The hftbacktest half of ``bench/hftbacktest_compare.py``: its quoting policy run in hftbacktest.

Run by that script, under the interpreter that has hftbacktest 2.4.x and numba (they are imported
only here, in ``run``)::

    /path/to/python bench/hftbacktest_side.py SPEC OUT

``SPEC`` is the JSON the main script writes: the exported feed (``npz``), ``tick``, ``lot``, the
policy's parameters and the ``cases`` (name, policy, queue model, ticks). ``OUT`` gets, per case,
the fills (decision, side, price ticks, lots, exchange time, local time, maker), the best bid and
ask decided on at every decision, the orders posted, ``state_values``, the post-only orders that
expired and the run's seconds. The fills are read from the local order table after every feed or
order response (``wait_next_feed(True, ...)``), not from ``state_values``: its local state applies
only FILLED answers, so partial fills are missing there (hftbacktest issue #316).

Exits 2, saying why, if this interpreter cannot import hftbacktest or numba.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any


def run(spec_path: Path, out_path: Path) -> None:
    """The policy of every case in ``spec_path`` on its exported feed; the results to ``out_path``."""
    try:
        import numpy as np
        from hftbacktest import GTX, LIMIT, BacktestAsset, HashMapMarketDepthBacktest
        from numba import njit
    except ImportError as exc:
        print(f"{sys.executable}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None

    spec = json.loads(spec_path.read_text())
    tick, lot = spec["tick"], spec["lot"]
    with np.load(spec["npz"]) as archive:
        data = archive["data"]

    @njit
    def poll(hbt, seen, fills, nf, lot):  # type: ignore[no-untyped-def]
        """New fills since the last look: each order's filled quantity, against what was seen."""
        values = hbt.orders(0).values()
        while values.has_next():
            order = values.get()
            got = int(np.floor((order.qty - order.leaves_qty) / lot + 0.5))
            oid = order.order_id
            if got > seen[oid]:
                fills[nf, 0] = oid // 2
                fills[nf, 1] = 1 if order.side == 1 else -1
                fills[nf, 2] = order.price_tick
                fills[nf, 3] = got - seen[oid]
                fills[nf, 4] = order.exch_timestamp
                fills[nf, 5] = hbt.current_timestamp
                fills[nf, 6] = 1 if order.arr[0].maker else 0
                seen[oid] = got
                nf += 1
        return nf

    @njit
    def policy(hbt, t0, step, count, ticks, keep, qty, tick, lot, fills, decisions):  # type: ignore[no-untyped-def]
        seen = np.zeros(2 * count + 2, np.int64)
        nf = 0
        expired = 0
        hbt.elapse(0)  # starts the clock at the feed's first timestamp
        start = hbt.current_timestamp
        end = False
        for k in range(1, count + 2):
            target = t0 + k * step
            while hbt.current_timestamp < target:
                r = hbt.wait_next_feed(True, target - hbt.current_timestamp)
                nf = poll(hbt, seen, fills, nf, lot)
                if r == 1:
                    end = True
                    break
                if r < 0 or r > 3:  # an error inside hftbacktest: its clock no longer moves
                    return start, nf, expired, r, k
            if end or k > count:
                break
            values = hbt.orders(0).values()
            while values.has_next():
                if values.get().status == 2:  # EXPIRED: a post-only order that would have crossed
                    expired += 1
            hbt.clear_inactive_orders(0)
            depth = hbt.depth(0)
            bid, ask = depth.best_bid_tick, depth.best_ask_tick
            known = bid > -(1 << 62) and ask < (1 << 62)
            keep_bid = False
            keep_ask = False
            values = hbt.orders(0).values()
            while values.has_next():
                order = values.get()
                if order.cancellable:
                    if (
                        keep
                        and known
                        and order.side == 1
                        and order.price_tick == bid - ticks
                        and not keep_bid
                    ):
                        keep_bid = True
                    elif (
                        keep
                        and known
                        and order.side == -1
                        and order.price_tick == ask + ticks
                        and not keep_ask
                    ):
                        keep_ask = True
                    else:
                        hbt.cancel(0, order.order_id, False)
            decisions[k - 1, 0] = hbt.current_timestamp
            decisions[k - 1, 1] = bid
            decisions[k - 1, 2] = ask
            if known and not keep_bid:
                hbt.submit_buy_order(0, 2 * k, (bid - ticks) * tick, qty, GTX, LIMIT, False)
                decisions[k - 1, 3] = 1
            if known and not keep_ask:
                hbt.submit_sell_order(0, 2 * k + 1, (ask + ticks) * tick, qty, GTX, LIMIT, False)
                decisions[k - 1, 4] = 1
        return start, nf, expired, 0, 0

    results: dict[str, Any] = {}
    for case in spec["cases"]:
        asset = (
            BacktestAsset()
            .data(data)
            .linear_asset(1.0)
            .constant_order_latency(spec["latency_ns"], spec["latency_ns"])
            .trading_value_fee_model(spec["maker_bps"] / 1e4, spec["taker_bps"] / 1e4)
            .tick_size(tick)
            .lot_size(lot)
            .last_trades_capacity(0)
            .parallel_load(False)
        )
        if spec["exchange"] == "partial":
            asset = asset.partial_fill_exchange()
        else:
            asset = asset.no_partial_fill_exchange()
        if case["queue"] == "conservative":
            asset = asset.risk_adverse_queue_model()
        else:
            asset = asset.power_prob_queue_model(2.0)
        hbt = HashMapMarketDepthBacktest([asset])
        count = spec["decisions"]
        fills = np.zeros((2 * spec["lots"] * count + 64, 7), np.int64)  # at most a fill per lot
        decisions = np.zeros((count, 5), np.int64)  # time, best bid, best ask, bid posted, ask posted
        started = time.perf_counter()
        start, nf, expired, error, error_k = policy(
            hbt, spec["t0_ns"], spec["step_ns"], count, case["ticks"], case["policy"] == "keep",
            spec["qty_lots"] * lot, tick, lot,
            fills, decisions,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        if error:
            raise SystemExit(f"{case['name']}: hftbacktest returned {error} before decision {error_k}")
        sv = hbt.state_values(0)
        state = {
            "position": sv.position,
            "fee": sv.fee,
            "num_trades": int(sv.num_trades),
            "trading_volume": sv.trading_volume,
        }
        hbt.close()
        results[case["name"]] = {
            "clock_start_ns": int(start),
            "fills": fills[:nf].tolist(),
            "decisions": decisions[:, :3].tolist(),
            "posted": (np.flatnonzero(decisions[:, 3:].ravel()) + 2).tolist(),
            "state_values": state,
            "expired": int(expired),
            "seconds": round(seconds, 3),
        }
    out_path.write_text(json.dumps(results))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(f"usage: {sys.argv[0]} SPEC OUT")
    run(Path(sys.argv[1]), Path(sys.argv[2]))
