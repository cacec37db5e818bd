"""What the sweep tests share: a copy of the first recorded spot file (loading it writes its parse
cache beside it, never in tests/data), the default config, and the sweep's argument parser."""

from __future__ import annotations

import argparse
import csv
import shutil
from pathlib import Path

import pytest

from mm_bot.sweep_cli import add_sweep_parser

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data" / "binance-btcusdt-2024-08-08" / "spot_btcusdt_20240808.gz"
CONFIG = ROOT / "config.yaml"


@pytest.fixture(scope="session")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("sweep-data") / DATA.name
    shutil.copy(DATA, target)
    return target


def sweep_args(*argv: str) -> argparse.Namespace:
    """``mm-bot sweep ARGV`` parsed as ``mm_bot.cli.main`` parses it (give ``--config``)."""
    parser = argparse.ArgumentParser()
    add_sweep_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["sweep", *argv])


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))
