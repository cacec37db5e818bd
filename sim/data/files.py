"""Reading a recorded file's lines: gzip (by its magic bytes) or plain text.

Damage in a gzip file (truncated, a bad CRC, garbage in the deflate stream) ends the file where it
is found; the lines before it are used and the damage is recorded in the file's report with the
line number it was met at.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from sim.data.report import FileReport

__all__ = ["GZIP_MAGIC", "read_lines"]

GZIP_MAGIC: Final = b"\x1f\x8b"


def read_lines(path: Path, report: FileReport) -> Iterator[bytes]:
    """The file's lines, newline included. Raises ``OSError`` if the file cannot be opened."""
    with path.open("rb") as raw:
        compressed = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        count = 0
        try:
            if compressed:
                with gzip.GzipFile(fileobj=raw) as unzipped:
                    for line in unzipped:
                        count += 1
                        yield line
            else:
                for line in raw:
                    count += 1
                    yield line
        except (EOFError, OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
            report.truncated = True
            report.problem(count + 1, f"damaged gzip data, the rest of the file is unread ({exc})")
        report.lines = count
