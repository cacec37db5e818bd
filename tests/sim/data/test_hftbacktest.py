"""hftbacktest's feed format: the same event dtype, the export's clock split and latency shift, and
import -> export -> import giving back the same rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.data import (
    BOOK_GAP_EVENT,
    BUY_EVENT,
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    EVENT_DTYPE,
    EXCH_EVENT,
    KIND_MASK,
    LOCAL_EVENT,
    MSG_DEPTH,
    MSG_GAP,
    MSG_SNAPSHOT,
    MSG_TRADE,
    SELL_EVENT,
    TRADE_EVENT,
    BookReplay,
    Recording,
    load,
    load_npz,
    save_hftbacktest,
    save_normalized,
)
from sim.data.hftbacktest import from_hftbacktest, to_hftbacktest
from tests.sim.data.helpers import snapshot, spot_diff, write_gz

# Copied from py-hftbacktest/hftbacktest/types.py (nkaz001/hftbacktest).
HFTBACKTEST_EVENT_DTYPE = np.dtype(
    [("ev", "u8"), ("exch_ts", "i8"), ("local_ts", "i8"), ("px", "f8"), ("qty", "f8"),
     ("order_id", "u8"), ("ival", "i8"), ("fval", "f8")],
    align=True,
)  # fmt: skip
BOTH = np.uint64(EXCH_EVENT | LOCAL_EVENT)


def test_the_event_dtype_and_flags_are_hftbacktests() -> None:
    """Same fields, offsets and 64-byte rows; the kind and flag values of hftbacktest's types.py."""
    assert EVENT_DTYPE == HFTBACKTEST_EVENT_DTYPE and EVENT_DTYPE.itemsize == 64
    assert (DEPTH_EVENT, TRADE_EVENT, DEPTH_CLEAR_EVENT, DEPTH_SNAPSHOT_EVENT) == (1, 2, 3, 4)
    assert (EXCH_EVENT, LOCAL_EVENT, BUY_EVENT, SELL_EVENT) == (1 << 31, 1 << 30, 1 << 29, 1 << 28)


