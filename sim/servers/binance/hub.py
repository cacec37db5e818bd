"""WebSocket clients and the fan-out of stream messages to them.

Each connection has one outgoing queue drained by one writer task, so what is queued is sent in
order: a SUBSCRIBE ack is queued before the subscription starts and so precedes its data. A message
is serialised once per publish, and not at all when nobody listens. A client that falls
``MAX_QUEUED`` messages behind is disconnected (Binance drops slow consumers too).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, Final

from aiohttp import WSCloseCode, WSMsgType, web

__all__ = ["Connection", "Hub"]

MAX_QUEUED: Final = 10_000
CLOSE_GRACE_S: Final = 1.0


def dumps(message: Any) -> str:
    return json.dumps(message, separators=(",", ":"))


class Connection:
    """One WebSocket client. ``combined``: market messages are wrapped as ``{"stream", "data"}``."""

    def __init__(self, ws: web.WebSocketResponse, *, combined: bool = False) -> None:
        self.ws = ws
        self.combined = combined
        self.streams: dict[str, str] = {}  # stream -> the name the client subscribed it by
        self.subscriptions: dict[int, str] = {}  # user-data subscription id -> account
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._closing = False

    @property
    def closing(self) -> bool:
        return self._closing

    def send(self, text: str) -> None:
        if self._closing:
            return
        if self._queue.qsize() >= MAX_QUEUED:
            self.close()
            return
        self._queue.put_nowait(text)

    def send_json(self, message: Any) -> None:
        self.send(dumps(message))

    def close(self) -> None:
        """Close after what is already queued has been sent."""
        if not self._closing:
            self._closing = True
            self._queue.put_nowait(None)

    async def serve(self, on_text: Callable[[str], None]) -> None:
        """Read until the client or ``close`` ends the connection; ``on_text`` gets each text frame."""
        writer = asyncio.create_task(self._write())
        try:
            async for msg in self.ws:
                if msg.type == WSMsgType.TEXT:
                    on_text(msg.data)
        finally:
            self.close()
            done, _ = await asyncio.wait([writer], timeout=CLOSE_GRACE_S)
            if not done:  # the client does not answer our close
                writer.cancel()
                await asyncio.wait([writer])

    async def _write(self) -> None:
        while (text := await self._queue.get()) is not None:
            if self.ws.closed:
                return
            try:
                await self.ws.send_str(text)
            except ConnectionError:
                return
        await self.ws.close(code=WSCloseCode.GOING_AWAY)


class Hub:
    """Who listens to which market stream and to which account's user data."""

    def __init__(self) -> None:
        self._connections: set[Connection] = set()
        self._streams: dict[str, set[Connection]] = {}
        self._users: dict[str, dict[Connection, set[int]]] = {}

    def add(self, conn: Connection) -> None:
        self._connections.add(conn)

    def remove(self, conn: Connection) -> None:
        self._connections.discard(conn)
        for stream in list(conn.streams):
            self.unsubscribe(conn, stream)
        self.unsubscribe_user(conn, None)

    def subscribe(self, conn: Connection, stream: str, name: str) -> None:
        conn.streams[stream] = name
        self._streams.setdefault(stream, set()).add(conn)

    def unsubscribe(self, conn: Connection, stream: str) -> None:
        conn.streams.pop(stream, None)
        self._streams.get(stream, set()).discard(conn)

    def subscribe_user(self, conn: Connection, subscription_id: int, account: str) -> None:
        conn.subscriptions[subscription_id] = account
        self._users.setdefault(account, {}).setdefault(conn, set()).add(subscription_id)

    def unsubscribe_user(self, conn: Connection, subscription_id: int | None) -> None:
        """Drop one of the connection's user-data subscriptions, or all of them (None)."""
        ids = list(conn.subscriptions) if subscription_id is None else [subscription_id]
        for sid in ids:
            account = conn.subscriptions.pop(sid, None)
            if account is None:
                continue
            listeners = self._users.get(account, {})
            listeners.get(conn, set()).discard(sid)
            if not listeners.get(conn):
                listeners.pop(conn, None)

    def publish_market(self, stream: str, message: Any) -> None:
        listeners = self._streams.get(stream)
        if not listeners:
            return
        raw = dumps(message)
        for conn in listeners:
            name = conn.streams[stream]
            conn.send(f'{{"stream":{dumps(name)},"data":{raw}}}' if conn.combined else raw)

    def publish_user(self, account: str, event: Any) -> None:
        listeners = self._users.get(account)
        if not listeners:
            return
        raw = dumps(event)
        for conn, ids in listeners.items():
            for sid in ids:
                conn.send(f'{{"subscriptionId":{sid},"event":{raw}}}')

    def terminate_users(self, now_ms: int) -> int:
        """End every user-data subscription as Binance does (``eventStreamTerminated``, then nothing
        more on it; the socket stays open). Returns how many ended."""
        ended = 0
        for listeners in self._users.values():
            for conn, ids in list(listeners.items()):
                for sid in list(ids):
                    conn.send_json(
                        {"subscriptionId": sid, "event": {"e": "eventStreamTerminated", "E": now_ms}}
                    )
                    self.unsubscribe_user(conn, sid)
                    ended += 1
        return ended

    def close_all(self) -> None:
        for conn in list(self._connections):
            conn.close()
