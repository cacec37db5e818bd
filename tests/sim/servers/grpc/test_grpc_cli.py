"""``mm-bot venue serve --protocol grpc``: the process prints its address, serves the stub, and on
SIGTERM exits 0 having written the state file; an exposed bind needs TLS and a token; bad flags exit 2
with one line naming the flag. TLS itself is served with a real certificate."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from mm_bot.cli import main
from sim.servers.grpc import FAULTS, GatewayOptions, GrpcAccount, GrpcGateway
from sim.servers.grpc.proto import venue_pb2 as pb
from tests.sim.servers.grpc.helpers import PRICE, Client

TOKEN = "cli-token-0123456789"


async def test_serve_prints_its_address_serves_and_writes_state_on_sigterm(tmp_path: Path) -> None:
    """The one stdout line names the address; an order rests there; SIGTERM ends it with exit 0 and a
    state file that lists the order and not the token."""
    state = tmp_path / "state.json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mm_bot.cli", "venue", "serve", "--protocol", "grpc", "--port", "0",
        "--token", TOKEN, "--seed", "3", "--faults", "stream_gap=0", "--state-json", str(state),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    try:
        async with asyncio.timeout(20):
            line = (await proc.stdout.readline()).decode()
        assert line.startswith("mm-bot venue: grpc listening on 127.0.0.1:"), line
        target = line.split()[-1]
        async with grpc.aio.insecure_channel(target) as channel:
            client = Client(channel, TOKEN)
            assert (await client.ping(deadline_s=5)).heartbeat_interval_ms == 500
            reply = await client.place("cli-1", pb.BUY, price_ticks=PRICE - 100_000)
            assert reply.status == pb.PlaceReply.ACCEPTED
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
    assert TOKEN not in text
    saved = json.loads(text)
    assert saved["address"] == target and saved["symbols"] == ["BTC/USDT"]
    account = saved["accounts"]["main"]
    assert [o["client_order_id"] for o in account["open_orders"]] == ["cli-1"]
    assert account["open_orders"][0]["price"] == "59000.00" and account["open_orders"][0]["qty"] == "0.00100"
    assert account["balances"]["USDT"]["free"] != "100000"
    assert account["starting_balances"]["USDT"] == "100000"
    assert saved["faults_injected"] == dict.fromkeys(FAULTS, 0)


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--host", "0.0.0.0"], "--host"),
        (["--host", "0.0.0.0", "--token", TOKEN], "--host"),
        (["--faults", "http_429=0.1"], "--faults"),
        (["--faults", "unavailable=2"], "--faults"),
        (["--token", "two words"], "--token"),
        (["--tls-cert", "/etc/hostname"], "--tls-key"),
        (["--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"], "--tls-cert"),
        (["--tls-cert", "/etc/hostname", "--tls-key", "/etc/hostname"], "not a PEM file"),
        (["--api-key", "k"], "--api-key"),
        (["--balances", "BTC=lots"], "--balances"),
        (["--port", "70000"], "--port"),
        (["--state-json", "/nonexistent-dir/state.json"], "--state-json"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(
    flags: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each bad value is refused before anything listens: exit 2, one line naming the flag."""
    assert main(["venue", "serve", "--protocol", "grpc", *flags]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and named in err and "Traceback" not in err


def test_an_exposed_bind_with_tls_still_needs_a_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Off loopback, TLS without --token is refused naming --token (the test token is loopback's)."""
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    flags = ["--host", "0.0.0.0", "--tls-cert", str(cert), "--tls-key", str(key)]
    assert main(["venue", "serve", "--protocol", "grpc", *flags]) == 2
    assert "--token" in capsys.readouterr().err


def test_the_real_entry_point_refuses_a_non_loopback_bind_without_tls() -> None:
    """Through the interpreter: exit 2, a message, no traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "mm_bot.cli", "venue", "serve", "--protocol", "grpc", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "--tls-cert" in proc.stderr and "loopback" in proc.stderr


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (PEM files)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


async def test_tls_serves_a_client_that_trusts_the_certificate(certificate: tuple[Path, Path]) -> None:
    """With a certificate and key the gateway speaks TLS: a client trusting the certificate calls it,
    a plaintext client cannot."""
    cert, key = certificate
    accounts = (GrpcAccount("main", TOKEN),)
    options = GatewayOptions(accounts=accounts, markets={"BTC/USDT": None}, tls_cert=cert, tls_key=key)
    async with GrpcGateway(options) as gw:
        credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        async with grpc.aio.secure_channel(gw.target, credentials) as channel:
            assert (await Client(channel, TOKEN).ping()).session_id == gw.session_id
        async with grpc.aio.insecure_channel(gw.target) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await Client(channel, TOKEN).ping(deadline_s=1)
            assert caught.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
