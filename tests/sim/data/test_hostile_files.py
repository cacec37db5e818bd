"""Files that are not what they claim: cut short, garbage, mixed, empty. Each is either used up to
the damage with the lines named, or refused with a ``DataError`` naming the file."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from sim.data import DataError, load
from tests.sim.data.conftest import SPOT
from tests.sim.data.helpers import snapshot, spot_diff, trade, usdm_diff, write_gz

T, MS = 1_723_161_254_000_000_000, 1_000_000
BOOK = ([("100.00", "1.0")], [("100.01", "1.0")])


def test_a_truncated_gzip_is_used_up_to_the_damage(tmp_path: Path, recorded_dir: Path) -> None:
    """The lines before the cut are loaded; the report says truncated, with the line it stopped at."""
    cut = tmp_path / "cut.gz"
    cut.write_bytes((recorded_dir / SPOT[0]).read_bytes()[:500_000])
    recording = load([cut], cache=False)
    report = recording.report.files[0]
    assert report.truncated and report.problems >= 1
    damage = report.examples[-1]
    assert damage.line == report.lines + 1 and "damaged gzip data" in damage.reason
    assert 10_000 < report.lines < 41_249
    assert recording.report.gaps == [] and len(recording.messages) > 10_000


def test_garbage_lines_inside_real_data_are_skipped_and_a_lost_diff_is_a_gap(
    tmp_path: Path, recorded_dir: Path
) -> None:
    """Non-JSON lines between good ones cost nothing; a diff line turned to garbage is reported with
    its line number and, its updates being lost, makes a gap right after it."""
    with gzip.open(recorded_dir / SPOT[0]) as source:
        lines = source.readlines()
    diff_lines = [n for n, raw in enumerate(lines) if b"@depth" in raw[:80]]
    broken = diff_lines[500]
    lines[broken] = lines[broken][:100] + b"\n"  # the JSON cut short
    lines.insert(20, b"\x00\x01 binary junk\n")
    lines.insert(21, b"1723161254206652067 [1, 2, 3]\n")
    recording = load([write_gz(tmp_path / SPOT[0], lines)], cache=False)
    report = recording.report.files[0]
    assert [p.line for p in report.examples] == [21, 22, broken + 3]
    [gap] = recording.report.gaps
    assert gap.line == diff_lines[501] + 3 and gap.resynced_local_ts is None


def test_strict_mode_refuses_any_skipped_line_naming_file_and_line(tmp_path: Path) -> None:
    """With ``strict`` the first problem is an error: file and line."""
    path = write_gz(tmp_path / "s.gz", [snapshot(T, 1, *BOOK), b"oops\n", spot_diff(T + MS, 2, 3)])
    assert load([path], cache=False).report.problems == 1
    with pytest.raises(DataError, match=r"s\.gz:2: expected '<local_receive_ts_ns> <json>'"):
        load([path], cache=False, strict=True)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "no usable Binance message in 0 lines"),
        (b"hello\nworld\n", "no usable Binance message in 2 lines; first problem: line 1"),
        (b"\x1f\x8b\x08\x00garbage", "no usable Binance message"),
    ],
    ids=["empty", "text", "bad-gzip"],
)
def test_files_without_any_usable_message_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    """An empty file, plain text that is not a capture, a gzip header over garbage: ``DataError``."""
    path = tmp_path / "x.gz"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as error:
        load([path], cache=False)
    assert str(path) in str(error.value)


def test_files_of_different_markets_or_symbols_or_a_contradicting_market_are_refused(tmp_path: Path) -> None:
    """A set is one market and one symbol; ``market`` given against the data is an error too."""
    spot = write_gz(tmp_path / "spot.gz", [snapshot(T, 1, *BOOK), spot_diff(T + MS, 2, 3)])
    usdm = write_gz(tmp_path / "usdm.gz", [usdm_diff(T + 2 * MS, 4, 5, 3)])
    with pytest.raises(DataError, match="mix spot and USD-M"):
        load([spot, usdm], cache=False)
    with pytest.raises(DataError, match="--market usdm given, but the messages are spot's"):
        load([spot], cache=False, market="usdm")
    other = tmp_path / "eth.gz"
    with gzip.open(other, "wb") as out:
        out.write(trade(T, 1, "1.0", "1.0", buyer_is_maker=True).replace(b"BTCUSDT", b"ETHUSDT"))
    with pytest.raises(DataError, match="different symbols: BTCUSDT, ETHUSDT"):
        load([spot, other], cache=False)


def test_a_given_tick_that_prices_are_not_on_is_refused(tmp_path: Path) -> None:
    """An explicit tick is checked against every price."""
    path = write_gz(tmp_path / "t.gz", [snapshot(T, 1, *BOOK)])
    assert load([path], cache=False, tick_size="0.01").meta.tick_size == "0.01"
    with pytest.raises(DataError, match=r"not whole multiples of the tick size 0\.1"):
        load([path], cache=False, tick_size="0.10")
    with pytest.raises(DataError, match="must be a positive number"):
        load([path], cache=False, tick_size="-1")


def test_the_same_file_twice_or_an_overlapping_copy_is_refused_naming_both(tmp_path: Path) -> None:
    """Diffs the book already has are skipped, but trades are not: a file given twice, or a copy under
    another name, replayed every trade twice, silently (found in a fault hunt)."""
    first = write_gz(tmp_path / "a.gz", [snapshot(T, 1, *BOOK), trade(T + MS, 1, "100.01", "1.0",
                                                                     buyer_is_maker=False)])  # fmt: skip
    copy = tmp_path / "copy.gz"
    copy.write_bytes(first.read_bytes())
    with pytest.raises(DataError, match=r"a\.gz begins before a\.gz ends"):
        load([first, first], cache=False)
    with pytest.raises(DataError, match=r"(copy|a)\.gz begins before (a|copy)\.gz ends"):
        load([first, copy], cache=False)
    later = write_gz(tmp_path / "b.gz", [snapshot(T + 2 * MS, 5, *BOOK)])
    assert len(load([later, first], cache=False).messages) == 3


def test_numbers_too_large_for_the_book_are_a_skipped_line_or_refused_naming_the_file(tmp_path: Path) -> None:
    """A price of 1e300 became -92233720368547758.08 in the book, a tick of 1e-30 or 1e400 turned every
    price into garbage or 0, all with exit 0 (found in a fault hunt). A value beyond any market's is a
    skipped line; a tick or lot that puts the data beyond the book's exact integers is refused."""
    huge = ([("100.00", "1.0")], [("100.01", "1.0"), ("1e300", "1.0")])
    path = write_gz(tmp_path / "h.gz", [snapshot(T, 1, *BOOK), snapshot(T + MS, 2, *huge)])
    recording = load([path], cache=False)
    assert recording.report.problems == 1 and "not a number in [0, 1e+15]" in str(
        recording.report.files[0].examples[0]
    )
    assert float(recording.events["px"].max()) == 100.01
    ok = write_gz(tmp_path / "ok.gz", [snapshot(T, 1, *BOOK)])
    with pytest.raises(DataError, match=r"ok\.gz: a price of 100\.01 is 1e\+32 ticks of 0\.0+1, more than"):
        load([ok], cache=False, tick_size="1e-30")
    for bad in ("1e400", "1e-400"):
        with pytest.raises(DataError, match="must be a positive number a float can hold"):
            load([ok], cache=False, tick_size=bad)


