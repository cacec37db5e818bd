"""``Emulator``: the Binance spot emulator on a loopback port, for tests and for ``mm-bot venue serve``.

One aiohttp server carries REST (``/api/v3``), the market streams (``/ws``, ``/stream``) and the
WebSocket API (``/ws-api/v3``). A clock task runs the venue in real time: it advances every exchange
to now, publishes what happened, checks the stream faults, then sleeps until the next event is due
(at most ``MAX_SLEEP_S``). An order or cancel brings its exchange up to now before it acts; queries
answer from the state of the clock task's last step. Time is the wall clock, read through a
monotonic clock so it never goes back.

    async with Emulator(EmulatorOptions()) as emu:
        emu.base_url, emu.ws_url, emu.api_key, emu.api_secret
        emu.faults.trigger("http_503")
        emu.state()
"""

from __future__ import annotations

import asyncio
import signal
import sys
from types import TracebackType
from typing import Any, Final

from aiohttp import web

from sim.exchange import SimExchange
from sim.servers.binance import wire
from sim.servers.binance.endpoints import Endpoints
from sim.servers.binance.faults import Faults
from sim.servers.binance.hub import Hub
from sim.servers.binance.options import EmulatorOptions
from sim.servers.binance.rest import Rest
from sim.servers.binance.streams import MarketStreams
from sim.servers.binance.venue import Venue
from sim.servers.binance.wsapi import WsApi
from sim.servers.process import wall_clock, write_json
from sim.servers.symbols import default_market, default_spec

__all__ = ["Emulator", "serve"]

MAX_SLEEP_S: Final = 0.1
MIN_SLEEP_S: Final = 0.001
DEPTH_GAP_IDS: Final = 5
SHUTDOWN_TIMEOUT_S: Final = 2.0


