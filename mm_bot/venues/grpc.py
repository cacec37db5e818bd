"""``GrpcVenue``: the Venue port over a gRPC counterparty gateway (``sim/servers/grpc/proto/venue.proto``).

- One ``grpc.aio`` channel with keepalive. Every unary call has a deadline (``call_timeout_s``);
  streams have none. The token goes with every call as ``authorization: Bearer <token>``.
- Two streams: the market (a snapshot, then diffs and public trades; our book is rebuilt from
  them) and our orders (acks, cancels, fills). Each message's ``session_id`` and ``seq`` are checked:
  the first must be the snapshot (seq 1); a gap, a new session (the gateway restarted), a message
  that does not fit, the server ending the stream, an error, or no message (heartbeats included)
  for ``stale_after_s`` ends the subscription: ``Disconnected`` goes out (the core pulls its quotes)
  and it subscribes again after a jittered, growing backoff. A unary call answered UNAVAILABLE
  does the same for requests: a ``Disconnected`` at once, then pings until the gateway answers.
  Once both streams and requests are back, ``Connected``: the core reconciles and trusts only the
  next book.
- Place: with our client id. Retried only with that same id (the gateway deduplicates), only on
  UNAVAILABLE or DEADLINE_EXCEEDED, at most ``place_attempts`` times; if none is answered, its fate
  is unknown (``TransientVenueError``) and the core looks it up by client id. A refusal is raised
  as ``OrderRejected`` and never retried. Cancels are not retried here: the core chases them.
- Acks, cancels and fills come from the stream and from replies, each passed on once (fills by the
  venue's trade id). Only orders whose client id starts with ``tag`` are passed on or cancelled by
  ``cancel_all``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final

import grpc
import structlog

from mm_bot.errors import (
    CredentialsRefused,
    InsufficientFunds,
    OrderRejected,
    PostOnlyWouldCross,
    RateLimited,
    TransientVenueError,
    UnknownOrder,
    VenueError,
    VenueMismatch,
)
from mm_bot.model import (
    AccountSnapshot,
    BookSnapshot,
    Connected,
    Disconnected,
    Instrument,
    OpenOrder,
    OrderAccepted,
    OrderCancelled,
    OrderReport,
    OrderRequest,
    OwnFill,
    VenueCapabilities,
    VenueEvent,
)
from mm_bot.venues import grpc_translate as tr
from mm_bot.venues.grpc_stream import LocalBook, Sequence, StreamBroken
from mm_bot.venues.network import BadVenueData, Recent, StreamHealth, cancel_ours, retried
from sim.servers.grpc.proto import venue_pb2 as pb
from sim.servers.grpc.proto import venue_pb2_grpc

log = structlog.get_logger("mm_bot.venues.grpc")

MARKET, ORDERS, CALLS = "market", "orders", "requests"
KEEPALIVE: Final = (
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
)
_RETRIED_PLACE: Final = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
_REJECTS: Final[dict[str, type[OrderRejected]]] = {
    "post_only_would_cross": PostOnlyWouldCross,
    "insufficient_funds": InsufficientFunds,
}


class GrpcVenue:
    def __init__(
        self,
        target: str,
        token: str,
        instrument: Instrument,
        *,
        tag: str,
        credentials: grpc.ChannelCredentials | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
        call_timeout_s: float = 1.5,
        place_attempts: int = 3,
        book_levels: int = 20,
        stale_after_s: float = 3.0,
        backoff_s: tuple[float, float] = (0.05, 5.0),
        start_timeout_s: float = 30.0,
        seed: int | None = None,
    ) -> None:
        if place_attempts < 1 or call_timeout_s <= 0 or stale_after_s <= 0:
            raise ValueError("place_attempts >= 1, call_timeout_s > 0 and stale_after_s > 0 are needed")
        self._target = target
        self._metadata = (("authorization", f"Bearer {token}"),)
        self._credentials = credentials
        self._instrument = instrument
        self._symbol = instrument.symbol
        self._tag = tag
        self._clock = clock_ns
        self._call_timeout_s = call_timeout_s
        self._place_attempts = place_attempts
        self._levels = book_levels
        self._stale_after_s = stale_after_s
        self._backoff_s = backoff_s
        self._start_timeout_s = start_timeout_s
        self._rng = random.Random(seed)
        self._capabilities = VenueCapabilities(post_only=True, batch_cancel=False, cancel_all=True)
        self._queue: asyncio.Queue[VenueEvent | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._probe: asyncio.Task[None] | None = None
        self._channel: grpc.aio.Channel | None = None
        self._stub: Any = None
        self._closed = False
        self._health = StreamHealth({MARKET, ORDERS, CALLS})
        self._book = LocalBook()
        self._book_seq = 0
        self._last_book: BookSnapshot | None = None  # the latest book, re-sent after a reconnect
        self.sequences = {MARKET: Sequence(), ORDERS: Sequence()}
        self._acked, self._ended, self._fills = Recent(), Recent(), Recent()
        self.dropped: Counter[str] = Counter()  # venue data we could not use, by kind
        self.resubscribes: Counter[str] = Counter()  # by why
        self._log = log.bind(market=self._symbol)

    @property
    def instrument(self) -> Instrument:
        return self._instrument

    @property
    def capabilities(self) -> VenueCapabilities:
        return self._capabilities

    # ------------------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Connect, check the gateway's instrument against ours (``VenueMismatch``) and the token
        (``CredentialsRefused``), then subscribe to both streams."""
        options = list(KEEPALIVE)
        if self._credentials is None:
            self._channel = grpc.aio.insecure_channel(self._target, options=options)
        else:
            self._channel = grpc.aio.secure_channel(self._target, self._credentials, options=options)
        self._stub = venue_pb2_grpc.VenueStub(self._channel)  # type: ignore[no-untyped-call]

        def on_retry(exc: Exception, wait_s: float) -> None:
            self._log.warning("start_call_failed", error=str(exc), retry_in_s=wait_s)

        listed = await retried(
            lambda: self._unary(self._stub.Instruments, pb.InstrumentsRequest()),
            self._start_timeout_s,
            self._backoff_s[0],
            on_retry,
        )
        mine = [i for i in listed.instruments if i.symbol == self._symbol]
        if not mine:
            raise VenueMismatch(f"the gateway lists no instrument {self._symbol}")
        problems = tr.grid_problems(mine[0], self._instrument)
        if problems:
            raise VenueMismatch("; ".join(problems))
        await self.account()  # a call on our account: the token is tried
        self._health.delivered(CALLS)
        self._tasks = [
            asyncio.create_task(
                self._subscribe(MARKET, self._open_market, self._on_market), name="grpc:market"
            ),
            asyncio.create_task(
                self._subscribe(ORDERS, self._open_orders, self._on_orders), name="grpc:orders"
            ),
        ]

    async def close(self) -> None:
        self._closed = True
        tasks = [*self._tasks, *([self._probe] if self._probe else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._queue.put_nowait(None)
        if self._channel is not None:
            await self._channel.close()

    async def events(self) -> AsyncIterator[VenueEvent]:
        while True:
            event = await self._queue.get()
            if event is None:
                return
            yield event

    # ------------------------------------------------------------------------------ orders
    async def place(self, request: OrderRequest) -> None:
        message = tr.place_request(self._symbol, request)
        cid = request.client_order_id
        for attempt in range(self._place_attempts):
            try:
                reply = await self._stub.Place(message, timeout=self._call_timeout_s, metadata=self._metadata)
                break
            except grpc.aio.AioRpcError as exc:
                code = exc.code()
                if code is grpc.StatusCode.UNAVAILABLE:
                    self._requests_down(exc)
                if code in _RETRIED_PLACE and attempt + 1 < self._place_attempts:
                    wait_s = self._backoff(attempt)
                    self._log.info("place_retried", client_order_id=cid, error=code.name, retry_in_s=wait_s)
                    await asyncio.sleep(wait_s)
                    continue
                if code is grpc.StatusCode.INVALID_ARGUMENT:
                    raise OrderRejected(str(exc.details()), reason="invalid_order") from None
                raise _error(exc) from None
        self._on_place_reply(cid, reply)

    def _on_place_reply(self, cid: str, reply: pb.PlaceReply) -> None:
        if reply.status == pb.PlaceReply.REJECTED:
            reason = reply.reject_reason or "unknown"
            raise _REJECTS.get(reason, OrderRejected)(f"the gateway refused {cid}: {reason}", reason=reason)
        if reply.status == pb.PlaceReply.DUPLICATE:
            # An earlier attempt of ours was taken: that order is the one we placed.
            status = reply.order.status
            if status == pb.OrderReport.REJECTED:
                raise OrderRejected(f"the gateway refused {cid} (an earlier attempt)", reason="venue")
            self._log.info("place_was_taken_before", client_order_id=cid)
            self._ack(cid)
            if status == pb.OrderReport.CANCELLED:
                self._end(cid, "venue")
            return
        if reply.status != pb.PlaceReply.ACCEPTED:
            raise TransientVenueError(f"place {cid}: the gateway answered status {reply.status}")
        self._ack(cid)

    async def cancel(self, client_order_id: str) -> None:
        request = pb.CancelRequest(symbol=self._symbol, client_order_id=client_order_id)
        reply = await self._unary(self._stub.Cancel, request)
        if reply.status == pb.CancelReply.UNKNOWN_ORDER:
            raise UnknownOrder(f"the gateway has no open order {client_order_id}")
        if reply.status != pb.CancelReply.CANCELLED:
            raise TransientVenueError(f"cancel {client_order_id}: the gateway answered {reply.status}")
        self._end(client_order_id, "user")

    async def cancel_all(self) -> None:
        """Cancel every open order of ours (by tag) on this market; others' orders are left alone."""
        await cancel_ours(await self.open_orders(), self._tag, self.cancel)

    # ------------------------------------------------------------------------------ reconciliation
    async def open_orders(self) -> list[OpenOrder]:
        reply = await self._unary(self._stub.OpenOrders, pb.OpenOrdersRequest(symbol=self._symbol))
        return [o for o in (self._convert("open_order", tr.open_order, r) for r in reply.orders) if o]

    async def order_status(self, client_order_id: str) -> OrderReport:
        request = pb.OrderStatusRequest(symbol=self._symbol, client_order_id=client_order_id)
        reply = await self._unary(self._stub.OrderStatus, request)
        try:
            return tr.order_report(reply, client_order_id)
        except BadVenueData as exc:
            raise TransientVenueError(str(exc)) from None

    async def fills_since(self, since_ns: int) -> list[OwnFill]:
        request = pb.FillsSinceRequest(symbol=self._symbol, since_ns=since_ns)
        reply = await self._unary(self._stub.FillsSince, request)
        now = self._clock()
        fills = (self._convert("fill", tr.own_fill, self._instrument, f, now) for f in reply.fills)
        return [f for f in fills if f is not None]

    async def account(self) -> AccountSnapshot:
        reply = await self._unary(self._stub.Account, pb.AccountRequest())
        assets = (self._instrument.base, self._instrument.quote)
        try:
            return AccountSnapshot(tr.balances(reply.balances, assets))
        except BadVenueData as exc:
            raise TransientVenueError(str(exc)) from None

    async def _unary(self, rpc: Callable[..., Awaitable[Any]], request: Any) -> Any:
        try:
            return await rpc(request, timeout=self._call_timeout_s, metadata=self._metadata)
        except grpc.aio.AioRpcError as exc:
            if exc.code() is grpc.StatusCode.UNAVAILABLE:
                self._requests_down(exc)
            raise _error(exc) from None

    # ------------------------------------------------------------------------------ streams
    def _open_market(self) -> Any:
        request = pb.StreamMarketRequest(symbol=self._symbol, depth=max(self._levels, 1))
        return self._stub.StreamMarket(request, metadata=self._metadata)

    def _open_orders(self) -> Any:
        return self._stub.StreamOrders(pb.StreamOrdersRequest(symbol=self._symbol), metadata=self._metadata)

    async def _subscribe(
        self, stream: str, open_call: Callable[[], Any], handle: Callable[[Any], None]
    ) -> None:
        """Subscribe, read, check the sequence; subscribe again after any failure."""
        attempt = 0
        sequence = self.sequences[stream]
        while not self._closed:
            call = open_call()
            sequence.restart()
            try:
                while True:
                    async with asyncio.timeout(self._stale_after_s):
                        message = await call.read()
                    if message is grpc.aio.EOF:
                        raise StreamBroken("the gateway ended the stream")
                    sequence.check(message)
                    if sequence.changed:
                        sequence.changed = False
                        self._log.warning("gateway_session_changed", stream=stream, session=sequence.session)
                    handle(message)
                    attempt = 0
            except grpc.aio.AioRpcError as exc:
                failure = f"{exc.code().name}: {exc.details()}"
            except TimeoutError:
                failure = f"stale: no message for {self._stale_after_s:g} s"
            except (StreamBroken, BadVenueData) as exc:
                failure = str(exc)
            finally:
                call.cancel()
            self.resubscribes[failure.split(":")[0]] += 1
            self._down(stream, failure)
            await asyncio.sleep(self._backoff(attempt))
            attempt += 1

    def _on_market(self, message: pb.MarketMessage) -> None:
        kind = message.WhichOneof("body")
        now = self._clock()
        if kind == "snapshot":
            snapshot = message.snapshot
            self._book.reset(tr.levels(snapshot.bids, diff=False), tr.levels(snapshot.asks, diff=False))
            self._up(MARKET)
            self._publish_book(message.exchange_ts_ns, now)
        elif kind == "diff":
            diff = message.diff
            self._book.apply(tr.levels(diff.bids, diff=True), tr.levels(diff.asks, diff=True))
            self._publish_book(message.exchange_ts_ns, now)
        elif kind == "trade":
            trade = self._convert("trade", tr.public_trade, message.trade, message.exchange_ts_ns, now)
            if trade is not None:
                self._queue.put_nowait(trade)

    def _publish_book(self, exchange_ts_ns: int, now_ns: int) -> None:
        self._book_seq += 1
        bids, asks = self._book.top(self._levels)
        book = BookSnapshot(now_ns, exchange_ts_ns, self._book_seq, bids, asks)
        self._last_book = book
        if MARKET not in self._health.down:
            self._queue.put_nowait(book)

    def _on_orders(self, message: pb.OrderMessage) -> None:
        kind = message.WhichOneof("body")
        if kind == "snapshot":
            self._up(ORDERS)  # what is open is reconciled once every stream is back
        elif kind == "ack":
            self._ack(message.ack.client_order_id)
        elif kind == "cancelled":
            self._end(message.cancelled.client_order_id, message.cancelled.reason or "venue")
        elif kind == "fill":
            fill = self._convert("fill", tr.own_fill, self._instrument, message.fill, self._clock())
            if (
                fill is not None
                and fill.client_order_id.startswith(self._tag)
                and self._fills.add((fill.client_order_id, fill.trade_id))  # a self-trade: 2 fills, 1 id
            ):
                self._queue.put_nowait(fill)

    # ------------------------------------------------------------------------------ health
    def _down(self, what: str, failure: str) -> None:
        self._log.warning("gateway_link_failed", link=what, error=failure)
        if what == MARKET:
            self._last_book = None  # out of sync now: never the "fresh" book after a reconnect
        if self._health.failed(what):
            self._queue.put_nowait(Disconnected(self._clock(), f"{what}: {failure}"))

    def _up(self, what: str) -> None:
        if self._health.delivered(what):
            self._log.info("gateway_reconnected")
            self._queue.put_nowait(Connected(self._clock()))
            if self._last_book is not None and what != MARKET:
                # The market stream came back first and is in sync: its book is the fresh one.
                self._queue.put_nowait(self._last_book)

    def _requests_down(self, exc: grpc.aio.AioRpcError) -> None:
        """A call was answered UNAVAILABLE: quotes are pulled until a ping is answered."""
        if CALLS in self._health.down or self._closed:
            return
        self._down(CALLS, f"{exc.code().name}: {exc.details()}")
        self._probe = asyncio.get_running_loop().create_task(self._ping_until_up(), name="grpc:probe")

    async def _ping_until_up(self) -> None:
        attempt = 0
        while not self._closed:
            await asyncio.sleep(self._backoff(attempt))
            attempt += 1
            with contextlib.suppress(grpc.aio.AioRpcError):
                await self._stub.Ping(pb.PingRequest(), timeout=self._call_timeout_s, metadata=self._metadata)
                self._up(CALLS)
                return

    def _backoff(self, attempt: int) -> float:
        """Jittered exponential: between half and all of ``base * 2**attempt``, capped."""
        base, cap = self._backoff_s
        return min(cap, base * 2.0 ** min(attempt, 30)) * self._rng.uniform(0.5, 1.0)

    # ------------------------------------------------------------------------------ own events
    def _ack(self, cid: str) -> None:
        if cid.startswith(self._tag) and self._acked.add(cid):
            self._queue.put_nowait(OrderAccepted(self._clock(), cid))

    def _end(self, cid: str, reason: str) -> None:
        if cid.startswith(self._tag) and self._ended.add(cid):
            self._queue.put_nowait(OrderCancelled(self._clock(), cid, reason))

    def _convert(self, kind: str, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)``, or None (counted, logged) for data that does not fit."""
        try:
            return fn(*args)
        except BadVenueData as exc:
            self.dropped[kind] += 1
            self._log.warning("bad_venue_data", kind=kind, error=str(exc))
            return None


def _error(exc: grpc.aio.AioRpcError) -> VenueError:
    """A failed call in our error tree."""
    code, details = exc.code(), str(exc.details() or "")
    text = f"{code.name}: {details}"
    if code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
        return CredentialsRefused(f"the gateway refused our token ({text})")
    if code is grpc.StatusCode.NOT_FOUND:
        return UnknownOrder(text)
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED:
        return RateLimited(text, 1.0)
    if code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION):
        return VenueError(text)
    return TransientVenueError(text)
