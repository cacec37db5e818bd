"""The REST API under ``/api/v3``: routes, parameter reading, error answers, transport faults.

Parameters come from the query string and, for POST, the form body; a parameter given twice is
-1101. Errors are ``{"code", "msg"}`` with Binance's HTTP status (400 for most, 401 for a bad key,
429 and 418 with ``Retry-After`` in seconds); a success body never has a ``code``.

Faults checked before any route runs, in this order: a running 418 ban (418, not counted again),
``http_418`` (starts the ban), ``http_429``, ``http_503`` (plain text, nothing executed). A request
that commits (POST/DELETE order, DELETE openOrders) may first get ``late_arrival`` (held
``timeout_delay_s`` before it is authenticated and executed, even if the client has hung up) and,
once it succeeds, ``timeout_after_commit``: its answer is held ``timeout_delay_s`` and dropped if the
client hangs up first.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable
from typing import Any, Final
from urllib.parse import parse_qsl

from aiohttp import web

from sim.servers.binance import errors
from sim.servers.binance.endpoints import Endpoints
from sim.servers.binance.errors import BinanceError
from sim.servers.binance.faults import Faults
from sim.servers.binance.hub import dumps

__all__ = ["Rest"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RETRY_AFTER_429_S: Final = 1
HOLD_POLL_S: Final = 0.05


class Rest:
    def __init__(
        self, endpoints: Endpoints, faults: Faults, clock_ns: Callable[[], int], stopping: asyncio.Event
    ) -> None:
        self._e = endpoints
        self._faults = faults
        self._clock = clock_ns
        self._stopping = stopping

    def routes(self) -> list[web.RouteDef]:
        e = self._e
        return [
            web.get("/api/v3/ping", self._public(lambda _p: {})),
            web.get("/api/v3/time", self._public(lambda _p: e.server_time())),
            web.get("/api/v3/exchangeInfo", self._public(e.exchange_info)),
            web.get("/api/v3/depth", self._public(e.depth)),
            web.post("/api/v3/order/test", self._public(e.test_order)),
            web.post("/api/v3/order", self._signed(e.place, commits=True)),
            web.get("/api/v3/order", self._signed(e.query)),
            web.delete("/api/v3/order", self._signed(e.cancel, commits=True)),
            web.get("/api/v3/openOrders", self._signed(e.open_orders)),
            web.delete("/api/v3/openOrders", self._signed(e.cancel_all, commits=True)),
            web.get("/api/v3/myTrades", self._signed(e.my_trades)),
            web.get("/api/v3/account", self._signed(lambda account, _p: e.account(account))),
        ]

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/api/"):
            now = self._clock()
            faults, line = self._faults, f"{request.method} {request.path}"
            if faults.ban_left_s(now) > 0:
                faults.refused_in_ban += 1  # a client that does not wait out Retry-After
                faults.refused_in_ban_lines[line] += 1
            elif faults.request_hit("http_418", line):
                faults.start_ban(now)
            ban_s = faults.ban_left_s(now)
            if ban_s > 0:
                until_ms = faults.ban_until_ns() // 1_000_000
                return _error(errors.banned(until_ms, math.ceil(ban_s)))
            if faults.request_hit("http_429", line):
                return _error(errors.too_many_requests(RETRY_AFTER_429_S))
            if faults.request_hit("http_503", line):
                return web.Response(status=503, text="Service Unavailable")
        try:
            return await handler(request)
        except BinanceError as exc:
            return _error(exc)

    def _public(self, call: Callable[[dict[str, str]], Any]) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            params, _, _ = await _read_params(request)
            return _json(call(params))

        return handle

    def _signed(self, call: Callable[[str, dict[str, str]], Any], *, commits: bool = False) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            params, query, body = await _read_params(request)
            line = f"{request.method} {request.path}"
            if commits and self._faults.request_hit("late_arrival", line):
                await self._late()  # checked and executed as if it arrived only now
            key = request.headers.get("X-MBX-APIKEY")
            account = self._e.authenticate_rest(key, query, body, params)
            response = _json(call(account, params))
            if commits and self._faults.request_hit("timeout_after_commit", line):
                await self._hold(request)
            return response

        return handle

    async def _late(self) -> None:
        """A request held up on its way in for ``timeout_delay_s``; lost if the emulator stops first."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._faults.timeout_delay_s):
                await self._stopping.wait()
        if self._stopping.is_set():
            raise web.HTTPServiceUnavailable(text="Service Unavailable")

    async def _hold(self, request: web.Request) -> None:
        """Wait out the held answer's delay, the client hanging up, or the emulator stopping."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._faults.timeout_delay_s
        while (left := deadline - loop.time()) > 0 and not self._stopping.is_set():
            transport = request.transport
            if transport is None or transport.is_closing():
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(left, HOLD_POLL_S)):
                    await self._stopping.wait()


async def _read_params(request: web.Request) -> tuple[dict[str, str], str, str]:
    """(parameters, raw query, raw body)."""
    query = request.rel_url.raw_query_string
    body = await request.text() if request.can_read_body else ""
    params: dict[str, str] = {}
    for raw in (query, body):
        for name, value in parse_qsl(raw, keep_blank_values=True):
            if name in params:
                raise errors.duplicate_parameter()
            params[name] = value
    return params, query, body


def _json(body: Any) -> web.Response:
    return web.Response(text=dumps(body), content_type="application/json")


def _error(exc: BinanceError) -> web.Response:
    headers = {} if exc.retry_after_s is None else {"Retry-After": str(exc.retry_after_s)}
    return web.Response(
        status=exc.status, text=dumps(exc.body()), content_type="application/json", headers=headers
    )