class Emulator:
    def __init__(self, options: EmulatorOptions | None = None) -> None:
        self.options = opts = options or EmulatorOptions()
        self.faults = Faults(
            opts.faults, seed=opts.seed, timeout_delay_s=opts.timeout_delay_s, ban_s=opts.ban_s
        )
        self._clock = wall_clock()
        self._hub = Hub()
        self._stopping = asyncio.Event()
        self._venue: Venue | None = None
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._port = 0

    # --------------------------------------------------------------------------------------- access
    @property
    def api_key(self) -> str:
        return self.options.accounts[0].api_key

    @property
    def api_secret(self) -> str:
        return self.options.accounts[0].api_secret

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("the emulator is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self.options.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.options.host}:{self.port}"

    @property
    def venue(self) -> Venue:
        if self._venue is None:
            raise RuntimeError("the emulator is not started")
        return self._venue

    def exchange(self, symbol: str) -> SimExchange:
        """The simulator behind ``symbol`` (``BTC/USDT`` or ``BTCUSDT``)."""
        return self.venue.market(symbol.replace("/", "")).exchange

    def terminate_user_streams(self) -> int:
        """End every user-data subscription the way Binance does (the sockets stay open); how many."""
        return self._hub.terminate_users(self._clock() // 1_000_000)

    def state(self) -> dict[str, Any]:
        """Open orders, every order taken, trades and balances per account, and the faults injected;
        no secrets."""
        venue = self.venue
        specs = venue.specs
        accounts: dict[str, Any] = {}
        for name in venue.accounts():
            accounts[name] = {
                "open_orders": [wire.order_query(specs[o.symbol_id], o) for o in venue.open_orders(name)],
                "orders": [wire.order_query(specs[o.symbol_id], o) for o in venue.orders(name)],
                "trades": [wire.my_trade(specs[f.symbol_id], f) for f in venue.trades(name)],
                "balances": {
                    a: {"free": wire.amount_text(free), "locked": wire.amount_text(locked)}
                    for a, (free, locked) in venue.balances(name).items()
                },
                "starting_balances": {
                    a: wire.amount_text(venue.starting_balances.get(a, 0.0)) for a in venue.assets
                },
            }
        return {
            "base_url": self.base_url,
            "symbols": [s.symbol for s in specs.values()],
            "accounts": accounts,
            "faults_injected": dict(self.faults.injected),
            "refused_in_ban": self.faults.refused_in_ban,
            "refused_in_ban_lines": dict(self.faults.refused_in_ban_lines),
        }

    # ------------------------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("the emulator is already started")
        opts = self.options
        specs = [default_spec(s) for s in opts.symbols]
        markets = {
            s.symbol: opts.markets[s.symbol] if s.symbol in opts.markets else default_market(s) for s in specs
        }
        self._venue = venue = Venue(
            specs,
            markets,
            opts.balances,
            [a.name for a in opts.accounts],
            seed=opts.seed,
            clock_ns=self._clock,
            maker_fee_bps=opts.maker_fee_bps,
            taker_fee_bps=opts.taker_fee_bps,
            fee_asset=opts.fee_asset,
            on_market=self._hub.publish_market,
            on_user=self._hub.publish_user,
        )
        secrets = {a.api_key: a.api_secret for a in opts.accounts}
        endpoints = Endpoints(
            venue, self.faults, secrets, {a.api_key: a.name for a in opts.accounts}, self._clock
        )
        rest = Rest(endpoints, self.faults, self._clock, self._stopping)
        streams = MarketStreams(self._hub, specs)
        wsapi = WsApi(self._hub, endpoints, self.faults, self._stopping)
        app = web.Application(middlewares=[rest.middleware])
        app.add_routes(rest.routes())
        for path in ("/ws", "/ws/{tail:.*}", "/stream", "/stream/{tail:.*}"):
            app.router.add_get(path, streams.handle)
        app.router.add_get("/ws-api/v3", wsapi.handle)
        runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT_S
        )
        await runner.setup()
        self._runner = runner
        try:
            site = web.TCPSite(runner, opts.host, opts.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            self._runner = None
            raise
        self._port = runner.addresses[0][1]
        self._ticker = asyncio.create_task(self._tick(), name="binance-emulator-clock")

    async def stop(self) -> None:
        """Close every socket, stop the server and write ``state_json`` if set. Re-raises a failure
        of the clock task."""
        if self._runner is None:
            return
        self._stopping.set()
        failure: BaseException | None = None
        if self._ticker is not None:
            if self._ticker.done():
                failure = self._ticker.exception()
            else:
                self._ticker.cancel()
                await asyncio.wait([self._ticker])
        self._hub.close_all()
        await self._runner.cleanup()
        self._runner = None
        if self.options.state_json is not None:
            write_json(self.options.state_json, self.state())
        if failure is not None:
            raise failure

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def wait_failed(self) -> None:
        """Return when the clock task has died (it does not end otherwise)."""
        assert self._ticker is not None
        await asyncio.wait([self._ticker])

    async def _tick(self) -> None:
        venue, faults, hub, clock = self.venue, self.faults, self._hub, self._clock
        while True:
            venue.advance()
            now = clock()
            if faults.stream_hit("ws_drop", now):
                hub.close_all()
            if faults.stream_hit("depth_gap", now):
                venue.skip_depth_ids(DEPTH_GAP_IDS)
            if faults.stream_hit("price_spike", now):
                venue.price_spike()
            nxt = venue.next_event_time_ns()
            delay_s = MAX_SLEEP_S if nxt is None else (nxt - clock()) / 1e9
            await asyncio.sleep(min(max(delay_s, MIN_SLEEP_S), MAX_SLEEP_S))


def serve(options: EmulatorOptions) -> int:
    """Run an emulator until SIGINT or SIGTERM: print one line with its URL once it listens, then on
    the signal stop it (writing ``state_json``). 0 on a clean stop, 1 if it could not start or its
    clock task failed."""
    return asyncio.run(_serve(options))


async def _serve(options: EmulatorOptions) -> int:
    emu = Emulator(options)
    try:
        await emu.start()
    except OSError as exc:
        print(
            f"mm-bot venue: cannot listen on {options.host}:{options.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"mm-bot venue: listening on {emu.base_url}", flush=True)
    stopped = asyncio.create_task(stop.wait())
    failed = asyncio.create_task(emu.wait_failed())
    await asyncio.wait([stopped, failed], return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    failed.cancel()
    try:
        await emu.stop()
    except Exception as exc:  # the clock task's failure, re-raised by stop()
        print(f"mm-bot venue: the simulator failed: {exc!r}", file=sys.stderr)
        return 1
    return 0
