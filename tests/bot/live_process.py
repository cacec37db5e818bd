"""The live bot and the Binance emulator as real processes on a loopback port: ``mm-bot venue serve``
and ``mm-bot run --live`` through the unmodified ccxt client, and a ccxt client of the test's own to
read the venue's side (open orders, trades, balances) independently of the bot."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ccxt.pro as ccxtpro

from mm_bot.venues.ccxt_client import make_exchange
from sim.servers.binance import DEFAULT_API_KEY, DEFAULT_API_SECRET

ROOT = Path(__file__).resolve().parents[2]
SYMBOL = "BTC/USDT"
LOT = 0.00001


@contextmanager
def emulator(tmp: Path, *flags: str) -> Iterator[tuple[str, Path]]:
    """``mm-bot venue serve --protocol binance`` on a free port: (base URL, state JSON path). Stopped
    with SIGTERM at the end (it then writes the state JSON)."""
    state = tmp / "venue-state.json"
    cmd = [sys.executable, "-m", "mm_bot.cli", "venue", "serve", "--protocol", "binance", "--port", "0",
           "--state-json", str(state), *flags]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "http://" in line, (
            f"the emulator did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}"
        )
        yield line.strip().split()[-1], state
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def bot_env(url: str, journal: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "MM_API_KEY": DEFAULT_API_KEY,
        "MM_API_SECRET": DEFAULT_API_SECRET,
        "MM_BOT__markets__0__venue": "ccxt",
        "MM_BOT__live__endpoint": url,
        "MM_BOT__live__sandbox": "false",
        "MM_BOT__journal__live_path": str(journal),
        "MM_BOT__metrics__port": "0",
        **extra,
    }


def bot_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "mm_bot.cli", "run", "--live", "--no-tui", "--config",
            str(ROOT / "config.yaml"), *args]  # fmt: skip


def start_bot(url: str, journal: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        bot_command(*args), env=bot_env(url, journal, **env), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def run_bot(
    url: str, journal: Path, *args: str, timeout_s: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        bot_command(*args), env=bot_env(url, journal, **env), capture_output=True, text=True,
        timeout=timeout_s, check=False,
    )  # fmt: skip


def venue_view(url: str) -> dict[str, Any]:
    """What the venue says, through ccxt: our open orders, our trades and the balances."""

    async def read() -> dict[str, Any]:
        ex = make_exchange("binance", api_key=DEFAULT_API_KEY, api_secret=DEFAULT_API_SECRET, endpoint=url)
        try:
            for attempt in range(50):  # the venue may be injecting faults into our reads too
                try:
                    await ex.load_markets()
                    return {
                        "open_orders": await ex.fetch_open_orders(SYMBOL),
                        "trades": await ex.fetch_my_trades(SYMBOL, None, 1000),  # the latest: all of a run
                        "balance": await ex.fetch_balance(),
                    }
                except (ccxtpro.NetworkError, ccxtpro.OperationFailed, ccxtpro.InvalidNonce) as exc:
                    if attempt == 49:
                        raise
                    wait_s = 0.3
                    if isinstance(exc, ccxtpro.DDoSProtection):  # a ban or rate limit: waited out, as
                        # the bot does, so the venue's count of requests inside a ban is the bot's
                        headers = ex.last_response_headers or {}
                        wait_s = float(headers.get("Retry-After") or headers.get("retry-after") or 1) + 0.1
                    await asyncio.sleep(wait_s)
            raise AssertionError("unreachable")
        finally:
            await ex.close()

    return asyncio.run(read())


def wait_until(check: Any, timeout_s: float = 60.0, every_s: float = 0.1) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every_s)
    raise AssertionError(f"not within {timeout_s} s: {check.__doc__ or check}")
