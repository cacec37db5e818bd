"""The WebSocket API at ``/ws-api/v3``: requests ``{"id", "method", "params"}``, answers
``{"id", "status", "result" | "error", "rateLimits"}``.

Methods: ``ping``, ``time``, ``userDataStream.subscribe.signature`` (then the account's events come
as ``{"subscriptionId": n, "event": {...}}``), ``userDataStream.unsubscribe`` (one
``subscriptionId`` or all), and, signed: ``order.place``, ``order.cancel``, ``order.status``,
``openOrders.status``, ``openOrders.cancelAll``, ``account.status``, ``myTrades``. Parameters the
method does not use are ignored (ccxt sends ``clientOrderId``, ``postOnly``, ``returnRateLimits``).

Faults: ``clock_skew`` and ``reject`` as on REST; ``timeout_after_commit`` holds the answer to a
placed or cancelled order ``timeout_delay_s`` (other requests on the socket are answered meanwhile)
and drops it if the socket closes first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from aiohttp import web

from sim.servers.binance import errors
from sim.servers.binance.endpoints import Endpoints
from sim.servers.binance.errors import BinanceError
from sim.servers.binance.faults import Faults
from sim.servers.binance.hub import Connection, Hub

__all__ = ["WsApi"]

_COMMITS: Final = frozenset({"order.place", "order.cancel", "openOrders.cancelAll"})


class WsApi:
    def __init__(self, hub: Hub, endpoints: Endpoints, faults: Faults, stopping: asyncio.Event) -> None:
        self._hub = hub
        self._endpoints = endpoints
        self._faults = faults
        self._stopping = stopping
        self._next_subscription = 0
        e = endpoints
        self._signed: dict[str, Callable[[str, Mapping[str, str]], Any]] = {
            "order.place": e.place,
            "order.cancel": e.cancel,
            "order.status": e.query,
            "openOrders.status": e.open_orders,
            "openOrders.cancelAll": e.cancel_all,
            "account.status": lambda account, _params: e.account(account),
            "myTrades": e.my_trades,
        }

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(timeout=1.0)
        await ws.prepare(request)
        conn = Connection(ws)
        held: set[asyncio.Task[None]] = set()
        self._hub.add(conn)
        try:
            await conn.serve(lambda text: self._on_text(conn, text, held))
        finally:
            self._hub.remove(conn)
            for task in held:  # the client is gone: its held answers are dropped
                task.cancel()
            if held:
                await asyncio.wait(held)
        return ws

    def _on_text(self, conn: Connection, text: str, held: set[asyncio.Task[None]]) -> None:
        try:
            msg: Any = json.loads(text, parse_float=str)  # numbers keep their text for the signature
        except ValueError:
            msg = None
        if not isinstance(msg, dict) or not isinstance(msg.get("method"), str):
            conn.send_json(_error(None, BinanceError(-1000, "Malformed request.")))
            return
        req_id, method = msg.get("id"), msg["method"]
        params = msg.get("params") or {}
        try:
            if not isinstance(params, dict):
                raise errors.illegal_value("params")
            reply = {
                "id": req_id,
                "status": 200,
                "result": self._call(conn, method, params),
                "rateLimits": [],
            }
        except BinanceError as exc:
            conn.send_json(_error(req_id, exc))
            return
        if method in _COMMITS and self._faults.request_hit("timeout_after_commit"):
            task = asyncio.create_task(self._hold(conn, reply))
            held.add(task)
            task.add_done_callback(held.discard)
            return
        conn.send_json(reply)

    def _call(self, conn: Connection, method: str, params: dict[str, Any]) -> Any:
        if method == "ping":
            return {}
        if method == "time":
            return self._endpoints.server_time()
        if method == "userDataStream.subscribe.signature":
            account = self._endpoints.authenticate_ws(params)
            sid = self._next_subscription
            self._next_subscription += 1
            self._hub.subscribe_user(conn, sid, account)  # events follow this answer on the queue
            return {"subscriptionId": sid}
        if method == "userDataStream.unsubscribe":
            which = params.get("subscriptionId")
            self._hub.unsubscribe_user(conn, None if which is None else _as_int(which))
            return {}
        handler = self._signed.get(method)
        if handler is None:
            raise BinanceError(-1020, "This operation is not supported.")
        account = self._endpoints.authenticate_ws(params)
        return handler(account, {k: _text(v) for k, v in params.items() if v is not None})

    async def _hold(self, conn: Connection, reply: dict[str, Any]) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._faults.timeout_delay_s):
                await self._stopping.wait()
        conn.send_json(reply)


def _error(req_id: object, exc: BinanceError) -> dict[str, Any]:
    return {"id": req_id, "status": exc.status, "error": exc.body(), "rateLimits": []}


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _as_int(value: object) -> int:
    text = _text(value)
    if not (text.isascii() and text.isdigit()):
        raise errors.illegal_value("subscriptionId")
    return int(text)
