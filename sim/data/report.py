"""What an import found: per-file line problems, ignored messages, book gaps and snapshot use.

Hostile input policy: a line that cannot be read (no timestamp, not JSON, a missing or mistyped
field, a non-finite or negative number) is skipped and counted, and the first few are kept with
their file and line; a truncated gzip file is read up to the damage, which is reported the same way.
A skipped diff breaks the update-id chain, so the book sync marks the book unknown there rather
than carrying a wrong book on. A file that yields no usable message at all, an unreadable file, or
(with ``strict``) any problem raises ``DataError`` naming the file and line.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final

__all__ = ["DataError", "FileReport", "Gap", "ImportReport", "Problem", "SnapshotUse"]

MAX_EXAMPLES: Final = 10
"""Problems kept per file with their line (all are counted)."""


class DataError(Exception):
    """Recorded data that cannot be used; the message names the file and, where known, the line."""


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int
    """1-based line number; 0 when the problem is not about one line."""
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}" if self.line else f"{self.file}: {self.reason}"


@dataclass(slots=True)
class FileReport:
    """One source file: what was read from it, what was skipped and whether the cache served it."""

    name: str
    lines: int = 0
    messages: int = 0
    problems: int = 0
    examples: list[Problem] = field(default_factory=list)
    truncated: bool = False
    ignored: dict[str, int] = field(default_factory=dict)
    """Messages read fine but not used, by reason (subscription replies, other symbols ...)."""
    symbol: str | None = None
    market_hint: str | None = None
    """``usdm`` or ``spot`` when the messages tell (a diff's ``pu``, a trade's ``X``), else None."""
    streams: list[str] = field(default_factory=list)
    cache: str = "off"
    """``off``, ``hit`` (parsed arrays read from the cache), ``written``, or ``unwritable``."""
    cache_path: str | None = None

    def problem(self, line: int, reason: str) -> None:
        self.problems += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(Problem(self.name, line, reason))

    def ignore(self, reason: str) -> None:
        self.ignored[reason] = self.ignored.get(reason, 0) + 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileReport:
        fields = dict(data)
        fields["examples"] = [Problem(**p) for p in fields.get("examples", [])]
        return cls(**fields)


@dataclass(frozen=True, slots=True)
class Gap:
    """A break in the diff sequence: the book is unknown from ``local_ts`` until ``resynced_local_ts``
    (None: never again in this data)."""

    local_ts: int
    exch_ts: int
    after_id: int
    """The last update id the book had (the previous diff's ``u`` or the snapshot's id)."""
    first_id: int
    last_id: int
    prev_id: int
    """``U``, ``u`` and ``pu`` (-1 on spot) of the diff that did not follow."""
    file: str
    line: int
    resynced_local_ts: int | None = None


@dataclass(frozen=True, slots=True)
class SnapshotUse:
    """A REST snapshot and what the sync did with it: ``applied`` (the book is known from it on),
    ``stale`` (the book was already past its id: ignored) or ``too_old`` (the diffs buffered while the
    book was unknown start after it, so it cannot be caught up: ignored, the book stays unknown)."""

    local_ts: int
    last_update_id: int
    file: str
    line: int
    outcome: str


@dataclass(slots=True)
class ImportReport:
    files: list[FileReport] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    snapshots: list[SnapshotUse] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    """``diffs_applied``, ``diffs_replayed`` (buffered, applied after the snapshot),
    ``diffs_dropped_stale`` (already covered by the book), ``diffs_dropped_unknown`` (received while
    the book was unknown and never usable), ``agg_trades_dropped`` (a ``trade`` stream is present),
    ``local_ts_clamped`` (a receive time earlier than the one before it, raised to it),
    ``qty_off_lot_grid`` (rows whose quantity is not a whole number of lots; the book rounds them)."""

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n

    @property
    def problems(self) -> int:
        return sum(f.problems for f in self.files)

    def to_json(self) -> dict[str, Any]:
        return {
            "files": [f.to_json() for f in self.files],
            "gaps": [asdict(g) for g in self.gaps],
            "snapshots": [asdict(s) for s in self.snapshots],
            "counters": dict(self.counters),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImportReport:
        return cls(
            files=[FileReport.from_json(f) for f in data.get("files", [])],
            gaps=[Gap(**g) for g in data.get("gaps", [])],
            snapshots=[SnapshotUse(**s) for s in data.get("snapshots", [])],
            counters=dict(data.get("counters", {})),
        )
