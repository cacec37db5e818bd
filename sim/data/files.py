"""Reading a recorded file's lines: gzip (by its magic bytes) or plain text.

Damage in a gzip file (truncated, a bad CRC, garbage in the deflate stream) ends the file where it
is found; the lines before it are used and the damage is recorded in the file's report with the
line number it was met at. A line longer than ``MAX_LINE_BYTES`` is skipped and reported without
ever being held whole (one 1 GB line took 2.2 GB of memory).
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from sim.data.report import FileReport

__all__ = ["GZIP_MAGIC", "read_lines"]

GZIP_MAGIC: Final = b"\x1f\x8b"
MAX_LINE_BYTES: Final = 16 << 20  # a Binance snapshot of 5,000 levels a side is about 300 KB


def read_lines(path: Path, report: FileReport) -> Iterator[bytes]:
    """The file's lines, newline included. Raises ``OSError`` if the file cannot be opened."""
    with path.open("rb") as raw:
        compressed = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        count = 0
        try:
            if compressed:
                with gzip.GzipFile(fileobj=raw) as unzipped:
                    for line in _bounded(unzipped, report, count):
                        count += 1
                        yield line
            else:
                for line in _bounded(raw, report, count):
                    count += 1
                    yield line
        except (EOFError, OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
            report.truncated = True
            report.problem(count + 1, f"damaged gzip data, the rest of the file is unread ({exc})")
        report.lines = count


def _bounded(stream: io.BufferedIOBase, report: FileReport, before: int) -> Iterator[bytes]:
    """``stream``'s lines; one longer than ``MAX_LINE_BYTES`` is read past in pieces, reported, and
    yielded as an empty line (so the line numbers after it stay right)."""
    number = before
    while line := stream.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while (rest := stream.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass
            report.problem(number, f"line longer than {MAX_LINE_BYTES} bytes, skipped")
            line = b"\n"
        yield line
