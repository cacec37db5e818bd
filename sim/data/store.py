"""The ``.npz`` files a user keeps: our normalized recording, and hftbacktest's feed format.

Normalized (``save_normalized``): arrays ``events`` and ``messages`` as in ``sim/data/events.py`` and
``header``, UTF-8 JSON with ``format`` ("mm-bot-events"), ``version``, ``meta`` and ``report``.
hftbacktest (``save_hftbacktest``): one array ``data``, written with ``np.savez_compressed`` as
hftbacktest's own converters do. ``load_npz`` tells the two apart by their keys. Neither is ever
read with pickle.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Final

import numpy as np

from sim.data.binance import MAX_VALUE
from sim.data.events import (
    DEPTH_BBO_EVENT,
    EVENT_DTYPE,
    KIND_MASK,
    MESSAGE_DTYPE,
    MSG_GAP,
    MSG_SNAPSHOT,
    TRADE_EVENT,
)
from sim.data.hftbacktest import from_hftbacktest, to_hftbacktest
from sim.data.meta import FORMAT_VERSION, Meta, Recording, check_step, infer_step, off_grid, on_grid
from sim.data.report import DataError, FileReport, Gap, ImportReport, SnapshotUse

__all__ = ["load_npz", "resolve_steps", "save_hftbacktest", "save_normalized"]

FORMAT_NAME: Final = "mm-bot-events"


def save_normalized(recording: Recording, path: Path) -> None:
    header = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "meta": recording.meta.to_json(),
        "report": recording.report.to_json(),
    }
    with path.open("wb") as out:
        np.savez_compressed(
            out,
            header=np.frombuffer(json.dumps(header).encode(), np.uint8),
            events=recording.events,
            messages=recording.messages,
        )


def save_hftbacktest(
    recording: Recording, path: Path, *, correct_latency: bool = True, base_latency_ns: int = 0
) -> None:
    data = to_hftbacktest(recording.events, correct_latency=correct_latency, base_latency_ns=base_latency_ns)
    with path.open("wb") as out:
        np.savez_compressed(out, data=data)


def load_npz(
    path: Path, *, symbol: str | None = None, tick_size: str | None = None, lot_size: str | None = None
) -> Recording:
    """A normalized recording, or an hftbacktest feed file turned into one."""
    try:
        with path.open("rb") as raw, np.load(raw, allow_pickle=False) as archive:
            keys = set(archive.files)
            if {"header", "events", "messages"} <= keys:
                header = json.loads(archive["header"].tobytes())
                events, messages = archive["events"], archive["messages"]
            elif "data" in keys:
                header, events, messages = None, archive["data"], None
            else:
                raise DataError(f"{path}: neither an mm-bot nor an hftbacktest .npz (keys {sorted(keys)})")
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    if events.dtype != EVENT_DTYPE:
        raise DataError(f"{path}: event rows are not hftbacktest's event dtype (got {events.dtype})")
    if header is not None:
        recording = _normalized(path, header, events, messages)
        _check_values(path, recording.events, recording.messages)
        meta = recording.meta  # its steps, checked as given ones are
        resolve_steps(recording.events, str(meta.tick_size), str(meta.lot_size), path.name)
        return recording
    events, messages = from_hftbacktest(events)
    _check_values(path, events, messages)
    tick, lot, tick_inferred, lot_inferred, off_lot = resolve_steps(events, tick_size, lot_size, path.name)
    meta = Meta(symbol or "unknown", "unknown", tick, lot, (path.name,), tick_inferred, lot_inferred)
    report = _report_of(path.name, messages)
    report.counters["qty_off_lot_grid"] = off_lot
    return Recording(events, messages, meta, report)


def _check_values(path: Path, events: np.ndarray, messages: np.ndarray) -> None:
    """What the parser guarantees of a raw file, asked of a stored one: messages, prices and
    quantities in [0, ``MAX_VALUE``], receive times that never go back."""
    if len(messages) == 0:
        raise DataError(f"{path}: holds no message")
    for name in ("px", "qty"):
        values = events[name]
        if not ((values >= 0) & (values <= MAX_VALUE)).all():  # NaN compares False
            raise DataError(f"{path}: a {name} is not a number in [0, {MAX_VALUE:g}]")
    local = messages["local_ts"]
    if local[0] < 0 or np.any(local[1:] < local[:-1]):
        raise DataError(f"{path}: receive times are negative or go back")


def _normalized(path: Path, header: Any, events: np.ndarray, messages: np.ndarray) -> Recording:
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise DataError(f"{path}: not an mm-bot events file")
    if header.get("version") != FORMAT_VERSION:
        raise DataError(f"{path}: format version {header.get('version')}, this mm-bot reads {FORMAT_VERSION}")
    if messages.dtype != MESSAGE_DTYPE:
        raise DataError(f"{path}: message table has an unexpected layout")
    starts, stops = messages["start"], messages["stop"]
    contiguous = len(messages) == 0 or (
        starts[0] == 0
        and stops[-1] == len(events)
        and np.all(starts[1:] == stops[:-1])
        and np.all(stops > starts)
    )
    if not contiguous:
        raise DataError(f"{path}: the message table does not cover the event rows")
    try:
        meta = Meta.from_json(header["meta"])
        report = ImportReport.from_json(header["report"])
    except (KeyError, TypeError) as exc:
        raise DataError(f"{path}: bad header ({exc})") from None
    return Recording(events, messages, meta, report)


def _report_of(name: str, messages: np.ndarray) -> ImportReport:
    """What an hftbacktest file can tell: its gaps (unsided clears) and snapshots."""
    kinds, local = messages["kind"], messages["local_ts"]
    snap_local = local[kinds == MSG_SNAPSHOT]
    gaps = []
    for m in messages[kinds == MSG_GAP]:
        later = snap_local[snap_local >= m["local_ts"]]
        resynced = int(later[0]) if len(later) else None
        gaps.append(
            Gap(int(m["local_ts"]), int(m["exch_ts"]), -1, -1, int(m["last_id"]), -1, name, 0, resynced)
        )
    snapshots = [
        SnapshotUse(int(m["local_ts"]), int(m["last_id"]), name, 0, "applied")
        for m in messages[kinds == MSG_SNAPSHOT]
    ]
    return ImportReport([FileReport(name, messages=len(messages))], gaps, snapshots, {})


def _inferred(values: np.ndarray, where: str) -> str:
    try:
        return infer_step(values)
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from None


_EXACT: Final = 2.0**53  # integers up to this are exact in a float: the book's ticks and lots


def resolve_steps(
    events: np.ndarray, tick_size: str | None, lot_size: str | None, where: str
) -> tuple[str, str, bool, bool, int]:
    """The tick and lot (given ones checked, missing ones inferred), whether each was inferred, and
    how many quantities are off the lot grid.

    The lot is inferred from trade and ticker quantities (the sizes orders are made of) when there
    are any: Binance spot books hold a few far-away levels with quantities finer than the lot (e.g.
    25.426189 BTC where the lot is 0.00001), which are counted, not allowed to refine the lot. Every
    price must lie on the tick grid.
    """
    px, qty = events["px"], events["qty"]
    kind = events["ev"] & np.uint64(KIND_MASK)
    sized = (kind == TRADE_EVENT) | (kind == DEPTH_BBO_EVENT)
    lot_sample = qty[sized] if sized.any() else qty
    if tick_size is None:
        tick, tick_inferred = _inferred(px, where), True
    else:
        tick, tick_inferred = check_step(tick_size, f"{where}: tick size"), False
        if not on_grid(px, tick):
            raise DataError(f"{where}: some prices are not whole multiples of the tick size {tick}")
    if lot_size is None:
        lot, lot_inferred = _inferred(lot_sample, where), True
    else:
        lot, lot_inferred = check_step(lot_size, f"{where}: lot size"), False
    for values, step, what in ((px, tick, "price"), (qty, lot, "quantity")):
        largest = float(np.abs(values).max()) if len(values) else 0.0
        if not largest / float(step) < _EXACT:  # NaN, too, is refused
            name = "tick" if what == "price" else "lot"
            raise DataError(
                f"{where}: a {what} of {largest:g} is {largest / float(step):.3g} {name}s of {step}, more"
                f" than the book holds exactly (2**53): a hostile value, or the wrong {name}"
            )
    return tick, lot, tick_inferred, lot_inferred, off_grid(qty, lot)
