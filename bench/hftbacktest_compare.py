"""Our replay's fills against hftbacktest's on the same data, queue model and latency.

One deterministic quoting policy runs in both engines on the recorded Binance spot BTCUSDT book
(``tests/data/binance-btcusdt-2024-08-08/spot_*.gz``, 11 minutes), so that what differs comes from
the simulators, not from the strategies:

- every ``--step-ms`` (100) of the common clock, from the first data timestamp on, the strategy
  quotes a post-only bid at ``best_bid - N`` ticks and a post-only ask at ``best_ask + N`` ticks
  (the best prices it sees then), ``--lots`` (5) lots each, no position limit; N is 0, 1 and 5.
  Policy ``repost`` cancels every order it knows to be open and posts both anew; policy ``keep``
  keeps an open order whose price is still the target (so orders live through several diffs of
  their level, which is where the two queue models part: a re-posted order is always at the back
  of its level and sees at most one 100 ms diff of it, and the models agree there);
- constant order latency, ``--latency-ms`` (10) entry and 10 response; the feed latency is the
  recording's own (its clock-corrected receive times) in both;
- queue models: the conservative one (ours ``Conservative``, hftbacktest's
  ``risk_adverse_queue_model``) and the probabilistic power-2 one (ours ``queue_model("probabilistic")``
  = ``Probabilistic(power(2))``, hftbacktest's ``power_prob_queue_model(2.0)``); hftbacktest's
  exchange is ``partial_fill_exchange`` (ours fills partially too; ``--hbt-exchange no_partial``
  for its other model); fees 2 bps maker, 5 taker (hftbacktest's
  ``trading_value_fee_model(0.0002, 0.0005)``: positive is a cost in both).

The clocks. hftbacktest has one timeline: each row of its feed is applied by the exchange at
``exch_ts`` and by the strategy's (local) side at ``local_ts``; orders reach the exchange
``entry`` after the local ``current_timestamp`` they are sent at and answers come back ``response``
after the exchange time they are made at. ``sim.data.save_hftbacktest`` writes the feed with the
recorder's clock corrected as hftbacktest's ``correct_local_timestamp`` does (every ``local_ts``
raised by the most negative ``local_ts - exch_ts``, 1.276 s here), and ``sim.replay.Tape``
corrects its receive times by the same shift (checked: the run stops if they differ). So
hftbacktest's ``current_timestamp`` is our venue's ``now_ns``, its ``local_ts`` our ``local_ns``
and its ``exch_ts`` our ``venue_ns``, except for (1) the trades the recorder received after a diff
the venue stamped later: hftbacktest's exchange applies them at their ``exch_ts`` (before that
diff), our tape in the received order, at the diff's time (``late_trades`` in the output); (2)
Binance spot's REST snapshot, which has no venue time: hftbacktest applies it at the ``exch_ts``
``sim.data`` fills in (the previous message's), our tape at its receive time minus the latest
recorded latency (119 ms later here; no order exists yet at either time). hftbacktest starts its
clock at the earliest timestamp of the feed (the first exchange-side row's ``exch_ts``, below every
corrected ``local_ts``) and ``elapse``/``wait_next_feed`` move it from there: the decision times are
``T_k = T_0 + k * step`` in both, and at ``T_k`` each strategy sees the rows whose ``local_ts`` is
at most ``T_k`` (the run compares the best bid and ask each engine decided on, at every ``T_k``).

The script has two halves, as the engines live in different environments: run from the main venv
it loads the files (copied to a temporary directory: loading writes a parse cache), exports them
with ``sim.data.save_hftbacktest``, runs our side (``sim.replay.ReplayVenue`` driven directly with
``PlaceOrder``/``CancelOrder``), runs this same file with ``--hftbacktest-side SPEC OUT`` under the
interpreter that has hftbacktest (``--hbt-python``; hftbacktest and numba are imported only there,
inside ``hftbacktest_side``), and compares. hftbacktest's fills are read from its local order
table after every feed or order response (``wait_next_feed(True, ...)``), not from
``state_values``: its local state applies only FILLED answers, so partial fills are missing there
(hftbacktest issue #316; ``state_values`` is reported as is). A fill is compared after summing the
fills of one order at one exchange time (hftbacktest's local side sees one answer per order and
time), keyed by the decision that posted it and its side. Each order whose fills differ is given a
cause: ``late trade`` (a late trade filled it in either engine, or reached its price while it
rested), ``posted in one engine only`` (policy ``keep``: the other engine still had an earlier
order resting there), else ``other``.

Usage::

    .venv/bin/python bench/hftbacktest_compare.py [--json] [--hbt-python /path/to/python]
        [--policies repost,keep] [--queues conservative,probabilistic] [--ticks 0,1,5] [--lots 5]
        [--step-ms 100] [--latency-ms 10] [--hbt-exchange partial|no_partial] [--show 8]

``--hbt-python``: an interpreter with ``hftbacktest`` (2.4.x, with numba); default ``$HBT_PYTHON``,
else this interpreter if it has hftbacktest. Without one the script says how to get one and exits 2.
About 20 s for the 12 cases (one core).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "binance-btcusdt-2024-08-08"
SPOT = ("spot_btcusdt_20240808.gz", "spot_btcusdt_20240809.gz")
MS = 1_000_000
ACCOUNT = "cmp"
QTY_EPSILON = 1e-4
"""hftbacktest's orders are this many lots short of ``--lots``: its ``PartialFillExchange`` leaves an
order whose fill is exactly its remaining quantity in its book as FILLED, and the next trade or
book move at that price stops the backtest with ``InvalidOrderStatus`` (code 14; hftbacktest issue
#312, ``partialfillexchange.rs`` lines 155 and 195: ``filled_qty > order.leaves_qty``, not ``>=``).
Fills come in whole lots, so no fill equals a remaining ``n - 1e-4`` lots; the last one takes the
remainder, and the filled quantities, rounded to lots, are those of a ``--lots`` order."""
POLICIES = {
    "repost": "every step: cancel every open order, post both sides anew",
    "keep": "every step: keep an open order whose price is still the target, cancel the others, "
    "post the missing sides",
}
QUEUES = {"conservative": "risk_adverse_queue_model()", "probabilistic": "power_prob_queue_model(2.0)"}
INSTALL_HINT = """\
hftbacktest is not available to this script.
Install it in a separate virtual environment (it pins numpy < 2.3 and needs numba) and point the
script at that interpreter:

    python3.11 -m venv /tmp/hbt && /tmp/hbt/bin/pip install hftbacktest==2.4.4
    .venv/bin/python bench/hftbacktest_compare.py --hbt-python /tmp/hbt/bin/python

(or set HBT_PYTHON to it). The optional extra mm-bot[hftbacktest] installs it too, in an
environment whose numpy hftbacktest accepts."""


# ------------------------------------------------------------------------------------- main half
def load_spot(workdir: Path) -> Any:
    from sim.data import load

    for name in SPOT:
        shutil.copy(DATA / name, workdir / name)
    return load([workdir / name for name in SPOT])


def export(recording: Any, path: Path) -> dict[str, int]:
    """Write the hftbacktest feed; return its clock facts: the shift added to ``local_ts`` and the
    first timestamp hftbacktest's clock starts at."""
    import numpy as np

    from sim.data import EXCH_EVENT, LOCAL_EVENT, save_hftbacktest

    save_hftbacktest(recording, path)
    with np.load(path) as archive:
        data = archive["data"]
    local = data[(data["ev"] & np.uint64(LOCAL_EVENT)) != 0]
    exch = data[(data["ev"] & np.uint64(EXCH_EVENT)) != 0]
    shift = int(local["local_ts"][0] - recording.events["local_ts"][0])
    return {
        "shift_ns": shift,
        "t0_ns": int(min(local["local_ts"][0], exch["exch_ts"][0])),
        "rows": len(data),
        "exchange_copies": len(data) - len(recording.events),
    }


def run_ours(
    tape: Any, meta: Any, params: dict[str, Any], ticks: int, queue: str, keep: bool
) -> dict[str, Any]:
    """The policy against ``sim.replay.ReplayVenue``; fills and decisions as the hftbacktest half
    writes them."""
    from sim.events import (
        BookSnapshot,
        CancelOrder,
        Instrument,
        OrderAccepted,
        OrderCancelled,
        OrderRejected,
        OrderType,
        OwnFill,
        PlaceOrder,
        Side,
    )
    from sim.replay import BookKnown, BookUnknown, ReplayConfig, ReplayVenue, queue_model

    latency = params["latency_ns"]
    config = ReplayConfig(
        Instrument("BTC", "USDT", float(meta.tick), float(meta.lot)),
        maker_fee_bps=params["maker_bps"],
        taker_fee_bps=params["taker_bps"],
        book_levels=1,
        entry_latency=latency,
        response_latency=latency,
    )
    venue = ReplayVenue(tape, config, queue_model(queue), accounts={ACCOUNT: {"BTC": 1e6, "USDT": 1e12}})
    book: list[int | None] = [None, None]
    open_orders: dict[str, tuple[int, int]] = {}  # client order id -> (side, price)
    fills: list[list[Any]] = []
    rejected = 0
    posted: list[int] = []  # 2 * decision (+1 for a sell) of every order posted

    def handle(events: list[Any]) -> None:
        nonlocal rejected
        for ev in events:
            if isinstance(ev, BookSnapshot):
                book[0] = ev.bids[0][0] if ev.bids else None
                book[1] = ev.asks[0][0] if ev.asks else None
            elif isinstance(ev, BookUnknown | BookKnown):
                book[0] = book[1] = None
            elif isinstance(ev, OrderAccepted):
                open_orders[ev.client_order_id] = (int(ev.side), ev.price_ticks)
            elif isinstance(ev, OrderRejected):
                rejected += 1
                open_orders.pop(ev.client_order_id, None)
            elif isinstance(ev, OrderCancelled):
                open_orders.pop(ev.client_order_id, None)
            elif isinstance(ev, OwnFill):
                cid = ev.client_order_id
                fills.append(
                    [int(cid[:-1]), int(ev.side), ev.price_ticks, ev.qty_lots, ev.exchange_ts_ns, ev.ts_ns,
                     ev.trade_id, ev.fee_quote]
                )  # fmt: skip
                if ev.remaining_lots == 0:
                    open_orders.pop(cid, None)

    decisions: list[list[Any]] = []
    lots, step = params["lots"], params["step_ns"]
    t = params["t0_ns"]
    for k in range(1, params["decisions"] + 1):
        t = params["t0_ns"] + k * step
        handle(venue.advance(t))
        bid, ask = book
        decisions.append([t, bid, ask])
        known = bid is not None and ask is not None
        target = {1: bid - ticks, -1: ask + ticks} if bid is not None and ask is not None else {}  # = known
        kept = set()
        for cid, (side, price) in sorted(open_orders.items()):
            if keep and known and target[side] == price and side not in kept:
                kept.add(side)
            else:
                handle(venue.submit(CancelOrder(ACCOUNT, cid), t))
        if known:
            if 1 not in kept:
                posted.append(2 * k)
                handle(
                    venue.submit(
                        PlaceOrder(ACCOUNT, f"{k}b", Side.BUY, target[1], lots, OrderType.POST_ONLY), t
                    )
                )
            if -1 not in kept:
                posted.append(2 * k + 1)
                handle(
                    venue.submit(
                        PlaceOrder(ACCOUNT, f"{k}s", Side.SELL, target[-1], lots, OrderType.POST_ONLY), t
                    )
                )
    handle(venue.advance(t + step))
    return {"fills": fills, "decisions": decisions, "rejected": rejected, "posted": posted}


# ------------------------------------------------------------------------------ hftbacktest half
def hftbacktest_side(spec_path: Path, out_path: Path) -> None:
    """Run under the interpreter that has hftbacktest: the same policy on the exported feed."""
    try:
        import numpy as np
        from hftbacktest import GTX, LIMIT, BacktestAsset, HashMapMarketDepthBacktest
        from numba import njit
    except ImportError as exc:
        print(f"{sys.executable}: {exc}\n{INSTALL_HINT}", file=sys.stderr)
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
            (spec["lots"] - QTY_EPSILON) * lot, tick, lot,
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


# ------------------------------------------------------------------------------------ comparison
def late_trades(recording: Any, tape: Any) -> dict[str, Any]:
    """The trades our tape applies after their own exchange time: the recorder received them after a
    diff the venue stamped later, and the tape keeps the received order (``venue_ns`` is the running
    maximum of the exchange times). hftbacktest applies them at their ``exch_ts``, before that diff."""
    import numpy as np

    from sim.data import BUY_EVENT, MSG_TRADE

    messages = recording.messages
    index = tape.message_index
    trade = messages["kind"][index] == MSG_TRADE
    ident = recording.events["order_id"][messages["start"][index[trade]]].astype(np.int64)
    exch = messages["exch_ts"][index[trade]].astype(np.int64)
    venue = tape.venue_ns[trade]
    late = venue > exch
    lag = venue[late] - exch[late]
    rows = recording.events[messages["start"][index[trade]]][late]
    price = np.rint(rows["px"] / float(recording.meta.tick)).astype(np.int64)
    aggressor = np.where((rows["ev"] & np.uint64(BUY_EVENT)) != 0, 1, -1)
    return {
        "ids": set(ident[late].tolist()),
        "times": set(exch[late].tolist()),
        "trades": np.column_stack([price, aggressor, venue[late]]),
        "count": int(late.sum()),
        "of": int(trade.sum()),
        "lag_ms_p50": float(np.percentile(lag, 50) / MS) if len(lag) else 0.0,
        "lag_ms_max": float(lag.max() / MS) if len(lag) else 0.0,
    }


def late_at(trades: Any, side: int, both: dict[str, list[list[int]]], posted: int, until: int) -> bool:
    """A late trade reaching the order's price (a sell for a bid: at or below it) applied by our tape
    while the order rested: our queue counts it after the diff that already took it off the level."""
    price = (both["ours"] or both["hbt"])[0][1]
    hits = trades[:, 1] == -side
    hits &= trades[:, 0] <= price if side > 0 else trades[:, 0] >= price
    hits &= (trades[:, 2] >= posted) & (trades[:, 2] <= until)
    return bool(hits.any())


def aggregate(fills: list[list[Any]]) -> dict[tuple[int, int, int], list[int]]:
    """(decision, side, exchange time) -> [price, lots]: one order's fills at one time, summed."""
    out: dict[tuple[int, int, int], list[int]] = {}
    for f in fills:
        key = (int(f[0]), int(f[1]), int(f[4]))
        if key in out:
            out[key][1] += int(f[3])
        else:
            out[key] = [int(f[2]), int(f[3])]
    return out


def compare(
    ours: dict[str, Any], theirs: dict[str, Any], params: dict[str, Any], late: dict[str, Any], show: int
) -> dict[str, Any]:
    a, b = aggregate(ours["fills"]), aggregate(theirs["fills"])
    big = 1 << 62
    seen = [
        [t, None if bid <= -big else bid, None if ask >= big else ask] for t, bid, ask in theirs["decisions"]
    ]
    mismatched = [(x, y) for x, y in zip(ours["decisions"], seen, strict=True) if list(x) != list(y)]
    lots = params["lots"]

    def totals(agg: dict[tuple[int, int, int], list[int]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for side, name in ((1, "buy"), (-1, "sell")):
            rows = [v for k, v in agg.items() if k[1] == side]
            out[name] = {"fills": len(rows), "lots": sum(v[1] for v in rows)}
        out["partial"] = sum(1 for v in agg.values() if v[1] < lots)
        return out

    def prices(agg: dict[tuple[int, int, int], list[int]]) -> Counter[tuple[int, int]]:
        c: Counter[tuple[int, int]] = Counter()
        for (_, side, _), (price, qty) in agg.items():
            c[(side, price)] += qty
        return c

    pa, pb = prices(a), prices(b)
    same = [k for k in a if b.get(k) == a[k]]
    trade_ids: dict[tuple[int, int], list[int]] = defaultdict(list)
    for f in ours["fills"]:
        trade_ids[(int(f[0]), int(f[1]))].append(int(f[6]))
    by_order: dict[tuple[int, int], dict[str, list[list[int]]]] = defaultdict(lambda: {"ours": [], "hbt": []})
    for key, (price, qty) in a.items():
        if b.get(key) != [price, qty]:
            by_order[key[:2]]["ours"].append([key[2], price, qty])
    for key, (price, qty) in b.items():
        if a.get(key) != [price, qty]:
            by_order[key[:2]]["hbt"].append([key[2], price, qty])
    t0, step = params["t0_ns"], params["step_ns"]
    posted_ours, posted_hbt = set(ours["posted"]), set(theirs["posted"])
    diffs, shifts = [], []
    for (k, side), both in sorted(by_order.items()):
        filled_ours = sum(x[2] for x in both["ours"])
        filled_hbt = sum(x[2] for x in both["hbt"])
        if both["ours"] and both["hbt"]:
            kind = "same qty, other time" if filled_ours == filled_hbt else "other qty"
            if filled_ours == filled_hbt:
                shifts.append((max(x[0] for x in both["ours"]) - max(x[0] for x in both["hbt"])) / MS)
        else:
            kind = "ours only" if both["ours"] else "hftbacktest only"
        posted = t0 + k * step
        code = 2 * k + (1 if side < 0 else 0)
        until = max(x[0] for x in both["ours"] + both["hbt"])
        if (code in posted_ours) != (code in posted_hbt):
            cause = "posted in one engine only"  # the other still had an earlier order resting there
        elif (
            any(t in late["ids"] for t in trade_ids.get((k, side), []))
            or any(x[0] in late["times"] for x in both["hbt"])
            or late_at(late["trades"], side, both, posted, until)
        ):
            cause = "late trade"
        else:
            cause = "other"
        diffs.append(
            {
                "decision": k,
                "posted_ns": posted,
                "side": "buy" if side > 0 else "sell",
                "kind": kind,
                "cause": cause,
                "ours": [
                    {"after_ms": (x[0] - posted) / MS, "price": x[1], "lots": x[2]} for x in both["ours"]
                ],
                "hbt": [{"after_ms": (x[0] - posted) / MS, "price": x[1], "lots": x[2]} for x in both["hbt"]],
            }
        )
    tick_lot = params["tick"] * params["lot"]
    fee_ours = sum(f[7] for f in ours["fills"])
    fee_hbt = sum(f[2] * f[3] * tick_lot * params["maker_bps"] / 1e4 for f in theirs["fills"])
    shifts.sort()
    return {
        "decisions": len(ours["decisions"]),
        "decisions_differing": len(mismatched),
        "first_decision_differing": mismatched[0] if mismatched else None,
        "ours": {**totals(a), "fee_quote": round(fee_ours, 6), "post_only_rejected": ours["rejected"]},
        "hftbacktest": {**totals(b), "fee_quote": round(fee_hbt, 6), "post_only_rejected": theirs["expired"],
                        "state_values": theirs["state_values"], "seconds": theirs["seconds"]},
        "fills_identical": len(same),
        "prices_identical": pa == pb,
        "price_lots_only_ours": sum((pa - pb).values()),
        "price_lots_only_hbt": sum((pb - pa).values()),
        "orders_differing": len(diffs),
        "differences_by_kind": dict(Counter(d["kind"] for d in diffs)),
        "differences_by_cause": dict(Counter(d["cause"] for d in diffs)),
        "ours_later_ms": (
            {"min": shifts[0], "median": shifts[len(shifts) // 2], "max": shifts[-1]} if shifts else None
        ),
        "first_differences": diffs[:show],
        "other_differences": [d for d in diffs if d["cause"] == "other"][:show],
    }  # fmt: skip


def hbt_python(given: str | None) -> str | None:
    """The interpreter to run the hftbacktest half with, if it can import hftbacktest and numba."""
    python = given or os.environ.get("HBT_PYTHON")
    if not python:
        return sys.executable if importlib.util.find_spec("hftbacktest") else None
    try:
        probe = subprocess.run([python, "-c", "import hftbacktest, numba"], capture_output=True, check=False)
    except OSError:
        return None
    return python if probe.returncode == 0 else None


def main_side(args: argparse.Namespace) -> int:
    python = hbt_python(args.hbt_python)
    if python is None:
        print(INSTALL_HINT, file=sys.stderr)
        return 2
    from sim.replay import Tape

    ticks = [int(x) for x in args.ticks.split(",")]
    queues = args.queues.split(",")
    policies = args.policies.split(",")
    for q in queues:
        if q not in QUEUES:
            raise SystemExit(f"unknown queue {q!r}: {', '.join(QUEUES)}")
    for p in policies:
        if p not in POLICIES:
            raise SystemExit(f"unknown policy {p!r}: {', '.join(POLICIES)}")
    with tempfile.TemporaryDirectory(prefix="hbtcmp-") as tmp:
        work = Path(tmp)
        recording = load_spot(work)
        npz = work / "spot_btcusdt.npz"
        clock = export(recording, npz)
        tape = Tape(recording, feed="recorded", base_latency_ns=0)
        if tape.clock_shift_ns != clock["shift_ns"]:
            raise SystemExit(
                f"clock corrections differ: tape {tape.clock_shift_ns}, export {clock['shift_ns']}"
            )
        step = args.step_ms * MS
        t0 = clock["t0_ns"]
        params = {
            "npz": str(npz),
            "tick": float(recording.meta.tick),
            "lot": float(recording.meta.lot),
            "lots": args.lots,
            "step_ns": step,
            "latency_ns": args.latency_ms * MS,
            "maker_bps": 2.0,
            "taker_bps": 5.0,
            "t0_ns": t0,
            "decisions": (tape.end_ns - t0) // step,
            "exchange": args.hbt_exchange,
            "cases": [
                {"name": f"{p}/{q}/N={n}", "policy": p, "queue": q, "ticks": n}
                for p in policies for q in queues for n in ticks
            ],
        }  # fmt: skip
        spec = work / "spec.json"
        spec.write_text(json.dumps(params))
        out = work / "hbt.json"
        env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        done = subprocess.run(
            [python, str(Path(__file__).resolve()), "--hftbacktest-side", str(spec), str(out)],
            env=env, check=False,
        )  # fmt: skip
        if done.returncode == 2:
            return 2  # that interpreter has no hftbacktest; it said so
        if done.returncode != 0:
            print(f"the hftbacktest side failed (exit {done.returncode}, {python})", file=sys.stderr)
            return 1
        theirs = json.loads(out.read_text())
        late = late_trades(recording, tape)
        cases = {}
        for case in params["cases"]:
            ours = run_ours(
                tape, recording.meta, params, case["ticks"], case["queue"], case["policy"] == "keep"
            )
            hbt = theirs[case["name"]]
            if hbt["clock_start_ns"] != t0:
                raise SystemExit(f"hftbacktest's clock started at {hbt['clock_start_ns']}, not {t0}")
            cases[case["name"]] = compare(ours, hbt, params, late, args.show)
    result = {
        "data": list(SPOT),
        "policy": {
            "step_ms": args.step_ms, "lots": args.lots, "ticks": ticks, "post_only": True,
            "policies": {p: POLICIES[p] for p in policies}, "entry_ms": args.latency_ms,
            "response_ms": args.latency_ms, "feed": "recorded", "maker_bps": 2.0, "taker_bps": 5.0,
            "queues": {q: QUEUES[q] for q in queues},
            "hftbacktest_exchange": f"{args.hbt_exchange}_fill_exchange",
            "hftbacktest_qty_lots": args.lots - QTY_EPSILON,
        },
        "clock": {**clock, "decisions": params["decisions"]},
        "late_trades": {k: v for k, v in late.items() if k not in ("ids", "times", "trades")},
        "cases": cases,
    }  # fmt: skip
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)
    return 0


def print_table(result: dict[str, Any]) -> None:
    clock, late = result["clock"], result["late_trades"]
    print(
        f"clock shift {clock['shift_ns']} ns in both engines, T0 {clock['t0_ns']},"
        f" {clock['decisions']} decisions"
    )
    print(
        f"late trades (our tape applies them after a later-stamped diff): {late['count']} of {late['of']},"
        f" by {late['lag_ms_p50']:.0f} ms (median), {late['lag_ms_max']:.0f} ms (max)"
    )
    head = ("case", "engine", "buys", "lots", "sells", "lots", "part", "fee", "same", "diff", "late", "knock",
            "other", "ours later ms", "dec")  # fmt: skip
    widths = (26, 7, 6, 6, 6, 6, 5, 8, 6, 5, 5, 6, 6, 15, 4)
    print(
        "".join(
            f"{h:<{w}}" if i < 2 else f"{h:>{w}}" for i, (h, w) in enumerate(zip(head, widths, strict=True))
        )
    )
    for name, c in result["cases"].items():
        for engine in ("ours", "hftbacktest"):
            e = c[engine]
            cells: list[Any] = [name, engine[:6], e["buy"]["fills"], e["buy"]["lots"], e["sell"]["fills"],
                                e["sell"]["lots"], e["partial"], f"{e['fee_quote']:.4f}"]  # fmt: skip
            if engine == "ours":
                causes, later = c["differences_by_cause"], c["ours_later_ms"]
                span = f"{later['min']:.0f}/{later['median']:.0f}/{later['max']:.0f}" if later else "-"
                cells += [c["fills_identical"], c["orders_differing"], causes.get("late trade", 0),
                          causes.get("posted in one engine only", 0), causes.get("other", 0), span,
                          c["decisions_differing"]]  # fmt: skip
            print(
                "".join(
                    f"{v:<{w}}" if i < 2 else f"{v:>{w}}"
                    for i, (v, w) in enumerate(zip(cells, widths[: len(cells)], strict=True))
                )
            )
    print(
        "buys/sells: fills (one order's fills at one exchange time summed) and their lots;"
        " part: partial fills;"
        " fee: maker fees, quote; same: fills identical in both (decision, side, exchange time, price, lots);"
        " diff: orders whose fills differ, of them: late (a late trade filled it or reached its price while"
        " it rested), knock (posted in one engine only: the other kept an earlier order, policy keep), other;"
        " ours later ms: our fill time minus hftbacktest's, same quantity (min/median/max);"
        " dec: decisions whose best bid/ask differ"
    )
    for name, c in result["cases"].items():
        if c["other_differences"]:
            print(f"\n{name}: differences with no late trade involved")
            for d in c["other_differences"]:
                print(f"  decision {d['decision']} {d['side']}: {d['kind']}; ours {d['ours']} hbt {d['hbt']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--hbt-python", default=None)
    parser.add_argument("--ticks", default="0,1,5")
    parser.add_argument("--queues", default="conservative,probabilistic")
    parser.add_argument("--policies", default="repost,keep")
    parser.add_argument("--lots", type=int, default=5)
    parser.add_argument("--step-ms", type=int, default=100)
    parser.add_argument("--latency-ms", type=int, default=10)
    parser.add_argument("--show", type=int, default=8)
    parser.add_argument("--hbt-exchange", choices=("partial", "no_partial"), default="partial")
    parser.add_argument("--hftbacktest-side", nargs=2, metavar=("SPEC", "OUT"), default=None)
    args = parser.parse_args()
    if args.hftbacktest_side:
        hftbacktest_side(Path(args.hftbacktest_side[0]), Path(args.hftbacktest_side[1]))
        return 0
    return main_side(args)


if __name__ == "__main__":
    sys.exit(main())
