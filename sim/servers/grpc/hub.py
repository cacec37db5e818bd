"""The gRPC venue's live streams: one bounded queue per subscription, its ``seq`` and heartbeats, and
the writer that sends it to the client.

A subscription's snapshot is queued when it subscribes, in the same step that registers it, so no
event falls between the snapshot and what follows. Messages are stamped with the subscription's
session id and ``seq`` as they are sent, in queue order: the snapshot is 1 and every message after it,
heartbeats included, the next number. A heartbeat goes out every ``heartbeat_interval_s`` whatever
else is sent. A subscription whose queue holds ``MAX_QUEUED`` messages is ended RESOURCE_EXHAUSTED
(its client fell too far behind), so a slow client never blocks the venue; a write that is stuck
(the client's HTTP/2 window is full) when its stream ends is cancelled. ``end_all`` ends every
stream with one status (a restart: UNAVAILABLE). ``drop_next`` on a subscription loses its next
message, the seq still counted (the ``stream_gap`` fault).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Final, Generic, TypeVar

import grpc

from sim.servers.grpc.core import MarketEvent, PublishedBook
from sim.servers.grpc.depth import DepthView
from sim.servers.grpc.proto import venue_pb2 as pb

__all__ = ["MAX_QUEUED", "Hub", "MarketSubscription", "Subscription"]

MAX_QUEUED: Final = 10_000

M = TypeVar("M", pb.MarketMessage, pb.OrderMessage)
Status = tuple[grpc.StatusCode, str]


class Subscription(Generic[M]):
    """One stream: what is queued for it, its seq so far, and how it ended (``end_status``)."""

    def __init__(self, session_id: str, snapshot: M, heartbeat: Callable[[], M]) -> None:
        self.session_id = session_id
        self.heartbeat: Callable[[], M] = heartbeat
        self.queue: deque[M] = deque([snapshot])
        self.seq = 0
        self.drop_next = False
        self.end_status: Status | None = None
        self.wake = asyncio.Event()
        self.ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def push(self, message: M) -> None:
        if self.end_status is not None:
            return
        if len(self.queue) >= MAX_QUEUED:
            self.end(grpc.StatusCode.RESOURCE_EXHAUSTED, "the subscriber fell too far behind")
            return
        self.queue.append(message)
        self.wake.set()

    def end(self, code: grpc.StatusCode, details: str) -> None:
        """End the stream with this status after the message being sent (queued ones are dropped)."""
        if self.end_status is None:
            self.end_status = (code, details)
            self.queue.clear()
            self.ended.set_result(None)
            self.wake.set()

    def stamp(self, template: M) -> M | None:
        """The next message: ``template`` with the session id and the next seq (None: dropped)."""
        self.seq += 1
        if self.drop_next:
            self.drop_next = False
            return None
        message = type(template)()
        message.CopyFrom(template)
        message.session_id = self.session_id
        message.seq = self.seq
        return message


class MarketSubscription(Subscription[pb.MarketMessage]):
    def __init__(
        self, session_id: str, view: DepthView, book: PublishedBook, heartbeat: Callable[[], pb.MarketMessage]
    ) -> None:
        snapshot = pb.MarketMessage(
            exchange_ts_ns=book.exchange_ts_ns, snapshot=view.snapshot(book.bids, book.asks)
        )
        super().__init__(session_id, snapshot, heartbeat)
        self.view = view

    def on_market(self, event: MarketEvent) -> None:
        if isinstance(event, PublishedBook):
            diff = self.view.diff(event.bids, event.asks)
            if diff is not None:
                self.push(pb.MarketMessage(exchange_ts_ns=event.exchange_ts_ns, diff=diff))
        else:
            self.push(event)


class Hub:
    """Who listens to which symbol's market and to which account's orders on which symbol."""

    def __init__(self, clock_ns: Callable[[], int], heartbeat_interval_s: float) -> None:
        self._clock = clock_ns
        self._interval_s = heartbeat_interval_s
        self._markets: dict[str, dict[MarketSubscription, None]] = {}  # insertion-ordered sets
        self._orders: dict[tuple[str, str], dict[Subscription[pb.OrderMessage], None]] = {}

    # ---------------------------------------------------------------------------------- subscribing
    def subscribe_market(
        self, symbol: str, depth: int, session_id: str, book: PublishedBook
    ) -> MarketSubscription:
        sub = MarketSubscription(session_id, DepthView(depth), book, self._market_heartbeat)
        self._markets.setdefault(symbol, {})[sub] = None
        return sub

    def subscribe_orders(
        self, account: str, symbol: str, session_id: str, open_orders: Sequence[pb.OpenOrder]
    ) -> Subscription[pb.OrderMessage]:
        snapshot = pb.OrderMessage(
            exchange_ts_ns=self._clock(), snapshot=pb.OpenOrdersSnapshot(orders=open_orders)
        )
        sub = Subscription(session_id, snapshot, self._order_heartbeat)
        self._orders.setdefault((account, symbol), {})[sub] = None
        return sub

    def remove(self, sub: Subscription[Any]) -> None:
        if isinstance(sub, MarketSubscription):
            for markets in self._markets.values():
                markets.pop(sub, None)
        else:
            for orders in self._orders.values():
                orders.pop(sub, None)

    def live(self) -> list[Subscription[Any]]:
        """Every subscription not yet ended: market ones, then order ones, oldest first per key."""
        subs: list[Subscription[Any]] = [s for group in self._markets.values() for s in group]
        subs.extend(s for group in self._orders.values() for s in group)
        return [s for s in subs if s.end_status is None]

    def end_all(self, code: grpc.StatusCode, details: str) -> None:
        for sub in self.live():
            sub.end(code, details)

    # ----------------------------------------------------------------------------------- publishing
    def publish_market(self, symbol: str, event: MarketEvent) -> None:
        for sub in self._markets.get(symbol, ()):
            sub.on_market(event)

    def publish_orders(self, account: str, symbol: str, message: pb.OrderMessage) -> None:
        for sub in self._orders.get((account, symbol), ()):
            sub.push(message)

    def _market_heartbeat(self) -> pb.MarketMessage:
        return pb.MarketMessage(exchange_ts_ns=self._clock(), heartbeat=pb.Heartbeat())

    def _order_heartbeat(self) -> pb.OrderMessage:
        return pb.OrderMessage(exchange_ts_ns=self._clock(), heartbeat=pb.Heartbeat())

    # -------------------------------------------------------------------------------------- sending
    async def serve(self, sub: Subscription[M], context: grpc.aio.ServicerContext[Any, M]) -> None:
        """Send ``sub`` until it ends, then end the call with its status (this raises, as aborts do)."""
        loop = asyncio.get_running_loop()
        interval = self._interval_s
        next_beat = loop.time() + interval
        while sub.end_status is None:
            now = loop.time()
            if now >= next_beat:
                template = sub.heartbeat()
                next_beat += interval
                if next_beat <= now:  # a write was stuck for longer than an interval
                    next_beat = now + interval
            elif sub.queue:
                template = sub.queue.popleft()
            else:
                sub.wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(next_beat - now):
                        await sub.wake.wait()
                continue
            message = sub.stamp(template)
            if message is not None:
                await _write(sub, context, message)
        code, details = sub.end_status
        await context.abort(code, details)


async def _write(sub: Subscription[M], context: grpc.aio.ServicerContext[Any, M], message: M) -> None:
    """Write ``message`` unless the stream ends first (then the write is cancelled)."""
    write = asyncio.ensure_future(context.write(message))
    try:
        await asyncio.wait([write, sub.ended], return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not write.done():
            write.cancel()
            await asyncio.wait([write])
    if not write.cancelled():
        write.result()
