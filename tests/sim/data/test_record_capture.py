"""``mm-bot record`` captures read by ``sim.data.load``: books become a snapshot and then diffs under
the top-N view rule (a level leaving the view is not a deletion), gaps make the book unknown until
the next book, and hostile lines are reported, never fatal."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.data import (
    BOOK_GAP_EVENT,
    BUY_EVENT,
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    KIND_MASK,
    MSG_DEPTH,
    MSG_GAP,
    MSG_SNAPSHOT,
    MSG_TRADE,
    SELL_EVENT,
    TRADE_EVENT,
    BookReplay,
    DataError,
    Recording,
    info,
    load,
)
from sim.data.mmbot_capture import FORMAT, VERSION
from tests.sim.data.helpers import spot_diff, write_gz

HEADER = {"mmbot": "header", "format": FORMAT, "version": VERSION, "recorder": "test", "exchange": "binance",
          "symbol": "BTC/USDT", "market_id": "BTCUSDT", "type": "spot", "tick": "0.01", "lot": "0.001",
          "depth": 3, "trades": True}  # fmt: skip
Levels = list[tuple[str, str]]


def rec(ts: int, record: dict[str, Any]) -> bytes:
    return f"{ts} {json.dumps(record)}\n".encode()


def book(ts: int, bids: Levels, asks: Levels, nonce: int | None = None) -> bytes:
    record = {"mmbot": "book", "ts": ts // 1000, "nonce": nonce, "bids": bids, "asks": asks}
    return rec(ts, {**record, "bids": [list(b) for b in bids], "asks": [list(a) for a in asks]})


def trade(ts: int, trade_id: str, price: str, qty: str, side: str | None) -> bytes:
    return rec(
        ts, {"mmbot": "trade", "ts": ts // 1000, "id": trade_id, "price": price, "qty": qty, "side": side}
    )


def gap(ts: int, stream: str = "book") -> bytes:
    return rec(ts, {"mmbot": "gap", "stream": stream, "reason": "NetworkError: closed"})


def capture(tmp_path: Path, *lines: bytes, name: str = "cap.gz", header: bool = True) -> Path:
    return write_gz(tmp_path / name, [rec(1_000, HEADER)] * header + list(lines))


def rows(recording: Recording, message: int) -> list[tuple[str, float, float]]:
    """(kind side, price, qty) of one message's rows."""
    m = recording.messages[message]
    out = []
    for ev, px, qty in recording.events[["ev", "px", "qty"]][m["start"] : m["stop"]].tolist():
        kind = {DEPTH_EVENT: "depth", DEPTH_SNAPSHOT_EVENT: "snap", DEPTH_CLEAR_EVENT: "clear",
                TRADE_EVENT: "trade", BOOK_GAP_EVENT: "gap"}[ev & KIND_MASK]  # fmt: skip
        side = "bid" if ev & BUY_EVENT else "ask" if ev & SELL_EVENT else ""
        out.append((f"{kind} {side}".strip(), px, qty))
    return out


def final_book(recording: Recording) -> tuple[bool, dict[int, int], dict[int, int]]:
    result = (False, {}, {})
    for _, b in BookReplay(recording).books():
        result = (b.known, dict(b.bids), dict(b.asks))
    return result


TOP: Levels = [("100.00", "1"), ("99.99", "2"), ("99.98", "3")]
ASKS: Levels = [("100.01", "1"), ("100.02", "2"), ("100.03", "3")]


def test_the_first_book_is_a_snapshot_and_the_header_gives_tick_and_lot(tmp_path: Path) -> None:
    """Clear through each side's worst price, then the levels; symbol, market, tick and lot from the
    header (not inferred)."""
    recording = load([capture(tmp_path, book(2_000, TOP, ASKS, nonce=7))])
    assert recording.messages["kind"].tolist() == [MSG_SNAPSHOT]
    assert rows(recording, 0) == [
        ("clear bid", 99.98, 0.0), ("snap bid", 100.0, 1.0), ("snap bid", 99.99, 2.0),
        ("snap bid", 99.98, 3.0), ("clear ask", 100.03, 0.0), ("snap ask", 100.01, 1.0),
        ("snap ask", 100.02, 2.0), ("snap ask", 100.03, 3.0),
    ]  # fmt: skip
    meta = recording.meta
    assert (meta.symbol, meta.market, meta.tick_size, meta.lot_size) == ("BTC/USDT", "spot", "0.01", "0.001")
    assert not meta.tick_inferred and not meta.lot_inferred
    assert recording.messages["last_id"].tolist() == [7] and recording.events["order_id"][0] == 7