@pytest.fixture(scope="module")
def exported(spot: Recording, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hbt") / "spot.npz"
    save_hftbacktest(spot, path)
    return path


def test_import_export_import_gives_back_the_same_rows(spot: Recording, exported: Path) -> None:
    """Raw capture -> hftbacktest .npz -> back: every row identical (flags, times, prices, ids, message
    numbers) but for the constant the export added to the receive times, and the message table the
    same where the format carries it; with the recorded clock kept, identical outright."""
    back = load_npz(exported, tick_size=spot.meta.tick_size, lot_size=spot.meta.lot_size)
    shift = int(back.events["local_ts"][0] - spot.events["local_ts"][0])
    unshifted = back.events.copy()
    unshifted["local_ts"] -= shift
    assert np.array_equal(unshifted, spot.events)
    for field in ("kind", "start", "stop", "exch_ts", "last_id"):
        assert np.array_equal(back.messages[field], spot.messages[field]), field
    assert np.array_equal(back.messages["local_ts"] - shift, spot.messages["local_ts"])
    events, _ = from_hftbacktest(to_hftbacktest(spot.events, correct_latency=False))
    assert np.array_equal(events, spot.events)


def test_the_export_is_valid_hftbacktest_input(spot: Recording, exported: Path) -> None:
    """As hftbacktest's validate_event_order requires: EXCH rows in exch_ts order, LOCAL rows in
    local_ts order; every event once on each side; the local clock raised by a constant so that no
    row is received before the venue stamped it, as its correct_local_timestamp does."""
    with np.load(exported) as archive:
        assert archive.files == ["data"]
        data = archive["data"]
    assert data.dtype == HFTBACKTEST_EVENT_DTYPE
    exch = data[(data["ev"] & np.uint64(EXCH_EVENT)) != 0]
    local = data[(data["ev"] & np.uint64(LOCAL_EVENT)) != 0]
    assert np.all(np.diff(exch["exch_ts"]) >= 0) and np.all(np.diff(local["local_ts"]) >= 0)
    assert len(exch) == len(local) == len(spot.events) < len(data)  # some rows had to be split
    shift = local["local_ts"] - spot.events["local_ts"]
    assert len(set(shift.tolist())) == 1 and shift[0] > 1_000_000_000  # the recorder ran ~1.27 s behind
    assert int((local["local_ts"] - local["exch_ts"]).min()) == 0
    assert all(np.array_equal(local[f], spot.events[f]) for f in ("exch_ts", "px", "qty", "order_id", "ival"))
    # The EXCH side holds the same events, reordered: the same rows once sorted by message and price.
    without_clock_flags = lambda rows: rows["ev"] & ~BOTH  # noqa: E731
    by_row = lambda rows: rows[np.lexsort((rows["qty"], rows["px"], without_clock_flags(rows), rows["ival"]))]  # noqa: E731
    assert np.array_equal(
        by_row(exch)[["exch_ts", "px", "qty", "ival"]], by_row(local)[["exch_ts", "px", "qty", "ival"]]
    )


def test_a_gap_marker_is_an_unsided_clear_in_hftbacktest_and_comes_back_as_a_gap(tmp_path: Path) -> None:
    """hftbacktest has no "book unknown" event: the marker becomes a DEPTH_CLEAR without side (its
    whole book is cleared, and stays empty until the next snapshot); import maps it back."""
    t, ms = 1_723_161_254_000_000_000, 1_000_000
    book = ([("100.00", "1.0")], [("100.01", "1.0")])
    source = write_gz(
        tmp_path / "gap.gz",
        [snapshot(t, 10, *book), spot_diff(t + ms, 11, 12), spot_diff(t + 2 * ms, 20, 21)],
    )
    recording = load([source], cache=False)
    assert [int(k) for k in recording.messages["kind"]] == [MSG_SNAPSHOT, MSG_DEPTH, MSG_GAP]
    save_hftbacktest(recording, tmp_path / "gap.npz")
    with np.load(tmp_path / "gap.npz") as archive:
        last = archive["data"][-1]
    assert (
        int(last["ev"]) & KIND_MASK == DEPTH_CLEAR_EVENT and int(last["ev"]) & (BUY_EVENT | SELL_EVENT) == 0
    )
    back = load_npz(tmp_path / "gap.npz")
    assert int(back.events["ev"][-1]) & KIND_MASK == BOOK_GAP_EVENT
    assert len(back.report.gaps) == 1
    assert not BookReplay(back).at(int(back.events["local_ts"][-1])).known


def test_a_foreign_hftbacktest_file_is_grouped_into_messages() -> None:
    """A file made by hftbacktest's own converters (ids and message numbers 0) is grouped into
    messages by kind and timestamps: a snapshot, one diff of two levels, two trades."""
    rows = np.zeros(7, EVENT_DTYPE)
    spec = [
        (DEPTH_CLEAR_EVENT | BUY_EVENT, 1, 99.0, 0.0), (DEPTH_SNAPSHOT_EVENT | BUY_EVENT, 1, 99.0, 1.0),
        (DEPTH_CLEAR_EVENT | SELL_EVENT, 1, 101.0, 0.0), (DEPTH_SNAPSHOT_EVENT | SELL_EVENT, 1, 101.0, 2.0),
        (DEPTH_EVENT | BUY_EVENT, 2, 100.0, 3.0), (DEPTH_EVENT | SELL_EVENT, 2, 101.0, 0.0),
        (TRADE_EVENT | SELL_EVENT, 3, 100.0, 0.5),
    ]  # fmt: skip
    for row, (ev, ts, px, qty) in zip(rows, spec, strict=True):
        row["ev"], row["exch_ts"], row["local_ts"], row["px"], row["qty"] = (
            ev | EXCH_EVENT | LOCAL_EVENT,
            ts,
            ts + 5,
            px,
            qty,
        )
    rows = np.concatenate([rows, rows[-1:]])  # a second trade at the same time: its own message
    events, messages = from_hftbacktest(rows)
    assert [int(k) for k in messages["kind"]] == [MSG_SNAPSHOT, MSG_DEPTH, MSG_TRADE, MSG_TRADE]
    assert messages["stop"].tolist() == [4, 6, 7, 8]
    assert events["ival"].tolist() == [0, 0, 0, 0, 1, 1, 2, 3]


def test_the_normalized_npz_keeps_everything(spot: Recording, tmp_path: Path) -> None:
    """Our own .npz: rows, message table, metadata and import report all come back as they were."""
    save_normalized(spot, tmp_path / "spot.npz")
    back = load([tmp_path / "spot.npz"])
    assert np.array_equal(back.events, spot.events) and np.array_equal(back.messages, spot.messages)
    assert back.meta == spot.meta
    assert back.report.to_json() == spot.report.to_json()
