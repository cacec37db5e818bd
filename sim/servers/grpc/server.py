"""``GrpcGateway``: the gRPC venue on a port, for tests and for ``mm-bot venue serve --protocol grpc``.

One ``grpc.aio`` server carries every rpc of ``proto/venue.proto`` (``sim.servers.grpc.servicer``),
over TLS when a certificate is given. A clock task runs the venue in real time: it advances every
exchange to now, publishes what happened, checks the stream faults (``restart``, ``stream_gap``),
then sleeps until the next event is due (at most ``MAX_SLEEP_S``). A command brings its exchange up
to now before it acts; queries answer from the state of the last step. Time is the wall clock, read
through a monotonic clock so it never goes back.

    async with GrpcGateway(GatewayOptions(markets={"BTC/USDT": None})) as gw:
        gw.target, gw.token, gw.session_id
        gw.faults.trigger("restart")
        gw.state()
"""

from __future__ import annotations

import asyncio
import random
import signal
import sys
from types import TracebackType
from typing import Any, Final

import grpc

from sim.exchange import SimExchange
from sim.servers.grpc import wire
from sim.servers.grpc.core import GatewayCore
from sim.servers.grpc.faults import Faults
from sim.servers.grpc.hub import Hub
from sim.servers.grpc.options import GatewayOptions
from sim.servers.grpc.proto import venue_pb2_grpc as pb_grpc
from sim.servers.grpc.servicer import Life, Servicer
from sim.servers.process import wall_clock, write_json
from sim.servers.symbols import default_market, default_spec

__all__ = ["GrpcGateway", "serve"]

MAX_SLEEP_S: Final = 0.1
MIN_SLEEP_S: Final = 0.001
STOP_GRACE_S: Final = 0.5  # for the ended streams' statuses; held replies are cancelled after it
_SERVER_OPTIONS: Final = [
    ("grpc.so_reuseport", 0),  # a port in use is an error, not shared
    # Clients' keepalive pings (GrpcVenue: every 20 s) are welcome, with or without calls.
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
]


