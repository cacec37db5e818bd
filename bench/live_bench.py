"""Tick-to-order latency on a live venue: from a depth message read off the WebSocket to the order
request (place or cancel) it caused being handed to the HTTP client, through the whole bot (ccxt's
book sync, ``CcxtVenue``, the runner, the core, the journal's intent commit, ccxt's signing).

The venue is ``mm-bot venue serve`` (the Binance emulator, its default synthetic market) in a child
process on 127.0.0.1; the bot runs here on the default config pointed at it. Three instance-level
probes time the path without changing any code: the depth WebSocket's ``receive`` (when each
``depthUpdate`` frame is read, by its last update id ``u``), the core's ``on_event`` (which book's
update led to which client order ids) and the exchange's ``fetch`` (when ccxt hands a signed order
request to aiohttp). A book update that led to several requests counts once, at its first request.

Hummingbot acts on a 1 s tick; a network round trip to a venue is 1-50 ms.

The bot runs as ``mm-bot run --live`` runs it: on uvloop (``--loop asyncio`` for the standard loop),
with the journal opened as the app opens it (``journal.synchronous`` of the config, ``auto`` being
NORMAL; ``--synchronous`` overrides it).

Usage: ``python bench/live_bench.py [--json] [--seconds S] [--synchronous FULL|NORMAL]
[--loop uvloop|asyncio] [--config PATH]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop
from prometheus_client import CollectorRegistry

from mm_bot.app import open_journal
from mm_bot.config import load_config
from mm_bot.engine.core_types import Cancel, Place
from mm_bot.engine.ids import run_prefix
from mm_bot.logging import configure_logging
from mm_bot.markets import live_market
from mm_bot.metrics import Metrics
from mm_bot.model import BookSnapshot
from mm_bot.venues.ccxt import CcxtVenue
from sim.servers.binance import DEFAULT_API_KEY, DEFAULT_API_SECRET

ROOT = Path(__file__).resolve().parents[1]
_U = re.compile(r'"u":(\d+)')
_CID = re.compile(r"(?:newClientOrderId|origClientOrderId)=([A-Za-z0-9]+)")


class Probes:
    def __init__(self) -> None:
        self.read_ns: dict[int, int] = {}  # depth update id u -> when its frame was read
        self.caused: dict[str, int] = {}  # client order id -> the book update (u) that led to it
        self.first_request_ns: dict[int, int] = {}  # u -> when its first order request went out

    def wrap_core(self, core: Any) -> None:
        on_event = core.on_event

        def probed(event: Any, now_ns: int) -> Any:
            commands = on_event(event, now_ns)
            if isinstance(event, BookSnapshot):
                for c in commands:
                    if isinstance(c, Place):
                        self.caused[c.request.client_order_id] = event.seq
                    elif isinstance(c, Cancel):
                        self.caused[c.client_order_id] = event.seq
            return commands

        core.on_event = probed

    def wrap_fetch(self, exchange: Any) -> None:
        fetch = exchange.fetch

        async def probed(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
            t = time.perf_counter_ns()
            if "/api/v3/order" in url and method in ("POST", "DELETE"):
                found = _CID.search(f"{url} {body or ''}")
                u = self.caused.get(found.group(1)) if found else None
                if u is not None:
                    self.first_request_ns.setdefault(u, t)
            return await fetch(url, method, headers, body)

        exchange.fetch = probed

    async def wrap_depth_socket(self, exchange: Any) -> None:
        """Wait for ccxt's depth WebSocket client to connect, then time each frame it reads."""
        while True:
            for client in list(exchange.clients.values()):
                if client.url.endswith("/ws/0") and getattr(client, "connection", None) is not None:
                    self._probe_receive(client)
                    return
            await asyncio.sleep(0.01)

    def _probe_receive(self, client: Any) -> None:
        receive = client.receive

        async def probed() -> Any:
            message = await receive()
            t = time.perf_counter_ns()
            data = getattr(message, "data", None)
            if isinstance(data, str) and '"depthUpdate"' in data:
                found = _U.search(data)
                if found:
                    self.read_ns[int(found.group(1))] = t
            return message

        client.receive = probed

    def latencies_us(self) -> list[float]:
        return sorted(
            (t - self.read_ns[u]) / 1e3 for u, t in self.first_request_ns.items() if u in self.read_ns
        )


async def measure(
    config: str, url: str, seconds: float, synchronous: str | None, rate_limit: bool, tmp: Path
) -> dict[str, Any]:
    env = {
        "MM_BOT__journal__live_path": str(tmp / "live.sqlite"),
        **({"MM_BOT__journal__synchronous": synchronous} if synchronous else {}),
        "MM_BOT__live__client_rate_limit": "true" if rate_limit else "false",
        "MM_BOT__markets__0__venue": "ccxt",
        "MM_BOT__live__endpoint": url,
        "MM_BOT__live__sandbox": "false",
        "MM_BOT__metrics__enabled": "false",
    }
    cfg = load_config(config, environ=env)
    configure_logging(cfg.logging.level, json=True)  # as `mm-bot run --live` logs off a terminal
    start = time.time_ns()
    journal = open_journal(cfg, "live")
    probes = Probes()
    market = await live_market(
        cfg,
        0,
        run_prefix(start, journal.order_tag),
        journal,
        Metrics(CollectorRegistry()),
        time.time_ns,
        start,
    )
    venue = market.venue
    assert isinstance(venue, CcxtVenue)
    probes.wrap_core(market.core)
    probes.wrap_fetch(venue.client)
    await probes.wrap_depth_socket(venue.client)
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, stop.set)
    try:
        await market.runner.run(stop)
    finally:
        await venue.close()
        journal.close()
    lat = probes.latencies_us()
    decision = sorted(n / 1e3 for n in market.runner.decision_latency_ns)
    return {
        "seconds": seconds,
        "synchronous": cfg.journal.sqlite_synchronous,
        "loop": type(asyncio.get_running_loop()).__module__.split(".")[0],
        "client_rate_limit": rate_limit,
        "book_updates_read": len(probes.read_ns),
        "requoted_updates": len(lat),
        "tick_to_order_us": _stats(lat),
        "decision_us": _stats(decision),
        "fills": market.core.ledger.fills,
    }


def _stats(xs: list[float]) -> dict[str, float]:
    if not xs:
        return {}
    return {
        "p50": round(statistics.median(xs), 1),
        "p90": round(xs[int(0.90 * (len(xs) - 1))], 1),
        "p99": round(xs[int(0.99 * (len(xs) - 1))], 1),
        "max": round(xs[-1], 1),
        "n": len(xs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--synchronous", choices=["FULL", "NORMAL"], help="default: the config's")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--config", default=str(ROOT / "config.yaml"))
    parser.add_argument("--client-rate-limit", action="store_true", help="ccxt's own request spacing on")
    args = parser.parse_args()
    os.environ.setdefault("MM_API_KEY", DEFAULT_API_KEY)
    os.environ.setdefault("MM_API_SECRET", DEFAULT_API_SECRET)
    serve = [sys.executable, "-m", "mm_bot.cli", "venue", "serve", "--protocol", "binance", "--port", "0"]
    venue = subprocess.Popen(serve, stdout=subprocess.PIPE, text=True)
    try:
        assert venue.stdout is not None
        url = venue.stdout.readline().strip().split()[-1]
        with tempfile.TemporaryDirectory() as tmp:
            job = measure(args.config, url, args.seconds, args.synchronous, args.client_rate_limit, Path(tmp))
            result = uvloop.run(job) if args.loop == "uvloop" else asyncio.run(job)
    finally:
        venue.terminate()
        venue.wait(timeout=30)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
