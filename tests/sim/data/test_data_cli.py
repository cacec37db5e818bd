"""``mm-bot data info|book|convert`` on the recorded captures: output, decimal strings, exit codes."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mm_bot.cli import main
from mm_bot.data_cli import parse_timestamp
from sim.data import BookReplay, Recording
from tests.sim.data.conftest import SPOT, USDM

AT_ISO = "2024-08-09T00:00:00.5Z"
AT_NS = 1_723_161_600_500_000_000


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def spot_files(recorded_dir: Path) -> list[str]:
    return [str(recorded_dir / name) for name in SPOT]


def test_timestamps_are_ns_or_iso_8601() -> None:
    """``--at`` takes ns since the epoch, or ISO-8601 (UTC unless an offset is given, up to ns)."""
    assert parse_timestamp(str(AT_NS)) == AT_NS == parse_timestamp(AT_ISO)
    assert parse_timestamp("2024-08-09T02:00:00.500000000+02:00") == AT_NS
    assert parse_timestamp("2024-08-09 00:00:00.000000001") == AT_NS - 499_999_999


@pytest.mark.parametrize("text", ["2300-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "0001-01-01T00:00:00Z"])
def test_an_iso_time_outside_int64_ns_is_refused_as_an_integer_one_is(text: str) -> None:
    """ISO times beyond int64 or before 1970 were taken (ts 10413792000000000000 in the output) while
    the integer form refused them (found in a fault hunt)."""
    with pytest.raises(argparse.ArgumentTypeError, match="outside 1970-01-01"):
        parse_timestamp(text)


def test_info_json_describes_the_set(recorded_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``data info --json`` prints one JSON object: symbol, tick, lot, counts, no gaps."""
    code, out, _ = run(["data", "info", *spot_files(recorded_dir), "--json"], capsys)
    summary = json.loads(out)
    assert code == 0
    assert (summary["symbol"], summary["tick_size"], summary["lot_size"]) == ("BTCUSDT", "0.01", "0.00001")
    assert summary["messages"]["depth"] == 6493 and summary["gaps"] == []
    code, out, _ = run(["data", "info", str(recorded_dir / USDM[0])], capsys)
    assert code == 0 and out.startswith("BTCUSDT usdm: tick 0.1, lot 0.001") and "gaps: 0" in out


def test_book_json_gives_decimal_strings_best_first(
    recorded_dir: Path, spot: Recording, capsys: pytest.CaptureFixture[str]
) -> None:
    """``data book --at`` prints the rebuilt book: prices with the tick's decimals and quantities
    with the lot's, as strings; bids falling, asks rising; the same at an ISO time as at its ns."""
    code, out, _ = run(
        ["data", "book", *spot_files(recorded_dir), "--at", AT_ISO, "--depth", "5", "--json"], capsys
    )
    book = json.loads(out)
    assert code == 0 and book["known"] and book["ts"] == AT_NS
    assert len(book["bids"]) == len(book["asks"]) == 5
    for price, qty in book["bids"] + book["asks"]:
        assert re.fullmatch(r"\d+\.\d{2}", price) and re.fullmatch(r"\d+\.\d{5}", qty)
    bids = [float(p) for p, _ in book["bids"]]
    asks = [float(p) for p, _ in book["asks"]]
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks) and bids[0] < asks[0]
    expected_bids, _ = BookReplay(spot).at(AT_NS).top(5)
    assert book["bids"] == [[spot.meta.price(p), spot.meta.quantity(q)] for p, q in expected_bids]
    code, out, _ = run(
        ["data", "book", *spot_files(recorded_dir), "--at", str(AT_NS), "--depth", "5", "--json"], capsys
    )
    assert json.loads(out) == book


def test_book_before_the_data_is_unknown_and_exits_1(
    recorded_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before the first message there is no book: the JSON says ``known: false`` and why; exit 1."""
    code, out, err = run(
        ["data", "book", *spot_files(recorded_dir), "--at", "2024-08-08T00:00:00Z", "--json"], capsys
    )
    book = json.loads(out)
    assert code == 1 and book["known"] is False and book["bids"] == book["asks"] == []
    assert "before the first message" in book["reason"] and "unknown" in err


def test_convert_writes_both_formats_that_load_again(
    recorded_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``convert --format npz`` and ``--format hftbacktest`` write files that ``info`` reads back."""
    for fmt in ("npz", "hftbacktest"):
        out_path = tmp_path / f"usdm-{fmt}.npz"
        code, out, _ = run(
            ["data", "convert", str(recorded_dir / USDM[0]), "--out", str(out_path), "--format", fmt], capsys
        )
        assert code == 0 and out_path.exists() and f"as {fmt}" in out
        code, out, _ = run(
            ["data", "info", str(out_path), "--json", "--tick-size", "0.1", "--lot-size", "0.001"], capsys
        )
        summary = json.loads(out)
        assert code == 0 and summary["messages"]["depth"] == 6547
        assert summary["symbol"] == ("BTCUSDT" if fmt == "npz" else "unknown")


def test_bad_files_and_bad_arguments_exit_2_with_one_line(
    tmp_path: Path, recorded_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing file, a file of garbage, or a bad ``--at``: exit 2, one line on stderr, no traceback."""
    garbage = tmp_path / "garbage.gz"
    garbage.write_bytes(b"\x00\xff" * 1000)
    for args in (["data", "info", str(tmp_path / "missing.gz")], ["data", "info", str(garbage)]):
        code, out, err = run(args, capsys)
        assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("mm-bot: ")
    assert "garbage.gz" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "book", str(recorded_dir / USDM[0]), "--at", "yesterday"])
    assert exit_info.value.code == 2
    assert "neither ns since the epoch nor ISO-8601" in capsys.readouterr().err


def test_the_installed_command_reports_a_truncated_file_without_a_traceback(
    tmp_path: Path, recorded_dir: Path
) -> None:
    """Through a real process: a gzip file cut short loads what it has, warns with the file and line
    where the damage is, and exits 0."""
    cut = tmp_path / SPOT[0]
    cut.write_bytes((recorded_dir / SPOT[0]).read_bytes()[:300_000])
    result = subprocess.run(
        [sys.executable, "-m", "mm_bot.cli", "data", "info", str(cut), "--json", "--no-cache"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert re.search(
        rf"warning: {SPOT[0]}: \d+ unreadable lines skipped \(first: {SPOT[0]}:\d+: ", result.stderr
    )
    summary = json.loads(result.stdout)
    assert summary["files"][0]["truncated"] is True
    assert summary["messages"]["depth"] > 100


def test_convert_refuses_to_write_over_one_of_its_inputs(
    tmp_path: Path, recorded_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``data convert victim.gz --out victim.gz`` replaced the raw capture with an npz, silently
    (found in a fault hunt)."""
    victim = tmp_path / USDM[0]
    victim.write_bytes((recorded_dir / USDM[0]).read_bytes())
    before = victim.read_bytes()
    code, _, err = run(["data", "convert", str(victim), "--no-cache", "--out", str(victim)], capsys)
    assert code == 2 and "is one of the input files" in err
    assert victim.read_bytes() == before