class GrpcGateway:
    def __init__(self, options: GatewayOptions | None = None) -> None:
        self.options = opts = options or GatewayOptions()
        self.faults = Faults(
            opts.faults,
            seed=opts.seed,
            timeout_delay_s=opts.timeout_delay_s,
            burst_s=opts.burst_s,
            restart_down_s=opts.restart_down_s,
        )
        self._clock = wall_clock()
        self._hub = Hub(self._clock, opts.heartbeat_interval_ms / 1000)
        self._life = Life()
        self._gap_rng = random.Random(opts.seed)  # which stream a stream_gap hits
        self._core: GatewayCore | None = None
        self._server: grpc.aio.Server | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._port = 0

    # --------------------------------------------------------------------------------------- access
    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("the gateway is not started")
        return self._port

    @property
    def target(self) -> str:
        """``host:port`` for ``grpc.aio.insecure_channel`` / ``secure_channel``."""
        return _address(self.options.host, self.port)

    @property
    def token(self) -> str:
        """The first account's bearer token."""
        return self.options.accounts[0].token

    def token_of(self, account: str) -> str:
        return next(a.token for a in self.options.accounts if a.name == account)

    @property
    def session_id(self) -> str:
        return self._life.session_id

    @property
    def core(self) -> GatewayCore:
        if self._core is None:
            raise RuntimeError("the gateway is not started")
        return self._core

    def exchange(self, symbol: str) -> SimExchange:
        """The simulator behind ``symbol`` (``BTC/USDT``)."""
        return self.core.exchange(symbol)

    def restart(self) -> None:
        """What the ``restart`` fault does: every stream ends UNAVAILABLE, a new session starts and
        calls are refused UNAVAILABLE for ``restart_down_s``; the exchanges keep their state."""
        self._hub.end_all(grpc.StatusCode.UNAVAILABLE, "the gateway restarted")
        self._life.restart(self._clock(), self.faults.restart_down_s)

    def state(self) -> dict[str, Any]:
        """Open orders, every order taken, trades and balances per account, and the faults injected;
        no tokens."""
        core = self.core
        specs = core.specs
        accounts: dict[str, Any] = {}
        for name in core.accounts():
            registry = core.registry(name)
            accounts[name] = {
                "open_orders": [wire.order_json(specs[o.symbol], o) for o in registry.open_orders()],
                "orders": [wire.order_json(specs[o.symbol], o) for o in registry.orders()],
                "trades": [wire.trade_json(specs[f.symbol], f) for f in registry.fills()],
                "balances": {
                    a: {"free": wire.amount_text(free), "locked": wire.amount_text(locked)}
                    for a, (free, locked) in core.balances(name).items()
                },
                "starting_balances": {
                    a: wire.amount_text(core.starting_balances.get(a, 0.0)) for a in core.assets
                },
            }
        return {
            "address": self.target,
            "symbols": list(specs),
            "accounts": accounts,
            "faults_injected": dict(self.faults.injected),
        }

    # ------------------------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Listen; OSError if the address cannot be bound or the TLS files cannot be used."""
        if self._server is not None:
            raise RuntimeError("the gateway is already started")
        opts = self.options
        specs = [default_spec(s) for s in opts.symbols]
        markets = {s.symbol: opts.markets.get(s.symbol, default_market(s)) for s in specs}
        self._core = core = GatewayCore(
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
            on_orders=self._hub.publish_orders,
        )
        tokens = {a.token: a.name for a in opts.accounts}
        servicer = Servicer(
            core, self._hub, self.faults, self._life, tokens, self._clock, opts.heartbeat_interval_ms
        )
        server = grpc.aio.server(options=_SERVER_OPTIONS)
        pb_grpc.add_VenueServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
        address = _address(opts.host, opts.port)
        try:
            if opts.tls_cert is not None and opts.tls_key is not None:
                pair = (opts.tls_key.read_bytes(), opts.tls_cert.read_bytes())
                self._port = server.add_secure_port(address, grpc.ssl_server_credentials([pair]))
            else:
                self._port = server.add_insecure_port(address)
        except RuntimeError as exc:  # grpc's "failed to bind", or credentials it cannot read
            raise OSError(f"cannot listen on {address}: {exc}") from exc
        await server.start()
        self._server = server
        self._ticker = asyncio.create_task(self._tick(), name="grpc-gateway-clock")

    async def stop(self) -> None:
        """End every stream, stop the server and write ``state_json`` if set. Re-raises a failure of
        the clock task."""
        if self._server is None:
            return
        failure: BaseException | None = None
        if self._ticker is not None:
            if self._ticker.done():
                failure = self._ticker.exception()
            else:
                self._ticker.cancel()
                await asyncio.wait([self._ticker])
        self._hub.end_all(grpc.StatusCode.UNAVAILABLE, "the gateway is stopping")
        await self._server.stop(STOP_GRACE_S)
        self._server = None
        if self.options.state_json is not None:
            write_json(self.options.state_json, self.state())
        if failure is not None:
            raise failure

    async def __aenter__(self) -> GrpcGateway:
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
        core, faults, hub, clock = self.core, self.faults, self._hub, self._clock
        while True:
            core.advance()
            now = clock()
            if faults.stream_hit("restart", now):
                self.restart()
            live = hub.live()
            if not live:
                faults.stream_skip("stream_gap", now)
            elif faults.stream_hit("stream_gap", now):
                self._gap_rng.choice(live).drop_next = True
            nxt = core.next_event_time_ns()
            delay_s = MAX_SLEEP_S if nxt is None else (nxt - clock()) / 1e9
            await asyncio.sleep(min(max(delay_s, MIN_SLEEP_S), MAX_SLEEP_S))


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def serve(options: GatewayOptions) -> int:
    """Run a gateway until SIGINT or SIGTERM: print one line with its address once it listens, then
    on the signal stop it (writing ``state_json``). 0 on a clean stop, 1 if it could not start or its
    clock task failed."""
    return asyncio.run(_serve(options))


async def _serve(options: GatewayOptions) -> int:
    gw = GrpcGateway(options)
    try:
        await gw.start()
    except OSError as exc:
        print(f"mm-bot venue: {exc}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    kind = "grpc with TLS" if options.tls else "grpc"
    print(f"mm-bot venue: {kind} listening on {gw.target}", flush=True)
    stopped = asyncio.create_task(stop.wait())
    failed = asyncio.create_task(gw.wait_failed())
    await asyncio.wait([stopped, failed], return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    failed.cancel()
    try:
        await gw.stop()
    except Exception as exc:  # the clock task's failure, re-raised by stop()
        print(f"mm-bot venue: the simulator failed: {exc!r}", file=sys.stderr)
        return 1
    return 0
