"""``mm-bot venue serve --protocol binance``: the process prints its URL, serves ccxt, and on SIGTERM
exits 0 having written the state file; bad flags exit 2 with one line naming the flag."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mm_bot.cli import main
from tests.sim.servers.helpers import ccxt_client

SYMBOL = "BTC/USDT"
SECRET = "cli-secret-0123456789"


class _Served:
    """The emulator in the subprocess, as ``ccxt_client`` needs it: URLs and the key pair."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.ws_url = base_url.replace("http://", "ws://")
        self.api_key, self.api_secret = "cli-key", SECRET


async def test_serve_prints_its_url_serves_ccxt_and_writes_state_on_sigterm(tmp_path: Path) -> None:
    """The one stdout line names the URL; a ccxt order rests there; SIGTERM ends it with exit 0 and
    a state file that lists the order and not the secret."""
    state = tmp_path / "state.json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mm_bot.cli", "venue", "serve", "--protocol", "binance", "--port", "0",
        "--api-key", "cli-key", "--api-secret", SECRET, "--seed", "3", "--state-json", str(state),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    try:
        async with asyncio.timeout(20):
            line = (await proc.stdout.readline()).decode()
        assert line.startswith("mm-bot venue: listening on http://127.0.0.1:"), line
        client = ccxt_client(_Served(line.split()[-1]))
        try:
            await client.load_markets()
            order = await client.create_order(
                SYMBOL, "limit", "buy", 0.001, 50_000, {"clientOrderId": "cli-1"}
            )
            assert order["status"] == "open"
        finally:
            await client.close()
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            rest_out, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    assert rest_out == b""
    text = state.read_text()
    assert SECRET not in text
    saved = json.loads(text)
    assert saved["base_url"] == line.split()[-1]
    assert [o["clientOrderId"] for o in saved["accounts"]["main"]["open_orders"]] == ["cli-1"]
    assert saved["faults_injected"]["http_429"] == 0


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--faults", "bogus=1"], "--faults"),
        (["--faults", "reject=2"], "--faults"),
        (["--balances", "BTC=lots"], "--balances"),
        (["--balances", "BTC=-1"], "--balances"),
        (["--symbols", "BTCUSDT"], "--symbols"),
        (["--port", "70000"], "--port"),
        (["--seed", "-1"], "--seed"),
        (["--api-key", "k"], "--api-secret"),
        (["--state-json", "/nonexistent-dir/state.json"], "--state-json"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(
    flags: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each bad value is refused before anything listens: exit 2, one line naming the flag."""
    assert main(["venue", "serve", "--protocol", "binance", *flags]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and named in err and "Traceback" not in err


def test_grpc_flags_are_refused_for_binance(capsys: pytest.CaptureFixture[str]) -> None:
    """--token (a gRPC flag) with --protocol binance exits 2 naming it."""
    assert main(["venue", "serve", "--protocol", "binance", "--token", "t"]) == 2
    assert "--token: only for --protocol grpc" in capsys.readouterr().err


def test_the_real_entry_point_exits_2_without_a_traceback() -> None:
    """Through the interpreter: an unknown fault and an unknown protocol both exit 2, no traceback."""
    for flags in (["--protocol", "binance", "--faults", "nope=1"], ["--protocol", "fix"]):
        proc = subprocess.run(
            [sys.executable, "-m", "mm_bot.cli", "venue", "serve", *flags],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert ("--faults" if "nope=1" in flags else "--protocol") in proc.stderr
