"""Paper trading on a real venue's market data (``paper.market_data: exchange``), offline: the Binance
emulator plays the real exchange, read through the unmodified ccxt client without keys. The bot
quotes on the venue's book, its orders fill in the simulator against the mirrored book, and not one
order reaches the venue."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from mm_bot.app import RunOptions, run_app
from mm_bot.config import load_config
from sim.servers.binance import Emulator, EmulatorOptions

ROOT = Path(__file__).resolve().parents[2]


async def test_paper_on_exchange_data_quotes_the_venues_book_and_sends_it_nothing(tmp_path: Path) -> None:
    async with Emulator(EmulatorOptions(seed=4)) as emu:
        cfg = load_config(
            ROOT / "config.yaml",
            environ={
                "MM_BOT__paper__market_data": "exchange",
                "MM_BOT__live__endpoint": emu.base_url,
                "MM_BOT__live__sandbox": "false",
                "MM_BOT__journal__paper_path": str(tmp_path / "paper.sqlite"),
                "MM_BOT__markets__0__lockouts__after_fill_ms": "100",
            },
        )
        result = await run_app(
            cfg, RunOptions("paper", duration_s=8.0, metrics_port=0), registry=CollectorRegistry()
        )
        venue_mid = emu.exchange("BTC/USDT").mid()
        taken = emu.state()["accounts"]["main"]["orders"]
    assert result.exit_code == 0
    m = result.summary["markets"]["BTC/USDT"]
    assert m["quotes_sent"] > 0 and m["fills"] > 0 and m["open_orders_at_exit"] == 0
    assert taken == []  # paper: nothing was sent to the venue
    assert (
        venue_mid is not None and abs(m["mid"] - venue_mid) / venue_mid < 2e-3
    )  # its book, not a synthetic one
    assert m["book_updates"] > 10
