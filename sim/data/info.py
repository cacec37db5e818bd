"""What a recording holds, as one JSON-able dict (``info``) and as lines of text (``format_info``).

Times are integer ns since the epoch, with an ISO-8601 UTC copy beside each (``*_iso``); the span
gives both clocks, the venue's (``exch``) and the recorder's (``local``), over the messages kept (a
diff dropped before the first snapshot is not in it; the files' line counts are).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import numpy as np

from sim.data.events import KIND_MASK, MSG_GAP, MSG_SNAPSHOT, event_kind_name, message_kind_name
from sim.data.meta import Recording

__all__ = ["format_info", "info", "iso_utc"]


def iso_utc(ts_ns: int) -> str:
    """``2024-08-08T23:54:13.937085768Z`` (nanoseconds kept)."""
    seconds, nanos = divmod(ts_ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def _counts(codes: np.ndarray, name: Any) -> dict[str, int]:
    values, counts = np.unique(codes, return_counts=True)
    return {name(int(v)): int(c) for v, c in zip(values, counts, strict=True)}


def _span(recording: Recording) -> dict[str, Any]:
    messages = recording.messages
    if not len(messages):
        return {}
    exch, local = messages["exch_ts"], messages["local_ts"]
    times = {
        "first_exch_ts": int(exch.min()),
        "last_exch_ts": int(exch.max()),
        "first_local_ts": int(local[0]),
        "last_local_ts": int(local[-1]),
    }
    span: dict[str, Any] = dict(times)
    span.update({f"{key}_iso": iso_utc(value) for key, value in times.items()})
    span["duration_s"] = (times["last_local_ts"] - times["first_local_ts"]) / 1e9
    return span


def info(recording: Recording) -> dict[str, Any]:
    events, messages, meta, report = recording.events, recording.messages, recording.meta, recording.report
    kinds = messages["kind"]
    book_changes = messages[(kinds == MSG_SNAPSHOT) | (kinds == MSG_GAP)]
    first_snapshot = np.flatnonzero(kinds == MSG_SNAPSHOT)
    known_from = int(messages["local_ts"][first_snapshot[0]]) if len(first_snapshot) else None
    return {
        "symbol": meta.symbol,
        "market": meta.market,
        "tick_size": meta.tick_size,
        "lot_size": meta.lot_size,
        "tick_inferred": meta.tick_inferred,
        "lot_inferred": meta.lot_inferred,
        "sources": list(meta.sources),
        "span": _span(recording),
        "events": _counts(events["ev"] & np.uint64(KIND_MASK), event_kind_name),
        "events_total": len(events),
        "messages": _counts(kinds, message_kind_name),
        "messages_total": len(messages),
        "book": {
            "known_from_local_ts": known_from,
            "known_at_end": bool(len(book_changes)) and int(book_changes["kind"][-1]) == MSG_SNAPSHOT,
        },
        "gaps": [{**asdict(g), "local_iso": iso_utc(g.local_ts)} for g in report.gaps],
        "snapshots": [{**asdict(s), "local_iso": iso_utc(s.local_ts)} for s in report.snapshots],
        "counters": dict(report.counters),
        "files": [
            {
                "name": f.name,
                "lines": f.lines,
                "messages": f.messages,
                "problems": f.problems,
                "problem_examples": [str(p) for p in f.examples],
                "truncated": f.truncated,
                "ignored": dict(f.ignored),
                "streams": list(f.streams),
                "cache": f.cache,
            }
            for f in report.files
        ],
    }


def format_info(data: dict[str, Any]) -> str:
    """The ``info`` dict as a few readable lines."""
    span = data["span"]
    lines = [
        f"{data['symbol']} {data['market']}: tick {data['tick_size']}, lot {data['lot_size']}"
        + (" (inferred from the data)" if data["tick_inferred"] or data["lot_inferred"] else ""),
        f"files: {', '.join(data['sources'])}",
    ]
    if span:
        received = f"{span['first_local_ts_iso']} .. {span['last_local_ts_iso']}"
        venue = f"{span['first_exch_ts_iso']} .. {span['last_exch_ts_iso']}"
        lines.append(f"received {received} ({span['duration_s']:.1f} s); venue time {venue}")
    lines.append(f"events: {data['events_total']} " + _pairs(data["events"]))
    lines.append(f"messages: {data['messages_total']} " + _pairs(data["messages"]))
    book = data["book"]
    if book["known_from_local_ts"] is None:
        lines.append("book: never known (no usable snapshot)")
    else:
        state = "known" if book["known_at_end"] else "UNKNOWN"
        lines.append(f"book: known from {iso_utc(book['known_from_local_ts'])}, {state} at the end")
    for snap in data["snapshots"]:
        lines.append(f"snapshot {snap['last_update_id']} at {snap['local_iso']}: {snap['outcome']}")
    lines.append(f"gaps: {len(data['gaps'])}")
    for gap in data["gaps"]:
        until = (
            "never resynced"
            if gap["resynced_local_ts"] is None
            else f"until {iso_utc(gap['resynced_local_ts'])}"
        )
        lines.append(
            f"  gap at {gap['local_iso']} ({gap['file']}:{gap['line']}): book at {gap['after_id']}, "
            f"next diff U={gap['first_id']} u={gap['last_id']}; {until}"
        )
    lines.append("counters: " + _pairs(data["counters"]))
    for f in data["files"]:
        lines.append(
            f"{f['name']}: {f['lines']} lines, {f['messages']} messages, {f['problems']} skipped"
            + (", TRUNCATED" if f["truncated"] else "")
            + (f"; ignored {_pairs(f['ignored'])}" if f["ignored"] else "")
            + f"; cache {f['cache']}"
        )
        lines.extend(f"  {p}" for p in f["problem_examples"])
    return "\n".join(lines)


def _pairs(counts: dict[str, int]) -> str:
    return "(" + ", ".join(f"{k} {v}" for k, v in counts.items()) + ")"
