"""Dependencies point inward: the pure core imports no IO, clock or metrics code, and sim never
imports mm_bot. Checked on the source, following imports between our own modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "asyncio",
    "time",
    "socket",
    "selectors",
    "ssl",
    "http",
    "urllib",
    "aiohttp",
    "ccxt",
    "grpc",
    "prometheus_client",
    "structlog",
    "logging",
    "threading",
    "subprocess",
    "sqlite3",
    "uvloop",
    "rich",
    "pydantic",
    "yaml",
}
PURE_GLOBS = [
    "mm_bot/strategy/*.py",
    "mm_bot/engine/*.py",  # the whole engine is sans-IO: the runner lives in mm_bot/live/
    "mm_bot/model.py",
    "mm_bot/venues/sim_translate.py",
    "sim/book.py",
    "sim/exchange.py",
    "sim/accounts.py",
    "sim/admission.py",
    "sim/flow.py",
    "sim/price.py",
    "sim/events.py",
    "sim/mirror.py",
    "sim/replay/*.py",  # the replay venue
    "sim/servers/faults.py",  # the emulators' fault plans
    "sim/servers/grpc/faults.py",
    "sim/servers/grpc/core.py",  # the gRPC venue's gateway core, and what it uses
    "mm_bot/backtest/driver.py",  # the backtest's virtual-time loop
    "mm_bot/backtest/recorder.py",
    "mm_bot/backtest/trace.py",
    "mm_bot/sweep/grid.py",  # a sweep's points
]


def module_path(name: str) -> Path | None:
    rel = Path(*name.split("."))
    for candidate in (ROOT / rel.with_suffix(".py"), ROOT / rel / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def closure(path: Path) -> dict[str, Path]:
    """Every top-level package imported by ``path`` or by our own modules it imports, with where."""
    seen: dict[str, Path] = {}
    stack, visited = [path], set()
    while stack:
        current = stack.pop()
        if current in visited:
            continue
        visited.add(current)
        for name in imports_of(current):
            top = name.split(".")[0]
            if top in ("mm_bot", "sim"):
                own = module_path(name)
                if own is not None:
                    stack.append(own)
            seen.setdefault(top, current)
    return seen


PURE_FILES = sorted({p for pattern in PURE_GLOBS for p in ROOT.glob(pattern)})


@pytest.mark.parametrize("path", PURE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_module_imports_no_io(path: Path) -> None:
    """A pure module (and what it imports of ours) never imports IO, clocks, metrics or config parsing."""
    bad = {top: str(where.relative_to(ROOT)) for top, where in closure(path).items() if top in FORBIDDEN}
    assert not bad, f"{path.relative_to(ROOT)} reaches forbidden imports: {bad}"


def test_core_files_exist() -> None:
    """The list above is not vacuous: the book, the exchange and every part of the core are checked."""
    names = {str(p.relative_to(ROOT)) for p in PURE_FILES}
    assert {"sim/book.py", "sim/exchange.py", "mm_bot/engine/market.py", "mm_bot/engine/reconcile.py"} <= (
        names
    )


@pytest.mark.parametrize("path", sorted(ROOT.glob("sim/**/*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_sim_never_imports_mm_bot(path: Path) -> None:
    """The simulator stands alone: nothing under sim/ imports mm_bot."""
    assert not any(name.split(".")[0] == "mm_bot" for name in imports_of(path))
