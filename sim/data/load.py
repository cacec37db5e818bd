"""``load``: recorded files in, a synced ``Recording`` out, through the parse cache.

Raw files of one set (one symbol, one market) are parsed one by one (or read from their cache,
``sim/data/cache.py``), joined in the time order of their first messages (so the order they are named
in does not matter) and synced by Binance's rules (``sim/data/sync.py``). A single ``.npz`` (told by
its content, not its name) is read as our normalized format or as an hftbacktest feed file
(``sim/data/store.py``). Captures of ``mm-bot record`` (told by their first lines) are parsed by
``sim/data/mmbot_capture.py``, which needs no sync, and are not cached.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from itertools import islice, pairwise
from pathlib import Path

from sim.data.binance import ParsedFile, parse_lines
from sim.data.cache import cache_candidates, read_cache, source_key, write_cache
from sim.data.files import read_lines
from sim.data.meta import Meta, Recording
from sim.data.mmbot_capture import capture_start, parse_captures
from sim.data.report import DataError, FileReport, ImportReport
from sim.data.store import load_npz, resolve_steps
from sim.data.sync import synchronize

__all__ = ["MARKETS", "load", "parse_file"]

MARKETS = ("spot", "usdm")
_ZIP_MAGIC = b"PK\x03\x04"


def load(
    paths: Sequence[str | Path],
    *,
    market: str | None = None,
    tick_size: str | None = None,
    lot_size: str | None = None,
    cache: bool = True,
    user_cache_dir: Path | None = None,
    strict: bool = False,
) -> Recording:
    """Load one set of recorded files. ``market`` (``spot``/``usdm``), ``tick_size`` and ``lot_size``
    are inferred when not given; ``strict`` turns any skipped line into a ``DataError``.

    Raises ``DataError`` (naming the file, and the line where there is one) for a file that cannot
    be read, holds no usable message, or contradicts the other files or the arguments.
    """
    files = [Path(p) for p in paths]
    if not files:
        raise DataError("no input files")
    if market is not None and market not in MARKETS:
        raise DataError(f"unknown market {market!r} (known: {', '.join(MARKETS)})")
    if any(_is_npz(f) for f in files):
        if len(files) != 1:
            raise DataError("give one .npz file, or the raw files of one recording")
        return load_npz(files[0], tick_size=tick_size, lot_size=lot_size)
    starts = [_capture_start(f) for f in files]
    if any(start is not None for start in starts):
        return _load_captures(files, starts, market, tick_size, lot_size, strict)
    parsed = [parse_file(f, cache=cache, user_cache_dir=user_cache_dir, strict=strict) for f in files]
    parsed.sort(key=lambda p: int(p.messages["local_ts"][0]))
    market = _market(parsed, market)
    symbol = _symbol(parsed)
    _check_no_overlap(parsed)
    synced = synchronize(parsed, market)
    steps = resolve_steps(synced.events, tick_size, lot_size, files[0].name)
    tick, lot, tick_inferred, lot_inferred, off_lot = steps
    names = tuple(p.report.name for p in parsed)
    meta = Meta(symbol, market, tick, lot, names, tick_inferred, lot_inferred)
    counters = {**synced.counters, "qty_off_lot_grid": off_lot}
    report = ImportReport([p.report for p in parsed], synced.gaps, synced.snapshots, counters)
    return Recording(synced.events, synced.messages, meta, report)


def _check_no_overlap(parsed: list[ParsedFile]) -> None:
    """The files of one recording follow each other: one that begins before the previous one ends is
    the same file twice, or an overlapping copy, whose trades would be replayed twice."""
    for before, after in pairwise(parsed):
        end, start = int(before.messages["local_ts"].max()), int(after.messages["local_ts"][0])
        if start < end:
            raise DataError(
                f"{after.report.name} begins before {before.report.name} ends "
                f"({(end - start) / 1e9:.3f} s of overlap): give each stretch of a recording once"
            )


def parse_file(
    path: Path, *, cache: bool = True, user_cache_dir: Path | None = None, strict: bool = False
) -> ParsedFile:
    """One raw file, parsed or read from its cache entry."""
    if path.is_dir():
        raise DataError(f"{path}: is a directory")
    try:
        key = source_key(path)
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    candidates = cache_candidates(path, user_cache_dir) if cache else []
    parsed = read_cache(path, candidates) if cache else None
    if parsed is None:
        report = FileReport(path.name)
        try:
            parsed = parse_lines(read_lines(path, report), report)
        except OSError as exc:
            raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
        if cache:
            write_cache(path, parsed, candidates, key)
    report = parsed.report
    if strict and report.examples:
        first = report.examples[0]
        raise DataError(f"{path}:{first.line}: {first.reason}" if first.line else f"{path}: {first.reason}")
    if report.messages == 0:
        detail = (
            f"; first problem: line {report.examples[0].line}: {report.examples[0].reason}"
            if report.examples
            else ""
        )
        raise DataError(f"{path}: no usable Binance message in {report.lines} lines{detail}")
    return parsed


def _capture_start(path: Path) -> int | None:
    """The first receive time of an ``mm-bot record`` capture, by its first lines; None if not one."""
    lines = read_lines(path, FileReport(path.name))
    try:
        return capture_start(islice(lines, 8))
    except OSError:
        return None  # parse_file reports it
    finally:
        if isinstance(lines, Generator):
            lines.close()  # the file, now


def _load_captures(
    files: list[Path],
    starts: list[int | None],
    market: str | None,
    tick_size: str | None,
    lot_size: str | None,
    strict: bool,
) -> Recording:
    """Captures are parsed whole each time: no parse cache (no sync to redo either, one pass)."""
    if None in starts:
        raise DataError("give the files of one recording: some are mm-bot captures, some are not")
    sources = []
    for _, path in sorted(zip(starts, files, strict=True), key=lambda pair: pair[0] or 0):
        report = FileReport(path.name)
        sources.append((report, read_lines(path, report)))
    try:
        parsed = parse_captures(sources, market, strict=strict)
    except OSError as exc:
        raise DataError(f"{exc.filename}: cannot read ({exc.strerror or exc})") from None
    tick = tick_size or (parsed.header.tick if parsed.header else None)
    lot = lot_size or (parsed.header.lot if parsed.header else None)
    return parsed.recording(resolve_steps(parsed.events, tick, lot, files[0].name))


def _is_npz(path: Path) -> bool:
    """A zip archive (what ``.npz`` files are), by its first bytes."""
    try:
        with path.open("rb") as head:
            return head.read(4) == _ZIP_MAGIC
    except OSError:
        return False  # parse_file reports it


def _market(parsed: list[ParsedFile], given: str | None) -> str:
    hints = {p.report.market_hint for p in parsed} - {None}
    if len(hints) > 1:
        raise DataError(
            "the files mix spot and USD-M messages: "
            + ", ".join(f"{p.report.name}={p.report.market_hint}" for p in parsed if p.report.market_hint)
        )
    seen = hints.pop() if hints else None
    if given is not None and seen is not None and given != seen:
        raise DataError(f"--market {given} given, but the messages are {seen}'s")
    return given or seen or "spot"


def _symbol(parsed: list[ParsedFile]) -> str:
    symbols = sorted({p.report.symbol for p in parsed if p.report.symbol is not None})
    if len(symbols) > 1:
        raise DataError("the files are of different symbols: " + ", ".join(symbols))
    for p in parsed:  # a file is one symbol, the first seen: a stray first line must not decide it
        report = p.report
        others = sum(n for why, n in report.ignored.items() if why.startswith("other symbol "))
        if others > report.messages:
            raise DataError(
                f"{report.name}: {others} messages of other symbols against {report.messages} of"
                f" {report.symbol}, the first seen: give one symbol's recording"
            )
    return symbols[0] if symbols else "unknown"
