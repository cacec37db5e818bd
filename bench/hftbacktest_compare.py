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
and its ``exch_ts`` our ``venue_ns``: our tape applies every row at its exchange time, as
hftbacktest's exchange side does (each stream, book and trades, in recorded order), except Binance
spot's REST snapshot, which has no venue time: hftbacktest applies it at the ``exch_ts``
``sim.data`` fills in (the previous message's), our tape at its receive time minus the latest
recorded latency (119 ms later here, and the diff after it, kept behind it, 53 ms later than its
``exch_ts``; no order exists yet at either time). hftbacktest starts its clock at the earliest
timestamp of the feed (the first exchange-side row's ``exch_ts``, below every corrected
``local_ts``) and ``elapse``/``wait_next_feed`` move it from there: the decision times are
``T_k = T_0 + k * step`` in both, and at ``T_k`` each strategy sees the rows whose ``local_ts`` is
at most ``T_k`` (the run compares the best bid and ask each engine decided on, at every ``T_k``).

The engines live in different environments. Run from the main venv, this script loads the files
(copied to a temporary directory: loading writes a parse cache), exports them with
``sim.data.save_hftbacktest``, runs our side (``sim.replay.ReplayVenue`` driven directly with
``PlaceOrder``/``CancelOrder``), runs ``bench/hftbacktest_side.py SPEC OUT`` (the same policy in
hftbacktest; how its fills are read is said there) under the interpreter that has hftbacktest
(``--hbt-python``), and compares; hftbacktest's ``state_values`` is reported as is (it misses
partial fills, hftbacktest issue #316). A fill is compared after summing the fills of one order at
one exchange time (hftbacktest's local side sees one answer per order and time), keyed by the
decision that posted it and its side. Each order whose fills differ is given a cause: ``posted in
one engine only`` (policy ``keep``: the other engine still had an earlier order resting there),
else ``other``.

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


# -------------------------------------------------------------------------------------- our side
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
    """The policy against ``sim.replay.ReplayVenue``; fills and decisions much as
    ``bench/hftbacktest_side.py`` writes them (our fills end with the fee, not the maker flag)."""
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
                     ev.fee_quote]
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
        for side, code, name in ((1, 2 * k, f"{k}b"), (-1, 2 * k + 1, f"{k}s")):
            if known and side not in kept:
                posted.append(code)
                order = PlaceOrder(ACCOUNT, name, Side(side), target[side], lots, OrderType.POST_ONLY)
                handle(venue.submit(order, t))
    handle(venue.advance(t + step))
    return {"fills": fills, "decisions": decisions, "rejected": rejected, "posted": posted}


# ------------------------------------------------------------------------------------ comparison
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
    ours: dict[str, Any], theirs: dict[str, Any], params: dict[str, Any], show: int
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
        # posted in one engine only: the other still had an earlier order resting there (policy keep)
        cause = "posted in one engine only" if (code in posted_ours) != (code in posted_hbt) else "other"
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
    fee_ours = sum(f[6] for f in ours["fills"])
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
    """The interpreter to run ``bench/hftbacktest_side.py`` with, if it can import hftbacktest and numba."""
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
            "qty_lots": args.lots - QTY_EPSILON,
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
            [python, str(Path(__file__).resolve().with_name("hftbacktest_side.py")), str(spec), str(out)],
            env=env, check=False,
        )  # fmt: skip
        if done.returncode == 2:  # that interpreter cannot import hftbacktest; it said why
            print(INSTALL_HINT, file=sys.stderr)
            return 2
        if done.returncode != 0:
            print(f"the hftbacktest side failed (exit {done.returncode}, {python})", file=sys.stderr)
            return 1
        theirs = json.loads(out.read_text())
        cases = {}
        for case in params["cases"]:
            ours = run_ours(
                tape, recording.meta, params, case["ticks"], case["queue"], case["policy"] == "keep"
            )
            hbt = theirs[case["name"]]
            if hbt["clock_start_ns"] != t0:
                raise SystemExit(f"hftbacktest's clock started at {hbt['clock_start_ns']}, not {t0}")
            cases[case["name"]] = compare(ours, hbt, params, args.show)
    result = {
        "data": list(SPOT),
        "policy": {
            "step_ms": args.step_ms, "lots": args.lots, "ticks": ticks, "post_only": True,
            "policies": {p: POLICIES[p] for p in policies}, "entry_ms": args.latency_ms,
            "response_ms": args.latency_ms, "feed": "recorded", "maker_bps": 2.0, "taker_bps": 5.0,
            "queues": {q: QUEUES[q] for q in queues},
            "hftbacktest_exchange": f"{args.hbt_exchange}_fill_exchange",
            "hftbacktest_qty_lots": params["qty_lots"],
        },
        "clock": {**clock, "decisions": params["decisions"]},
        "cases": cases,
    }  # fmt: skip
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)
    return 0


def print_table(result: dict[str, Any]) -> None:
    clock = result["clock"]
    print(
        f"clock shift {clock['shift_ns']} ns in both engines, T0 {clock['t0_ns']},"
        f" {clock['decisions']} decisions"
    )
    head = ("case", "engine", "buys", "lots", "sells", "lots", "part", "fee", "same", "diff", "knock",
            "other", "ours later ms", "dec")  # fmt: skip
    widths = (26, 7, 6, 6, 6, 6, 5, 8, 6, 5, 6, 6, 15, 4)
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
                cells += [c["fills_identical"], c["orders_differing"],
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
        " diff: orders whose fills differ, of them: knock (posted in one engine only: the other kept an"
        " earlier order, policy keep), other;"
        " ours later ms: our fill time minus hftbacktest's, same quantity (min/median/max);"
        " dec: decisions whose best bid/ask differ"
    )
    for name, c in result["cases"].items():
        if c["other_differences"]:
            print(f"\n{name}: differences with no known cause")
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
    return main_side(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
