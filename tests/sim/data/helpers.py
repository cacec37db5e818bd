"""Building recorded lines by hand, in the capture format (``<local_ts_ns> <raw JSON>``)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from pathlib import Path

from sim.data.binance import ParsedFile, parse_lines
from sim.data.report import FileReport

Levels = Sequence[tuple[str, ...]]
ONE_LEVEL: Levels = (("100.00", "1.0"),)
"""A diff needs a row to appear in the output (a diff without levels changes nothing)."""


def line(local_ts: int, payload: object) -> bytes:
    return f"{local_ts} {json.dumps(payload)}\n".encode()


def wrapped(stream: str, data: dict[str, object]) -> dict[str, object]:
    return {"stream": stream, "data": data}


def spot_diff(
    local_ts: int,
    first: int,
    last: int,
    bids: Levels = ONE_LEVEL,
    asks: Levels = (),
    *,
    stream: str = "btcusdt@depth@100ms",
) -> bytes:
    data = {
        "e": "depthUpdate",
        "E": local_ts // 1_000_000,
        "s": "BTCUSDT",
        "U": first,
        "u": last,
        "b": [list(b) for b in bids],
        "a": [list(a) for a in asks],
    }
    return line(local_ts, wrapped(stream, data))


def usdm_diff(
    local_ts: int, first: int, last: int, prev: int, bids: Levels = ONE_LEVEL, asks: Levels = ()
) -> bytes:
    data = {
        "e": "depthUpdate", "E": local_ts // 1_000_000, "T": local_ts // 1_000_000, "s": "BTCUSDT",
        "U": first, "u": last, "pu": prev, "b": [list(b) for b in bids], "a": [list(a) for a in asks],
    }  # fmt: skip
    return line(local_ts, wrapped("btcusdt@depth@0ms", data))


def snapshot(local_ts: int, last_update_id: int, bids: Levels, asks: Levels) -> bytes:
    return line(
        local_ts,
        {"lastUpdateId": last_update_id, "bids": [list(b) for b in bids], "asks": [list(a) for a in asks]},
    )


def trade(local_ts: int, trade_id: int, price: str, qty: str, *, buyer_is_maker: bool) -> bytes:
    data = {
        "e": "trade",
        "E": local_ts // 1_000_000,
        "T": local_ts // 1_000_000,
        "s": "BTCUSDT",
        "t": trade_id,
        "p": price,
        "q": qty,
        "m": buyer_is_maker,
        "M": True,
    }
    return line(local_ts, wrapped("btcusdt@trade", data))


def ticker(local_ts: int, update_id: int, bid: tuple[str, str], ask: tuple[str, str]) -> bytes:
    data = {"u": update_id, "s": "BTCUSDT", "b": bid[0], "B": bid[1], "a": ask[0], "A": ask[1]}
    return line(local_ts, wrapped("btcusdt@bookTicker", data))


def parse(lines: Sequence[bytes], name: str = "test.gz") -> ParsedFile:
    report = FileReport(name)
    return parse_lines(lines, report)


def write_gz(path: Path, lines: Sequence[bytes]) -> Path:
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.writelines(lines)
    return path
