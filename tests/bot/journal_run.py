"""What the journal command tests share: a config with a busier synthetic market and its journals in
a directory of the test's, a journal written through Journal's own API, and the CLI run as a
subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import yaml

from mm_bot.engine.order_states import OrderState
from mm_bot.journal import Journal
from mm_bot.model import Instrument, Liquidity, OrderRequest, OwnFill, Side

ROOT = Path(__file__).resolve().parents[2]
SYMBOL = "BTC/USDT"
LOT = 0.00001

BTC = Instrument(SYMBOL, "BTC", "USDT", Decimal("0.01"), Decimal("0.00001"))
NOW = 1_723_161_480_000_000_000  # 2024-08-08T23:58:00Z


def write_journal(path: Path, fills: int = 3, open_orders: int = 0) -> str:
    """A journal written through Journal's own API: ``fills`` filled buys of 100 lots and
    ``open_orders`` orders it never saw end; returns its order tag."""
    with Journal.open(path) as journal:
        session = journal.start_session("paper", "test", NOW)
        journal.set_starting_balances(f"paper/{SYMBOL}", {"BTC": 1.0, "USDT": 100_000.0}, NOW)
        tag = journal.order_tag
        for n in range(fills + open_orders):
            cid = f"{tag}test{n:04d}"
            journal.record_order_intent(OrderRequest(cid, Side.BUY, 6_000_000 + n, 100), SYMBOL, NOW + n)
            if n < fills:
                fill = OwnFill(NOW + n, cid, Side.BUY, 6_000_000 + n, 100, Liquidity.MAKER, -0.003, f"t{n}")
                journal.record_fill(fill, BTC)
                journal.update_order_state(cid, OrderState.FILLED, NOW + n)
        journal.end_session(session, NOW + 10)
    return tag


def write_config(where: Path) -> Path:
    """The repository's config with a busier synthetic market (a few seconds see fills) and both
    journals under ``where/var``."""
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    market = raw["markets"][0]
    market.setdefault("intensity", {})["a_per_s"] = 2.0  # the strategy's prior: not the busier flow's
    market.setdefault("lockouts", {})["after_fill_ms"] = 100
    synthetic = raw.setdefault("paper", {}).setdefault("synthetic", {})
    synthetic["seed"] = 7
    synthetic.setdefault("markets", {}).setdefault(SYMBOL, {}).setdefault("as_flow", {})["a_per_s"] = 15.0
    raw["journal"] = {
        **(raw.get("journal") or {}),
        "paper_path": str(where / "var" / "journal-paper.sqlite"),
        "live_path": str(where / "var" / "journal-live.sqlite"),
    }
    path = where / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def mm_bot(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "mm_bot.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        check=False,
    )
