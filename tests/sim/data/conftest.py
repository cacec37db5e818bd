"""The recorded Binance captures, copied once per session to a temporary directory (the loader
writes its parse cache beside its input, and nothing may be written into the repository), and
each file set loaded once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sim.data import Recording, load

DATA = Path(__file__).resolve().parents[2] / "data" / "binance-btcusdt-2024-08-08"
SPOT = ("spot_btcusdt_20240808.gz", "spot_btcusdt_20240809.gz")
USDM = ("usdm_btcusdt_20240808.gz",)


@pytest.fixture(scope="session")
def recorded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("recorded")
    for name in (*SPOT, *USDM):
        shutil.copy(DATA / name, target / name)
    return target


@pytest.fixture(scope="session")
def spot(recorded_dir: Path) -> Recording:
    return load([recorded_dir / name for name in SPOT])


@pytest.fixture(scope="session")
def usdm(recorded_dir: Path) -> Recording:
    return load([recorded_dir / name for name in USDM])
