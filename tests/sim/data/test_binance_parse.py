"""Parsing Binance capture lines: each message kind's rows, the stream-name forms, and hostile lines
skipped with their line numbers."""

from __future__ import annotations

import json

import numpy as np

from sim.data import (
    BUY_EVENT,
    DEPTH_BBO_EVENT,
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    EXCH_EVENT,
    KIND_MASK,
    LOCAL_EVENT,
    MSG_AGG_TRADE,
    MSG_BBO,
    MSG_DEPTH,
    MSG_SNAPSHOT,
    MSG_TRADE,
    SELL_EVENT,
    TRADE_EVENT,
)
from tests.sim.data.helpers import line, parse, snapshot, spot_diff, ticker, trade, usdm_diff, wrapped

T0 = 1_723_161_254_000_000_000


def kinds_and_sides(ev: np.ndarray) -> list[tuple[int, int]]:
    return [(int(e) & KIND_MASK, int(e) & (BUY_EVENT | SELL_EVENT)) for e in ev]


def test_each_message_kind_becomes_hftbacktest_rows() -> None:
    """A diff gives one row per level (bids then asks), a snapshot clear + levels per side, a trade one
    row with the aggressor's side (``m`` true: the buyer rested, a sell), a ticker one row per side."""
    parsed = parse(
        [
            snapshot(T0, 100, [("100.00", "1.0"), ("99.99", "2.0")], [("100.01", "3.0")]),
            spot_diff(T0 + 1, 101, 103, [("100.00", "0.0")], [("100.02", "4.5")]),
            trade(T0 + 2, 7, "100.01", "0.5", buyer_is_maker=False),
            trade(T0 + 3, 8, "100.00", "0.25", buyer_is_maker=True),
            ticker(T0 + 4, 103, ("99.99", "2.0"), ("100.01", "3.0")),
        ]
    )
    events, messages = parsed.events, parsed.messages
    assert messages["kind"].tolist() == [MSG_SNAPSHOT, MSG_DEPTH, MSG_TRADE, MSG_TRADE, MSG_BBO]
    assert kinds_and_sides(events["ev"]) == [
        (DEPTH_CLEAR_EVENT, BUY_EVENT), (DEPTH_SNAPSHOT_EVENT, BUY_EVENT), (DEPTH_SNAPSHOT_EVENT, BUY_EVENT),
        (DEPTH_CLEAR_EVENT, SELL_EVENT), (DEPTH_SNAPSHOT_EVENT, SELL_EVENT),
        (DEPTH_EVENT, BUY_EVENT), (DEPTH_EVENT, SELL_EVENT),
        (TRADE_EVENT, BUY_EVENT), (TRADE_EVENT, SELL_EVENT),
        (DEPTH_BBO_EVENT, BUY_EVENT), (DEPTH_BBO_EVENT, SELL_EVENT),
    ]  # fmt: skip
    assert np.all(events["ev"] & np.uint64(EXCH_EVENT | LOCAL_EVENT) == EXCH_EVENT | LOCAL_EVENT)
    # Clear rows carry the snapshot's worst price on that side ("clear up to"), as hftbacktest writes.
    assert events["px"].tolist()[:5] == [99.99, 100.0, 99.99, 100.01, 100.01]
    assert events["order_id"].tolist() == [100] * 5 + [103, 103, 7, 8, 103, 103]
    assert events["ival"].tolist() == [0] * 5 + [1, 1, 2, 3, 4, 4]
    assert messages[["first_id", "last_id", "prev_id"]][1].tolist() == (101, 103, -1)
    # Times: the venue's T or E in ms as ns; none on spot tickers and snapshots (-1, filled at sync).
    assert messages["exch_ts"].tolist() == [
        -1,
        (T0 + 1) // 10**6 * 10**6,
        T0 // 10**6 * 10**6,
        T0 // 10**6 * 10**6,
        -1,
    ]
    assert parsed.report.market_hint == "spot" and parsed.report.symbol == "BTCUSDT"


def test_usdm_diffs_keep_pu_and_agg_trades_their_ids() -> None:
    """USD-M diffs carry ``pu`` (and mark the file as USD-M); an aggTrade row keeps its aggregate id,
    its message the first and last trade ids."""
    agg = {
        "e": "aggTrade",
        "E": 1,
        "s": "BTCUSDT",
        "a": 55,
        "p": "100.0",
        "q": "0.003",
        "f": 70,
        "l": 72,
        "T": 1,
        "m": True,
    }
    parsed = parse(
        [usdm_diff(T0, 200, 210, 190, [("100.0", "1.000")]), line(T0 + 1, wrapped("btcusdt@aggTrade", agg))]
    )
    assert parsed.messages[["kind", "first_id", "last_id", "prev_id"]].tolist() == [
        (MSG_DEPTH, 200, 210, 190), (MSG_AGG_TRADE, 70, 72, -1),
    ]  # fmt: skip
    assert parsed.events["order_id"].tolist() == [210, 55]
    assert int(parsed.events["ev"][1]) & SELL_EVENT
    assert parsed.report.market_hint == "usdm"