def test_a_stray_line_of_another_symbol_first_does_not_decide_the_file(tmp_path: Path) -> None:
    """One ETHUSDT trade before 399 BTCUSDT lines made the whole file ETHUSDT: every BTCUSDT line was
    ignored, and the symbol-less snapshot became an ETHUSDT book, exit 0 (found in a fault hunt)."""
    eth = b'1723161253937085000 {"stream":"ethusdt@trade","data":{"e":"trade","E":1,"T":1,"s":"ETHUSDT",' \
          b'"t":1,"p":"2600.00","q":"1.0","m":false}}\n'  # fmt: skip
    lines = [eth, snapshot(T, 1, *BOOK)] + [
        trade(T + n * MS, n, "100.01", "1.0", buyer_is_maker=False) for n in range(1, 5)
    ]
    with pytest.raises(DataError, match=r"x\.gz: 4 messages of other symbols against 2 of ETHUSDT"):
        load([write_gz(tmp_path / "x.gz", lines)], cache=False)


def test_a_value_with_too_many_decimals_names_the_file(tmp_path: Path) -> None:
    path = write_gz(tmp_path / "fine.gz", [snapshot(T, 1, [("100.00", "0.00000000000001")], BOOK[1])])
    with pytest.raises(DataError, match=r"^fine\.gz: values need more than 12 decimals"):
        load([path], cache=False)


@pytest.mark.parametrize("damage", ["tick_abc", "tick_zero", "nan_px", "negative_qty", "times_back", "empty"])
def test_a_stored_npz_is_checked_as_a_raw_file_is(tmp_path: Path, damage: str) -> None:
    """Our own .npz was trusted whole: a tick of 'abc' was a traceback, a NaN price or receive times
    going back were replayed with exit 0 (found in a fault hunt). Each is refused naming the file."""
    from sim.data.store import save_normalized

    source = write_gz(tmp_path / "s.gz", [snapshot(T, 1, *BOOK), snapshot(T + MS, 2, *BOOK)])
    good = tmp_path / "good.npz"
    save_normalized(load([source], cache=False), good)
    with np.load(good) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(arrays["header"].tobytes())
    if damage == "tick_abc":
        header["meta"]["tick_size"] = "abc"
    elif damage == "tick_zero":
        header["meta"]["tick_size"] = "0"
    elif damage == "nan_px":
        arrays["events"]["px"][0] = np.nan
    elif damage == "negative_qty":
        arrays["events"]["qty"][0] = -1.0
    elif damage == "times_back":
        arrays["messages"]["local_ts"] = arrays["messages"]["local_ts"][::-1].copy()
    else:
        arrays["events"], arrays["messages"] = arrays["events"][:0], arrays["messages"][:0]
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    assert len(load([good]).messages) == 2
    with pytest.raises(DataError, match=r"bad\.npz"):
        load([bad])


def test_a_line_longer_than_the_cap_is_skipped_without_being_held(tmp_path: Path) -> None:
    """A line of 1 GB took 10 s and 2.2 GB of memory before its error (found in a fault hunt). A line
    beyond ``MAX_LINE_BYTES`` is read past in pieces and reported; the lines around it are kept."""
    from sim.data.files import MAX_LINE_BYTES

    huge = b"1723161254000000000 " + b"x" * (MAX_LINE_BYTES + 10) + b"\n"
    lines = [snapshot(T, 1, *BOOK), huge, trade(T + MS, 1, "100.01", "1.0", buyer_is_maker=False)]
    for name in ("h.gz", "h.txt"):
        path = write_gz(tmp_path / name, lines) if name.endswith(".gz") else tmp_path / name
        if not name.endswith(".gz"):
            path.write_bytes(b"".join(lines))
        recording = load([path], cache=False)
        [problem] = recording.report.files[0].examples
        assert problem.line == 2 and "line longer than" in problem.reason
        assert len(recording.messages) == 2 and recording.report.files[0].lines == 3
