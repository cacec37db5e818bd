"""``mm-bot record`` against the Binance emulator through the unmodified ccxt client: the capture
loads with ``sim.data.load``, its rebuilt book ends on the emulator's best bid and ask, trades are on
the grid, a dropped stream is a gap followed by a fresh snapshot; the CLI stops on ``--duration``
and on SIGINT with a summary, and refuses what it cannot record with exit 2."""

from __future__ import annotations

import asyncio
import gzip
import logging
import signal
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import structlog

from mm_bot.cli import main
from mm_bot.record import RecordOptions, decimal_text, record
from sim.data import KIND_MASK, MSG_GAP, MSG_SNAPSHOT, MSG_TRADE, TRADE_EVENT, BookReplay, Recording, load
from sim.events import Side
from sim.servers.binance import Emulator
from tests.bot.live_process import emulator, wait_until
from tests.sim.servers.helpers import emulator_options

SYMBOL = "BTC/USDT"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The CLI configures logging onto the captured stderr; later tests must not write to it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


def freeze_once_published(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """From now on, stop the emulator's market at the first step after which its book's best bid and
    ask are the ones it last published: the streams carry nothing more, and what the recorder got
    last is the emulator's book."""
    venue, exchange, market = emu.venue, emu.exchange(SYMBOL), emu.venue.market("BTCUSDT")
    advance = venue.advance
    frozen = asyncio.Event()

    def advance_until_published() -> None:
        if frozen.is_set():
            return
        advance()
        published = (market.top(Side.BUY, 1)[0][0], market.top(Side.SELL, 1)[0][0])
        if exchange.best_bid_ask() == published:
            frozen.set()

    monkeypatch.setattr(venue, "advance", advance_until_published)
    return frozen


def receive_times(path: Path) -> list[int]:
    with gzip.open(path, "rb") as lines:
        return [int(line.split(b" ", 1)[0]) for line in lines]


def on_grid(values: np.ndarray, step: float) -> bool:
    return bool(np.all(np.abs(values / step - np.rint(values / step)) < 1e-6))


def final_best(recording: Recording) -> tuple[int | None, int | None]:
    book = BookReplay(recording).at(int(recording.messages["local_ts"][-1]))
    assert book.known
    bid, ask = book.best_bid(), book.best_ask()
    return (bid[0] if bid else None), (ask[0] if ask else None)


async def test_a_recording_rebuilds_the_emulators_book_across_a_dropped_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "btc.gz"
    async with Emulator(emulator_options()) as emu:
        options = RecordOptions("binance", SYMBOL, out, endpoint=emu.base_url, depth=10, retry_delay_s=0.1)
        stop = asyncio.Event()
        task = asyncio.create_task(record(options, stop))
        await asyncio.sleep(1.2)
        emu.faults.trigger("ws_drop")
        await asyncio.sleep(1.2)
        async with asyncio.timeout(5):
            await freeze_once_published(emu, monkeypatch).wait()
        await asyncio.sleep(0.4)  # the last update on its way to the recorder
        stop.set()
        summary = await asyncio.wait_for(task, 10)
        emulator_best = emu.exchange(SYMBOL).best_bid_ask()
    assert summary.books > 5 and summary.trades > 0 and summary.gaps >= 1
    assert summary.bytes == out.stat().st_size > 0
    assert "book: NetworkError" in " ".join(summary.failures)

    times = receive_times(out)
    assert times == sorted(times) and times[-1] > times[0]
    recording = load([out])
    meta, messages, events = recording.meta, recording.messages, recording.events
    assert (meta.symbol, meta.market, meta.tick_size, meta.lot_size) == (SYMBOL, "spot", "0.01", "0.00001")
    assert recording.report.problems == 0 and recording.report.counters["local_ts_clamped"] == 0
    assert np.all(np.diff(messages["local_ts"]) >= 0)
    trades = events[(events["ev"] & np.uint64(KIND_MASK)) == TRADE_EVENT]
    assert len(trades) == summary.trades
    assert on_grid(trades["px"], meta.tick) and on_grid(trades["qty"], meta.lot)

    kinds = messages["kind"].tolist()
    first_gap = kinds.index(MSG_GAP)
    # a trade may come in before the first book; the first book message is a snapshot
    assert next(k for k in kinds if k != MSG_TRADE) == MSG_SNAPSHOT and MSG_SNAPSHOT in kinds[first_gap:]
    book_kinds = [k for k in kinds[first_gap + 1 :] if k != MSG_TRADE]
    assert book_kinds[0] == MSG_SNAPSHOT  # the book after the drop is a fresh snapshot
    assert recording.report.gaps[0].resynced_local_ts is not None
    assert final_best(recording) == emulator_best


def test_the_cli_records_for_a_duration_and_until_sigint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """In-process with ``--duration``, then as a real process stopped by SIGINT; ``mm-bot data info``
    reads the result; an unknown symbol is exit 2."""
    with emulator(tmp_path) as (url, _):
        first = tmp_path / "first.gz"
        base = ["record", "--exchange", "binance", "--symbol", SYMBOL, "--endpoint", url, "--depth", "5"]
        assert main([*base, "--out", str(first), "--duration", "1"]) == 0
        out = capsys.readouterr().out
        assert out.startswith("recorded ") and " books, " in out and str(first) in out
        assert main(["data", "info", str(first)]) == 0
        assert "BTC/USDT spot: tick 0.01, lot 0.00001" in capsys.readouterr().out

        nope = ["record", "--exchange", "binance", "--symbol", "NOPE/USDT", "--endpoint", url]
        assert main([*nope, "--out", str(tmp_path / "x.gz")]) == 2
        assert "lists no market 'NOPE/USDT'" in capsys.readouterr().err
        assert not (tmp_path / "x.gz").exists()

        second, log = tmp_path / "second.gz", tmp_path / "second.log"
        cmd = [sys.executable, "-m", "mm_bot.cli", *base, "--out", str(second), "--duration", "60"]
        with log.open("w") as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        try:
            # started, and a second's flush has put some books in the file
            wait_until(lambda: "record_started" in log.read_text(), timeout_s=20)
            wait_until(lambda: second.exists() and second.stat().st_size > 300, timeout_s=10)
            proc.send_signal(signal.SIGINT)
            stdout, _ = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, stdout
    assert stdout.startswith("recorded ") and " 0 gaps" in stdout
    assert len(load([second]).messages) > 0


def test_what_cannot_be_recorded_is_refused_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unknown exchange ids, an exchange without WebSocket books in ccxt, a bad depth: one line, no file."""
    out = tmp_path / "x.gz"
    for exchange, needle in (
        ("nope", "unknown exchange 'nope'"),
        ("bitflyer", "no WebSocket client for 'bitflyer'"),
        ("mudrex", "mudrex has no WebSocket order books"),
    ):
        assert main(["record", "--exchange", exchange, "--symbol", SYMBOL, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert needle in err and err.count("\n") == 1
    with pytest.raises(SystemExit) as exc:
        main(["record", "--exchange", "binance", "--symbol", SYMBOL, "--out", str(out), "--depth", "0"])
    assert exc.value.code == 2
    assert not out.exists()


def test_floats_become_the_decimals_they_were_read_from() -> None:
    """The shortest round-trip text, snapped to the step only where off it by float noise, padded to
    the step's decimals; a quantity genuinely finer than the lot is kept."""
    tick, lot = Decimal("0.01"), Decimal("0.00001")
    assert decimal_text(60000.0, tick) == "60000.00"
    assert decimal_text(59999.99, tick) == "59999.99"
    assert decimal_text(0.1 + 0.2, tick) == "0.30"  # 0.30000000000000004
    assert decimal_text(3e-05, lot) == "0.00003"
    assert decimal_text(25.426189, lot) == "25.426189"  # Binance's far levels: finer than the lot
    assert decimal_text(1e-08, None) == "0.00000001"
    assert decimal_text(1.5, Decimal("0.5")) == "1.5" and decimal_text(120.0, Decimal("10")) == "120"
    with pytest.raises(ValueError, match="finite"):
        decimal_text(float("nan"), tick)