def test_stream_names_with_or_without_speed_and_bare_payloads_are_read() -> None:
    """``btcusdt@depth``, ``@depth@100ms``, ``@depth@0ms`` and an unwrapped payload are all diffs;
    a partial-book stream (``@depth20``) and subscription replies are ignored, not errors."""
    bare = {"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": 9, "u": 9, "b": [], "a": [["1.0", "1.0"]]}
    parsed = parse(
        [
            spot_diff(T0, 1, 2, stream="btcusdt@depth"),
            spot_diff(T0, 3, 4, stream="btcusdt@depth@100ms"),
            spot_diff(T0, 5, 6, stream="btcusdt@depth@0ms"),
            line(T0, bare),
            spot_diff(T0, 7, 8, stream="btcusdt@depth20@100ms"),
            line(T0, {"result": None, "id": 1}),
        ]
    )
    assert parsed.messages["last_id"].tolist() == [2, 4, 6, 9]
    assert parsed.report.problems == 0
    assert parsed.report.ignored == {"partial depth stream btcusdt@depth20@100ms": 1, "subscription reply": 1}


def test_hostile_lines_are_skipped_and_counted_with_their_line_numbers() -> None:
    """Garbage, a missing field, a bad level list, a non-finite or negative number: each line is
    skipped with its number and reason; the good lines around them are kept."""
    good = spot_diff(T0, 1, 2, [("100.00", "1.0")])
    lines = [
        good,
        b"not a line\n",
        b"12345 {not json\n",
        b"abc {}\n",
        line(T0, wrapped("btcusdt@depth@100ms", {"e": "depthUpdate", "s": "BTCUSDT", "U": 3})),
        spot_diff(T0, 3, 4, [("100.00", "1.0", "extra")]),
        spot_diff(T0, 5, 6, [("nan", "1.0")]),
        spot_diff(T0, 7, 8, [("100.00", "-1")]),
        spot_diff(T0, 9, 8),
        line(T0, [1, 2, 3]),
        b"\n",
        spot_diff(T0 + 1, 3, 9, [("100.01", "2.0")]),
    ]
    parsed = parse(lines, "bad.gz")
    assert parsed.messages["last_id"].tolist() == [2, 9]
    assert parsed.messages["line"].tolist() == [1, 12]
    report = parsed.report
    assert report.problems == 9
    assert [p.line for p in report.examples] == [2, 3, 4, 5, 6, 9, 10, 7, 8]
    assert all(str(p).startswith(f"bad.gz:{p.line}: ") for p in report.examples)
    assert "missing field 'u'" in str(report.examples[3])


def test_a_second_symbol_is_ignored_and_counted() -> None:
    """A set is one symbol (the first seen); another symbol's messages are ignored, by name."""
    other = {"e": "trade", "E": 1, "T": 1, "s": "ETHUSDT", "t": 1, "p": "1.0", "q": "1.0", "m": False}
    parsed = parse(
        [trade(T0, 1, "100.0", "1.0", buyer_is_maker=False), line(T0, wrapped("ethusdt@trade", other))]
    )
    assert len(parsed.messages) == 1
    assert parsed.report.ignored == {"other symbol ETHUSDT": 1}


def test_a_trade_or_ticker_missing_a_price_or_quantity_is_one_skipped_line() -> None:
    """Each message kind, missing each of its numbers: skipped and named, the lines around it kept.
    The message used to be counted before its numbers were read, so the file failed to load with a
    traceback (numpy: "could not broadcast input array") (found in a fault hunt)."""
    whole_trade = json.loads(trade(T0, 7, "100.0", "1.0", buyer_is_maker=False).split(b" ", 1)[1])
    whole_ticker = json.loads(ticker(T0, 8, ("100.00", "1.0"), ("100.01", "2.0")).split(b" ", 1)[1])
    agg = {"e": "aggTrade", "E": 1, "T": 1, "s": "BTCUSDT", "a": 5, "f": 1, "l": 2, "p": "1.0", "q": "1.0",
           "m": True}  # fmt: skip
    broken = []
    for message, fields in ((whole_trade, "pq"), (whole_ticker, "bBaA")):
        for f in fields:
            data = {k: v for k, v in message["data"].items() if k != f}
            broken.append(line(T0, {**message, "data": data}))
    for f in "pq":
        broken.append(line(T0, wrapped("btcusdt@aggTrade", {k: v for k, v in agg.items() if k != f})))
    good = trade(T0 + 1, 9, "100.0", "1.0", buyer_is_maker=True)
    parsed = parse([good, *broken, good.replace(b'"t": 9', b'"t": 10')])
    assert parsed.report.problems == len(broken) == 8
    assert all("missing field" in str(p) for p in parsed.report.examples)
    assert parsed.messages["first_id"].tolist() == [9, 10] and len(parsed.events) == 2
