"""``mm-bot sweep --address``: a Ray head started with ``ray start --head`` on 127.0.0.1 (one CPU,
its own token) is joined by the sweep, runs every task, and is left running; the rows are those the
same backtests give in this process. The head is then stopped by its process id."""

from __future__ import annotations

import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mm_bot.config import load_config
from mm_bot.sweep.store import metric_cells
from mm_bot.sweep.task import RunOptions, run_task
from sim.data import load
from tests.bot.sweep.conftest import CONFIG, read_rows

pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[sweep]'")

RAY = Path(sys.executable).with_name("ray")
START_TIMEOUT_S = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def head(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], subprocess.Popen[str]]]:
    """A one-CPU head on 127.0.0.1 (``ray start --head --block``, its own session), with token
    authentication on a token of its own; yields its address, the environment to join it, its process."""
    if not RAY.exists():
        pytest.skip(f"no ray command beside {sys.executable}")
    token = tmp_path / "ray-token"
    token.write_text(secrets.token_hex(16))
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token),
           "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0"}  # fmt: skip
    port = free_port()
    # Its own temp dir (short: Unix socket paths live there), so neither its logs nor the address
    # file that `ray start` writes (which a plain `ray.init()` would then try to join) land in /tmp/ray.
    temp_dir = tempfile.mkdtemp(prefix="mm-ray-")
    flags = {"--node-ip-address": "127.0.0.1", "--port": str(port), "--num-cpus": "1", "--temp-dir": temp_dir,
             "--include-dashboard": "false", "--ray-client-server-port": str(free_port())}  # fmt: skip
    argv = [
        str(RAY),
        "start",
        "--head",
        *(x for kv in flags.items() for x in kv),
        "--disable-usage-stats",
        "--block",
    ]
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout or ()], daemon=True)
    reader.start()
    try:
        _wait_started(proc, lines)
        yield f"127.0.0.1:{port}", env, proc
    finally:
        proc.send_signal(signal.SIGTERM)  # `ray start --block` stops what it started, then exits
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        reader.join(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
        shutil.rmtree(temp_dir, ignore_errors=True)


def _wait_started(proc: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    seen: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        seen.append(line)
        if "Ray runtime started" in line:
            return
    pytest.fail("ray start --head did not start:\n" + "".join(seen[-30:]))


def test_a_sweep_joins_a_cluster_by_address(
    head: tuple[str, dict[str, str], subprocess.Popen[str]], data: Path, tmp_path: Path
) -> None:
    address, env, proc = head
    mine = tmp_path / data.name  # its own copy: the summary names the data file
    shutil.copy(data, mine)
    out = tmp_path / "out"
    grid = "markets.0.strategy.gamma=0.0005,0.002"
    argv = [
        sys.executable,
        "-m",
        "mm_bot.cli",
        "sweep",
        "--config",
        str(CONFIG),
        "--data",
        str(mine),
        "--grid",
        grid,
        "--address",
        address,
        "--out",
        str(out),
        "--no-progress",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=180, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"running 2 task(s) on Ray cluster {address}, 1 CPU(s)" in done.stderr
    assert proc.poll() is None  # the sweep left the cluster running
    rows = read_rows(out / "results.csv")
    recording = load([mine])
    for row, gamma in zip(rows, ("0.0005", "0.002"), strict=True):
        cfg = load_config(CONFIG, {}, sets=[("markets.0.strategy.gamma", gamma)])
        alone = run_task(recording, cfg, RunOptions())
        assert alone.summary is not None
        assert {k: row[k] for k in metric_cells(alone.summary)} == metric_cells(alone.summary)
