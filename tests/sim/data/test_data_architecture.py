"""``sim/data`` keeps the simulator's import rules: the parsing, syncing, book and conversion
modules are pure (no IO, clock or network modules, and nothing of ``mm_bot``); file access lives in
``files.py``, ``cache.py``, ``store.py`` and ``load.py`` only."""

from __future__ import annotations

import pytest

from tests.test_architecture import FORBIDDEN, ROOT, closure

PURE = ["binance", "sync", "events", "meta", "report", "book", "hftbacktest", "info", "mmbot_capture"]
IO_MODULES = {"os", "io", "gzip", "zipfile", "shutil", "tempfile", "pathlib", "mm_bot"}


@pytest.mark.parametrize("name", PURE)
def test_pure_data_modules_import_no_io(name: str) -> None:
    """The sans-IO parts import none of the forbidden modules nor any file-system module."""
    path = ROOT / "sim" / "data" / f"{name}.py"
    reached = closure(path)
    bad = {
        top: str(where.relative_to(ROOT)) for top, where in reached.items() if top in FORBIDDEN | IO_MODULES
    }
    assert not bad, f"sim/data/{name}.py reaches {bad}"


def test_every_data_module_is_classified() -> None:
    """A new module under sim/data must be listed as pure or as one of the IO modules above."""
    names = {p.stem for p in (ROOT / "sim" / "data").glob("*.py")} - {"__init__"}
    assert names == set(PURE) | {"files", "cache", "store", "load"}


def test_shipped_code_does_not_reference_the_shared_folder() -> None:
    """The recorded data ships in tests/data; nothing refers to the workspace's shared folder."""
    needles = ("../" + "shared", "/shared/" + "data")
    shipped = [*(ROOT / "sim" / "data").glob("*.py"), ROOT / "mm_bot" / "data_cli.py"]
    for path in [
        *shipped,
        *(ROOT / "tests" / "sim" / "data").glob("*.py"),
        *(ROOT / "tests" / "data").rglob("*.md"),
    ]:
        text = path.read_text()
        assert not any(needle in text for needle in needles), path
