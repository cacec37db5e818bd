"""The parse cache: one file's parsed rows and messages, kept beside it as ``<file>.mmbot.npz``.

What is cached is the per-file parse (``sim/data/binance.py``), not the synced set: the sync rules
run over the joined files of a set, are cheap, and so stay correct whichever files are joined.

A cache entry is valid only for the same source size, modification time (ns) and
``FORMAT_VERSION``; anything else (another version, a changed file, an unreadable or foreign
``.npz``) is a miss and the file is parsed again. Entries are written atomically (a temporary file,
then a rename). If the source's directory is not writable, the entry goes to the user cache
directory (``$XDG_CACHE_HOME/mm-bot``, else ``~/.cache/mm-bot``) under a name made from the source's
absolute path; if neither can be written the data is used uncached.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import Any, Final

import numpy as np

from sim.data.binance import ParsedFile, fill_rows
from sim.data.events import EVENT_DTYPE, MESSAGE_DTYPE
from sim.data.meta import FORMAT_VERSION
from sim.data.report import FileReport

__all__ = [
    "CACHE_SUFFIX",
    "cache_candidates",
    "read_cache",
    "source_key",
    "user_cache_dir",
    "write_cache",
]

CACHE_SUFFIX: Final = ".mmbot.npz"


def user_cache_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "mm-bot"


def cache_candidates(source: Path, user_dir: Path | None = None) -> list[Path]:
    """Where a cache entry for ``source`` may be: beside it first, then in the user cache dir."""
    digest = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:16]
    fallback = (user_dir or user_cache_dir()) / f"{digest}-{source.name}{CACHE_SUFFIX}"
    return [source.with_name(source.name + CACHE_SUFFIX), fallback]


def source_key(source: Path) -> dict[str, Any]:
    """What a cache entry must match: size, modification time and format version."""
    stat = source.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "version": FORMAT_VERSION}


_ROW_COLUMNS: Final = {"ev": np.uint32, "px": np.float64, "qty": np.float64, "order_id": np.uint64}
"""What is stored per row; times and ``ival`` are per message and rebuilt from the message table
(``ev`` fits 32 bits: the highest flag is 1 << 31)."""


def read_cache(source: Path, candidates: list[Path]) -> ParsedFile | None:
    key = source_key(source)
    for path in candidates:
        try:
            # np.load leaves a file it opened itself open when it is not a zip; ours is closed.
            with path.open("rb") as raw, np.load(raw, allow_pickle=False) as archive:
                header = json.loads(archive["header"].tobytes())
                if not isinstance(header, dict) or header.get("key") != key:
                    continue
                columns = {name: archive[name] for name in _ROW_COLUMNS}
                messages = archive["messages"]
                report = FileReport.from_json(header["report"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError, zipfile.BadZipFile):
            continue  # absent, unreadable or not ours: a miss
        sizes = {len(column) for column in columns.values()}
        if messages.dtype != MESSAGE_DTYPE or len(sizes) != 1:
            continue
        if not (np.isfinite(columns["px"]).all() and np.isfinite(columns["qty"]).all()):
            continue  # the parser keeps only finite numbers: not an entry it wrote
        events = np.zeros(sizes.pop(), EVENT_DTYPE)
        for name, column in columns.items():
            events[name] = column
        nrows = messages["stop"] - messages["start"]
        if np.any(nrows < 0) or int(nrows.sum()) != len(events):
            continue
        report.cache, report.cache_path = "hit", str(path)
        return ParsedFile(fill_rows(events, messages, nrows), messages, report)
    return None


def write_cache(source: Path, parsed: ParsedFile, candidates: list[Path], key_before: dict[str, Any]) -> None:
    """Store ``parsed`` at the first writable candidate; ``key_before`` is ``source``'s key taken
    before it was read, so a file that changed while it was parsed is never cached as current."""
    report = parsed.report
    header = {"key": key_before, "report": {**report.to_json(), "cache": "off", "cache_path": None}}
    arrays = {
        "header": np.frombuffer(json.dumps(header).encode(), np.uint8),
        "messages": parsed.messages,
        **{name: parsed.events[name].astype(dtype) for name, dtype in _ROW_COLUMNS.items()},
    }
    for path in candidates:
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_npz(tmp, arrays)
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            continue
        report.cache, report.cache_path = "written", str(path)
        return
    report.cache = "unwritable"


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An ``.npz`` (what ``np.load`` reads) at deflate level 1: several times faster to write than
    ``np.savez_compressed``'s default level, and barely larger for these columns."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as out:
                np.lib.format.write_array(out, np.ascontiguousarray(array), allow_pickle=False)
