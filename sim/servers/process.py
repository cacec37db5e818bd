"""What every emulator process needs besides its protocol: a wall clock that never goes back, and its
state file written whole or not at all."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["wall_clock", "write_json"]


def wall_clock() -> Callable[[], int]:
    """Wall-clock nanoseconds that never go back (the wall clock at start, then monotonic)."""
    wall0, mono0 = time.time_ns(), time.monotonic_ns()

    def now_ns() -> int:
        return wall0 + time.monotonic_ns() - mono0

    return now_ns


def write_json(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` whole or not at all (a temporary file renamed over it)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    os.replace(tmp, path)
