"""A sequence break in real data: one diff line taken out of the first spot file. The book is
unknown from the next diff on, and a snapshot made from the intact replay brings it back; before
the break and after the resync the rebuilt book still equals Binance's bookTicker."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from mm_bot.cli import main
from sim.data import MSG_DEPTH, MSG_GAP, MSG_SNAPSHOT, BookReplay, Recording, load
from tests.sim.data.conftest import SPOT
from tests.sim.data.test_recorded_books import compare_with_tickers


def snapshot_line(spot: Recording, message: int) -> bytes:
    """A REST snapshot of the intact book after ``message``, received when that diff was."""
    replay = BookReplay(spot)
    book = next(b for i, b in replay.books(message, message + 1))
    bids, asks = book.top(len(book.bids))[0], book.top(len(book.asks))[1]
    meta = spot.meta
    payload = {
        "lastUpdateId": int(spot.messages["last_id"][message]),
        "bids": [[meta.price(p), meta.quantity(q)] for p, q in bids],
        "asks": [[meta.price(p), meta.quantity(q)] for p, q in asks],
    }
    return f"{int(spot.messages['local_ts'][message])} {json.dumps(payload)}\n".encode()


@dataclass
class Broken:
    recording: Recording
    path: Path
    gap_line: int
    """1-based line of the first diff after the missing one, in the edited file."""
    gap_ts: int
    resync_ts: int
    resync_u: int


@pytest.fixture(scope="module")
def broken(recorded_dir: Path, spot: Recording, tmp_path_factory: pytest.TempPathFactory) -> Broken:
    with gzip.open(recorded_dir / SPOT[0]) as source:
        lines = source.readlines()
    diff_lines = [n for n, raw in enumerate(lines) if b"@depth" in raw[:80]]
    dropped, resync = diff_lines[1000], diff_lines[1300]
    # The intact recording's diff messages, by update id: the resync snapshot is the book after the
    # diff on line ``resync``.
    resync_u = json.loads(lines[resync].split(b" ", 1)[1])["data"]["u"]
    diffs = np.flatnonzero(spot.messages["kind"] == MSG_DEPTH)
    message = int(diffs[np.flatnonzero(spot.messages["last_id"][diffs] == resync_u)[0]])
    edited = [
        *lines[:dropped],
        *lines[dropped + 1 : resync + 1],
        snapshot_line(spot, message),
        *lines[resync + 1 :],
    ]
    path = tmp_path_factory.mktemp("broken") / SPOT[0]
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.writelines(edited)
    return Broken(
        recording=load([path]),
        path=path,
        gap_line=diff_lines[1001],  # its 0-based index in the original is its 1-based line once edited
        gap_ts=int(lines[diff_lines[1001]].split(b" ", 1)[0]),
        resync_ts=int(spot.messages["local_ts"][message]),
        resync_u=resync_u,
    )


def test_the_break_is_a_gap_marker_with_its_time_and_line_and_the_snapshot_resyncs(broken: Broken) -> None:
    """One gap, at the first diff after the missing one (its receive time and line in the file);
    resynced at the inserted snapshot; no diff rows in between, and the book unknown there."""
    recording = broken.recording
    [gap] = recording.report.gaps
    assert (gap.local_ts, gap.line, gap.resynced_local_ts) == (
        broken.gap_ts,
        broken.gap_line,
        broken.resync_ts,
    )
    assert gap.first_id > gap.after_id + 1  # updates between them are missing
    messages = recording.messages
    kinds = messages["kind"]
    gap_at = int(np.flatnonzero(kinds == MSG_GAP)[0])
    snap_at = int(np.flatnonzero(kinds == MSG_SNAPSHOT)[-1])
    assert snap_at > gap_at and not np.any(kinds[gap_at:snap_at] == MSG_DEPTH)
    assert messages["last_id"][snap_at] == broken.resync_u
    assert [s.outcome for s in recording.report.snapshots] == ["applied", "applied"]
    replay = BookReplay(recording)
    assert replay.at(broken.gap_ts - 1).known
    assert not replay.at(broken.gap_ts).known
    assert not replay.at(broken.resync_ts - 1).known
    assert replay.at(broken.resync_ts).known


def test_the_book_equals_the_book_ticker_before_the_break_and_after_the_resync(broken: Broken) -> None:
    """Every diff emitted (none while the book is unknown) still leaves the book equal to the ticker."""
    recording = broken.recording
    result = compare_with_tickers(recording)
    assert result.mismatches == []
    assert result.compared == int(np.sum(recording.messages["kind"] == MSG_DEPTH)) > 3000


def test_data_book_in_the_gap_exits_1_and_says_why(
    broken: Broken, capsys: pytest.CaptureFixture[str]
) -> None:
    """``mm-bot data book`` at a time inside the gap prints an unknown book with its reason, exit 1."""
    code = main(["data", "book", str(broken.path), "--at", str(broken.gap_ts + 1), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert out["known"] is False and out["bids"] == [] and "sequence gap" in out["reason"]
