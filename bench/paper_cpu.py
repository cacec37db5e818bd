"""CPU share of a paper run once it is trading: what one quiet market costs the machine.

Starts ``mm-bot run --paper --no-tui`` as a child process on the given config, waits until it has
logged ``run_started`` (the Z3 proofs and start-up are not counted), then reads the child's CPU time
(user + system, from ``os.times`` of the child via /proc) over ``--seconds`` of wall time. It also
reads the run summary's decision latency.

Usage: ``python bench/paper_cpu.py [--json] [--seconds S] [--config PATH]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _cpu_s(pid: int) -> float:
    """utime + stime of ``pid`` in seconds (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def run(config: str, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        summary = Path(tmp) / "summary.json"
        env = dict(os.environ)
        env["MM_BOT__journal__paper_path"] = str(Path(tmp) / "journal.sqlite")
        env["MM_BOT__metrics__port"] = "0"
        cmd = [
            sys.executable, "-m", "mm_bot.cli", "run", "--paper", "--no-tui", "--config", config,
            "--duration", str(seconds + 30.0), "--summary-json", str(summary),
        ]  # fmt: skip
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        for line in proc.stderr:
            if "run_started" in line:
                break
        else:
            raise SystemExit(f"the run ended before it started trading (exit {proc.wait()})")
        cpu0, t0 = _cpu_s(proc.pid), time.monotonic()
        time.sleep(seconds)
        cpu1, t1 = _cpu_s(proc.pid), time.monotonic()
        proc.send_signal(2)  # SIGINT: a clean stop writes the summary
        proc.stderr.read()
        proc.wait(timeout=60)
        out: dict[str, Any] = {
            "seconds": round(t1 - t0, 2),
            "cpu_s": round(cpu1 - cpu0, 3),
            "cpu_share_of_a_core": round((cpu1 - cpu0) / (t1 - t0), 4),
        }
        if summary.exists():
            markets = json.loads(summary.read_text())["markets"]
            out["decision_latency_us"] = {sym: m["decision_latency_us"] for sym, m in markets.items()}
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured wall time (default 60)")
    parser.add_argument("--config", default="config.yaml")
    args = parser.parse_args()
    result = run(args.config, args.seconds)
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