def test_a_level_leaving_the_top_n_view_is_not_deleted(tmp_path: Path) -> None:
    """A better bid pushes 99.98 out of the three levels shown: no row for it, and the rebuilt book
    keeps it (it may still be there); the ask that vanished inside the shown range is deleted, and so
    is one better than the new best."""
    new_bids: Levels = [("100.01", "4"), ("100.00", "1"), ("99.99", "2")]
    new_asks: Levels = [("100.02", "2"), ("100.04", "4"), ("100.05", "5")]  # 100.01 gone, 100.03 gone
    recording = load([capture(tmp_path, book(2_000, TOP, ASKS), book(3_000, new_bids, new_asks))])
    assert recording.messages["kind"].tolist() == [MSG_SNAPSHOT, MSG_DEPTH]
    assert sorted(rows(recording, 1)) == sorted([
        ("depth bid", 100.01, 4.0),
        ("depth ask", 100.01, 0.0),  # better than the new best ask: gone
        ("depth ask", 100.03, 0.0),  # inside the range shown (up to 100.05): gone
        ("depth ask", 100.04, 4.0),
        ("depth ask", 100.05, 5.0),
    ])  # fmt: skip
    known, bids, asks = final_book(recording)
    assert known
    assert bids == {10001: 4000, 10000: 1000, 9999: 2000, 9998: 3000}  # 99.98 kept, out of view
    assert asks == {10002: 2000, 10004: 4000, 10005: 5000}


def test_a_level_out_of_view_is_deleted_once_its_price_is_shown_again_without_it(tmp_path: Path) -> None:
    """99.98 left the view (kept); later the view reaches 99.97 again and 99.98 is not in it: deleted."""
    pushed: Levels = [("100.01", "4"), ("100.00", "1"), ("99.99", "2")]
    back: Levels = [("99.99", "2"), ("99.97", "7")]
    lines = [book(2_000, TOP, ASKS), book(3_000, pushed, ASKS), book(4_000, back, ASKS)]
    recording = load([capture(tmp_path, *lines)])
    assert sorted(rows(recording, 2)) == [
        ("depth bid", 99.97, 7.0), ("depth bid", 99.98, 0.0),
        ("depth bid", 100.0, 0.0), ("depth bid", 100.01, 0.0),
    ]  # fmt: skip
    assert final_book(recording)[1] == {9999: 2000, 9997: 7000}


def test_an_unchanged_book_makes_no_message_and_an_empty_side_empties_it(tmp_path: Path) -> None:
    lines = [book(2_000, TOP, ASKS), book(3_000, TOP, ASKS), book(4_000, TOP, [])]
    recording = load([capture(tmp_path, *lines)])
    assert recording.messages["kind"].tolist() == [MSG_SNAPSHOT, MSG_DEPTH]
    assert recording.report.counters["books_unchanged"] == 1
    assert sorted(r[0] for r in rows(recording, 1)) == ["depth ask"] * 3
    assert final_book(recording)[2] == {}


def test_a_gap_makes_the_book_unknown_until_the_next_book_which_is_a_snapshot(tmp_path: Path) -> None:
    """A book gap while known: a gap marker; the next book is a fresh snapshot, not a diff; a trade
    gap only counts; a second book gap while unknown adds no marker."""
    lines = [
        book(2_000, TOP, ASKS, nonce=5), trade(2_500, "11", "100.01", "0.5", "buy"), gap(3_000),
        gap(3_100, "trades"), gap(3_200), trade(3_500, "12", "100.00", "0.25", "sell"),
        book(4_000, [("99.00", "1")], [("101.00", "1")], nonce=9),
    ]  # fmt: skip
    recording = load([capture(tmp_path, *lines)])
    kinds = recording.messages["kind"].tolist()
    assert kinds == [MSG_SNAPSHOT, MSG_TRADE, MSG_GAP, MSG_TRADE, MSG_SNAPSHOT]
    assert rows(recording, 1) == [("trade bid", 100.01, 0.5)] and rows(recording, 3) == [
        ("trade ask", 100.0, 0.25)
    ]
    assert recording.messages["last_id"].tolist() == [5, 11, 5, 12, 9]
    (g,) = recording.report.gaps
    assert (g.local_ts, g.after_id, g.resynced_local_ts, g.line) == (3_000, 5, 4_000, 4)
    counters = recording.report.counters
    assert counters["trade_stream_gaps"] == 1 and counters["book_gaps_while_unknown"] == 1
    assert final_book(recording) == (True, {9900: 1000}, {10100: 1000})
    summary = info(recording)
    assert summary["book"]["known_at_end"] and len(summary["snapshots"]) == 2


def test_exchange_times_missing_are_filled_and_receive_times_never_go_back(tmp_path: Path) -> None:
    lines = [
        rec(
            2_000,
            {"mmbot": "book", "ts": None, "nonce": None, "bids": [["1.00", "1"]], "asks": [["1.01", "1"]]},
        ),
        trade(3_000, "x-1", "1.01", "1", None),
        trade(2_500, "2", "1.01", "1", "buy"),  # received "before" the line above: clamped
    ]
    recording = load([capture(tmp_path, *lines)])
    messages = recording.messages
    assert messages["local_ts"].tolist() == [2_000, 3_000, 3_000]
    assert recording.report.counters["local_ts_clamped"] == 1
    assert messages["exch_ts"].tolist() == [3_000_000, 3_000_000, 2_000_000]  # the first took the next's
    assert messages["first_id"].tolist() == [-1, -1, 2]  # no nonce; an id that is not a number
    assert rows(recording, 1) == [("trade", 1.01, 1.0)]  # side unknown: unsided


