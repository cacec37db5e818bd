"""Market streams over WebSocket: ``/ws``, ``/ws/<anything>`` (ccxt dials ``/ws/0``, ``/ws/1`` ...)
send raw events; ``/stream`` sends them wrapped as ``{"stream": name, "data": event}``. Streams named
in the path (``/ws/btcusdt@trade``) or in ``?streams=a/b`` are subscribed at connect.

Streams per symbol: ``<s>@depth@100ms`` (diffs every 100 ms), ``<s>@depth`` (= ``<s>@depth@1000ms``,
merged per second) and ``<s>@trade``. Requests: ``SUBSCRIBE`` and ``UNSUBSCRIBE`` (answered
``{"result": null, "id": id}`` before any data of the stream), ``LIST_SUBSCRIPTIONS``. Subscribing
twice is acknowledged and delivers once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from sim.servers.binance.hub import Connection, Hub
from sim.servers.symbols import SymbolSpec

__all__ = ["MarketStreams"]


class MarketStreams:
    def __init__(self, hub: Hub, specs: Iterable[SymbolSpec]) -> None:
        self._hub = hub
        self._streams: dict[str, str] = {}  # the names a client may use -> the stream published
        for spec in specs:
            s = spec.stream
            self._streams.update(
                {
                    f"{s}@trade": f"{s}@trade",
                    f"{s}@depth": f"{s}@depth",
                    f"{s}@depth@1000ms": f"{s}@depth",
                    f"{s}@depth@100ms": f"{s}@depth@100ms",
                }
            )

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(timeout=1.0)
        await ws.prepare(request)
        conn = Connection(ws, combined=request.path.startswith("/stream"))
        self._hub.add(conn)
        initial = [part for part in request.path.split("/") if "@" in part]
        initial += [name for name in request.query.get("streams", "").split("/") if name]
        for name in initial:
            if name in self._streams:
                self._hub.subscribe(conn, self._streams[name], name)
        try:
            await conn.serve(lambda text: self._on_text(conn, text))
        finally:
            self._hub.remove(conn)
        return ws

    def _on_text(self, conn: Connection, text: str) -> None:
        try:
            msg: Any = json.loads(text)
        except ValueError:
            conn.send_json({"error": {"code": 3, "msg": "Invalid JSON"}, "id": None})
            return
        if not isinstance(msg, dict):
            conn.send_json({"error": {"code": 3, "msg": "Invalid JSON: expected an object"}, "id": None})
            return
        method, params, req_id = msg.get("method"), msg.get("params", []), msg.get("id")
        if method == "LIST_SUBSCRIPTIONS":
            conn.send_json({"result": sorted(conn.streams.values()), "id": req_id})
            return
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE"):
            error = f"Invalid request: unknown method {method!r}"
            conn.send_json({"error": {"code": 2, "msg": error}, "id": req_id})
            return
        names = params if isinstance(params, list) else [params]
        unknown = [n for n in names if not isinstance(n, str) or n not in self._streams]
        if unknown:
            error = f"Invalid request: unknown stream {unknown[0]!r}"
            conn.send_json({"error": {"code": 2, "msg": error}, "id": req_id})
            return
        conn.send_json({"result": None, "id": req_id})  # queued before the first data of the stream
        for name in names:
            if method == "SUBSCRIBE":
                self._hub.subscribe(conn, self._streams[name], name)
            else:
                self._hub.unsubscribe(conn, self._streams[name])
