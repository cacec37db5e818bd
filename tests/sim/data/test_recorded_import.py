"""Importing the recorded Binance captures: what is inferred, how files join, what the book knows."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.data import (
    KIND_MASK,
    MSG_BBO,
    MSG_DEPTH,
    MSG_EXCH_TS_FILLED,
    MSG_REPLAYED,
    MSG_SNAPSHOT,
    BookReplay,
    Recording,
    info,
    load,
)
from tests.sim.data.conftest import SPOT


def test_tick_lot_market_and_symbol_are_inferred_from_the_data(spot: Recording, usdm: Recording) -> None:
    """Spot BTCUSDT comes out as tick 0.01, lot 0.00001; USD-M as tick 0.1, lot 0.001; markets from
    the message shapes (``pu`` on USD-M diffs)."""
    assert (spot.meta.symbol, spot.meta.market, spot.meta.tick_size, spot.meta.lot_size) == (
        "BTCUSDT", "spot", "0.01", "0.00001",
    )  # fmt: skip
    assert (usdm.meta.symbol, usdm.meta.market, usdm.meta.tick_size, usdm.meta.lot_size) == (
        "BTCUSDT", "usdm", "0.1", "0.001",
    )  # fmt: skip
    assert spot.meta.sources == SPOT
    # A few far-away spot levels are finer than the lot (e.g. 25.426189 BTC at 200000): counted.
    assert spot.report.counters["qty_off_lot_grid"] > 0
    assert usdm.report.counters["qty_off_lot_grid"] == 0


def test_the_two_spot_files_join_without_a_gap_and_the_book_is_known_from_the_snapshot(
    spot: Recording,
) -> None:
    """One snapshot syncs the book; the diff chain runs across the file boundary with no gap; the
    diff that straddles the snapshot was received before it and is replayed right after it."""
    report = spot.report
    assert report.gaps == []
    assert [s.outcome for s in report.snapshots] == ["applied"]
    assert report.counters["diffs_applied"] + report.counters["diffs_replayed"] == 6493
    assert report.counters["diffs_dropped_unknown"] == 0
    messages = spot.messages
    snap = int(np.flatnonzero(messages["kind"] == MSG_SNAPSHOT)[0])
    replayed = messages[snap + 1]
    assert replayed["kind"] == MSG_DEPTH and replayed["flags"] & MSG_REPLAYED
    assert replayed["first_id"] <= messages["last_id"][snap] + 1 <= replayed["last_id"]
    assert replayed["local_ts"] == messages["local_ts"][snap]
    # The diffs of the second file chain onto those of the first.
    diffs = messages[messages["kind"] == MSG_DEPTH]
    assert np.all(diffs["first_id"][1:] == diffs["last_id"][:-1] + 1)
    assert set(diffs["file"].tolist()) == {0, 1}


def test_the_arrays_keep_their_documented_invariants(spot: Recording) -> None:
    """Rows are in receive order, each message's rows are contiguous with ``ival`` its number, and
    spot tickers (no venue time) are flagged as having a filled-in exchange time."""
    events, messages = spot.events, spot.messages
    assert np.all(np.diff(events["local_ts"]) >= 0)
    lengths = messages["stop"] - messages["start"]
    assert np.all(lengths > 0) and messages["start"][0] == 0 and messages["stop"][-1] == len(events)
    assert np.all(messages["start"][1:] == messages["stop"][:-1])
    assert np.array_equal(events["ival"], np.repeat(np.arange(len(messages)), lengths))
    assert np.array_equal(events["local_ts"], np.repeat(messages["local_ts"], lengths))
    assert np.all(messages["flags"][messages["kind"] == MSG_BBO] & MSG_EXCH_TS_FILLED)
    assert not np.any(messages["flags"][messages["kind"] == MSG_DEPTH] & MSG_EXCH_TS_FILLED)
    depth_rows = (events["ev"] & np.uint64(KIND_MASK)) == 1
    assert np.array_equal(events["order_id"][depth_rows], np.repeat(messages["last_id"], lengths)[depth_rows])


def test_files_named_in_any_order_join_the_same(recorded_dir: Path, spot: Recording) -> None:
    """The loader joins the files of a set in the time order of their first messages."""
    reversed_order = load([recorded_dir / name for name in reversed(SPOT)])
    assert reversed_order.meta.sources == SPOT
    assert np.array_equal(reversed_order.events, spot.events)


def test_the_second_spot_file_alone_never_has_a_known_book(recorded_dir: Path) -> None:
    """Without the first file's snapshot, no diff of the second file can be applied: the book is
    unknown throughout, and no diff rows are emitted (its trades and tickers still are)."""
    alone = load([recorded_dir / SPOT[1]])
    assert alone.report.counters["diffs_dropped_unknown"] == 3044
    assert not np.any(alone.messages["kind"] == MSG_DEPTH)
    summary = info(alone)
    assert summary["book"] == {"known_from_local_ts": None, "known_at_end": False}
    last = int(alone.messages["local_ts"][-1])
    assert not BookReplay(alone).at(last).known


def test_info_counts_the_recording(spot: Recording, usdm: Recording) -> None:
    """``info`` gives the span on both clocks, events and messages by kind, snapshots and gaps."""
    summary = info(spot)
    assert summary["messages"]["depth"] == 6493 and summary["messages"]["snapshot"] == 1
    assert summary["events_total"] == len(spot.events) == sum(summary["events"].values())
    assert summary["span"]["first_local_ts_iso"].startswith("2024-08-08T23:54")
    assert summary["span"]["last_local_ts_iso"].startswith("2024-08-09T00:05")
    # The recorder's clock runs about 1.27 s behind the venue's.
    lag = summary["span"]["first_exch_ts"] - summary["span"]["first_local_ts"]
    assert 1.0e9 < lag < 1.5e9
    assert summary["gaps"] == [] and len(summary["snapshots"]) == 1
    assert summary["book"]["known_at_end"]
    assert info(usdm)["messages"]["trade"] == 21313