def test_hostile_lines_are_reported_and_skipped(tmp_path: Path) -> None:
    """Bad JSON, a line without a timestamp, an unknown record, unsorted or negative levels, a bad
    side: each one a problem with its line; the rest is used."""
    lines = [
        b"1500 {not json\n",
        b'{"mmbot": "book"}\n',
        rec(1_600, {"mmbot": "weather"}),
        book(2_000, [("99.00", "1"), ("99.50", "1")], ASKS),
        book(2_100, [("99.00", "-1")], ASKS),
        book(2_200, [("99.00", "nan")], ASKS),
        rec(2_300, {"mmbot": "book", "bids": [["99.00"]], "asks": []}),
        trade(2_400, "1", "100", "1", "up"),
        rec(2_500, {"mmbot": "trade", "price": "100"}),
        book(3_000, TOP, ASKS),
    ]
    recording = load([capture(tmp_path, *lines)])
    (report,) = recording.report.files
    assert [p.line for p in report.examples] == [2, 3, 5, 6, 7, 8, 9, 10]
    assert report.ignored == {"record weather": 1}
    assert recording.messages["kind"].tolist() == [MSG_SNAPSHOT]
    with pytest.raises(DataError, match=r"cap.gz:2: unreadable"):
        load([capture(tmp_path, *lines)], strict=True)


def test_a_missing_header_is_reported_and_steps_are_inferred(tmp_path: Path) -> None:
    path = capture(tmp_path, book(2_000, TOP, ASKS), header=False)
    recording = load([path])
    (problem,) = recording.report.files[0].examples
    assert problem.line == 1 and "no header" in problem.reason
    meta = recording.meta
    assert (meta.symbol, meta.tick_size, meta.tick_inferred) == ("unknown", "0.01", True)


def test_a_file_of_another_version_or_with_nothing_usable_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="version 99"):
        load([write_gz(tmp_path / "v.gz", [rec(1, {**HEADER, "version": 99})])])
    with pytest.raises(DataError, match="no book, trade or gap in 2 lines"):
        load([capture(tmp_path, b"2000 {broken\n")])
    with pytest.raises(DataError, match="some are mm-bot captures"):
        load([capture(tmp_path, book(2_000, TOP, ASKS)), write_gz(tmp_path / "b.gz", [spot_diff(10, 1, 2)])])


def test_a_truncated_capture_reads_up_to_the_damage(tmp_path: Path) -> None:
    """What a killed recorder leaves: a flushed gzip stream without its end."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as gz:
        gz.write(rec(1_000, HEADER) + book(2_000, TOP, ASKS))
        gz.flush()  # what the recorder does every second
        flushed = buffer.getvalue()  # the process dies here: no more data, no trailer
        gz.write(book(3_000, TOP, [("100.05", "1")]))
    path = tmp_path / "killed.gz"
    path.write_bytes(flushed)
    recording = load([path])
    assert recording.report.files[0].truncated
    assert recording.messages["kind"].tolist() == [MSG_SNAPSHOT]


def test_files_are_joined_in_time_order_with_a_gap_between_them(tmp_path: Path) -> None:
    first = capture(tmp_path, book(2_000, TOP, ASKS), name="a.gz")
    second = write_gz(tmp_path / "b.gz", [rec(5_000, HEADER), book(6_000, TOP, ASKS)])
    recording = load([second, first])
    assert recording.meta.sources == ("a.gz", "b.gz")
    assert recording.messages["kind"].tolist() == [MSG_SNAPSHOT, MSG_GAP, MSG_SNAPSHOT]
    assert recording.messages["file"].tolist() == [0, 1, 1]
    assert recording.report.gaps[0].resynced_local_ts == 6_000
    assert np.all(np.diff(recording.events["local_ts"]) >= 0)
    overlapping = write_gz(tmp_path / "c.gz", [rec(1_500, HEADER), book(2_500, TOP, ASKS)])
    with pytest.raises(DataError, match="overlap"):
        load([first, overlapping])
    other = write_gz(
        tmp_path / "d.gz", [rec(9_000, {**HEADER, "symbol": "ETH/USDT"}), book(9_500, TOP, ASKS)]
    )
    with pytest.raises(DataError, match="different markets"):
        load([first, other])


def test_captures_concatenated_with_cat_start_the_book_afresh(tmp_path: Path) -> None:
    """``cat a.gz b.gz`` is one gzip stream of two members: the second header is a gap."""
    a = capture(tmp_path, book(2_000, TOP, ASKS), name="a.gz").read_bytes()
    b = write_gz(tmp_path / "b.gz", [rec(5_000, HEADER), book(6_000, TOP, ASKS)]).read_bytes()
    joined = tmp_path / "ab.gz"
    joined.write_bytes(a + b)
    recording = load([joined])
    assert recording.messages["kind"].tolist() == [MSG_SNAPSHOT, MSG_GAP, MSG_SNAPSHOT]
