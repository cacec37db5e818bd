"""``CcxtVenue``: the Venue port over a ccxt pro client (async REST and WebSockets), spot markets.

- Market data: ``watch_order_book`` (ccxt keeps the book in sync with the venue's diffs and raises
  on a sequence gap) and ``watch_trades``.
- Our orders' events and fills: the user-data stream (``watch_orders``, ``watch_my_trades``). The
  REST replies to place and cancel carry the same news, often first: each ack, end and fill is passed
  on once, from whichever arrives first (fills by the venue's trade id).
- Orders by REST with our client ids; post-only as the venue's post-only type. ccxt never retries
  (``ccxt_client.OPTIONS``); ccxt's errors are mapped once, in ``ccxt_errors``.
- Connection: when the book or the user-data stream fails (a dropped socket, a sequence gap), a
  ``Disconnected`` goes out and the stream is watched again after ``retry_delay_s``; once every
  stream is back, ``Connected``: the core reconciles and trusts only the next book.
- Rate limits: a 429 or 418 (a ban) emits ``Throttled`` until the venue's Retry-After; the core pulls
  its quotes until then. A place refused for rate is rejected (the venue did not take it).

Only orders whose client id starts with ``tag`` (the journal's) are passed on or cancelled by
``cancel_all``. Trade history for reconciliation is asked a day at a time (``ccxt_fills``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import ccxt.pro as ccxtpro
import structlog

from mm_bot.errors import TransientVenueError, UnknownOrder
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
    OrderStatus,
    OrderType,
    OwnFill,
    Side,
    Throttled,
    VenueCapabilities,
    VenueEvent,
)
from mm_bot.model import OrderRejected as OrderRejectedEvent
from mm_bot.venues import ccxt_translate as tr
from mm_bot.venues.ccxt_errors import VenueMismatch, retry_after_s, venue_error
from mm_bot.venues.ccxt_fills import FillHistory
from mm_bot.venues.ccxt_streams import ended_user_clients, wedged_clients
from mm_bot.venues.network import BadVenueData, Recent, StreamHealth, cancel_ours, retried

log = structlog.get_logger("mm_bot.venues.ccxt")

BOOK_STREAM, USER_STREAM, USER_TRADES = "book", "user", "user_trades"
# The user-data subscription feeds two watchers (orders, trades): each is up again only once it has
# subscribed again, so Connected never comes while one of them would still miss what the venue sends.


class CcxtVenue:
    def __init__(
        self,
        exchange: Any,
        instrument: Instrument,
        *,
        tag: str,
        clock_ns: Callable[[], int] = time.time_ns,
        book_levels: int = 20,
        snapshot_limit: int = 100,
        retry_delay_s: float = 0.5,
        start_timeout_s: float = 30.0,
        private: bool = True,
        user_check_s: float = 1.0,
    ) -> None:
        self._ex = exchange
        self._instrument = instrument
        self._symbol = instrument.symbol
        self._tag = tag
        self._clock = clock_ns
        self._levels = book_levels
        self._snapshot_limit = snapshot_limit
        self._retry_delay_s = retry_delay_s
        self._start_timeout_s = start_timeout_s
        self._capabilities = VenueCapabilities(post_only=True, batch_cancel=False, cancel_all=True)
        self._queue: asyncio.Queue[VenueEvent | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self._private = private
        self._user_check_s = user_check_s
        self._market_type = "spot"

        self._health = StreamHealth({BOOK_STREAM, USER_STREAM, USER_TRADES} if private else {BOOK_STREAM})
        self._last_book: BookSnapshot | None = None  # the latest book, re-sent after a reconnect
        self._chores: set[asyncio.Task[Any]] = set()  # client resets, clock resyncs
        self._resyncing = False
        self._acked, self._ended, self._fills = Recent(), Recent(), Recent()
        self._history = FillHistory(self._symbol)
        self._cid_by_order_id: OrderedDict[str, str] = OrderedDict()
        self.dropped: Counter[str] = Counter()  # venue data we could not use, by kind
        self._log = log.bind(market=self._symbol)

    @property
    def instrument(self) -> Instrument:
        return self._instrument

    @property
    def capabilities(self) -> VenueCapabilities:
        return self._capabilities

    @property
    def client(self) -> Any:
        """The ccxt exchange object, for inspection (benchmarks); the venue owns and closes it."""
        return self._ex

    # ------------------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Load the market (refused if it does not match the instrument), check the credentials with a
        signed call, and start watching the streams. ``private=False``: market data only (no keys)."""
        markets = await self._retried(self._ex.load_markets, "load_markets")
        market = markets.get(self._symbol)
        if market is None:
            raise VenueMismatch(f"the venue lists no market {self._symbol}")
        self._check_grid(market)
        self._market_type = str(market.get("type") or "spot")
        loops: tuple[Callable[[], Coroutine[Any, Any, None]], ...] = (self._watch_book, self._watch_trades)
        if self._private:
            await self._retried(self._ex.fetch_balance, "fetch_balance")
            loops += (self._watch_orders, self._watch_my_trades, self._supervise_user_stream)
        self._tasks = [asyncio.create_task(loop(), name=f"ccxt:{loop.__name__}") for loop in loops]

    async def _retried(self, call: Callable[[], Awaitable[Any]], what: str) -> Any:
        """A start-up call, tried again after transient failures (``ccxt_errors.retried``)."""

        def log(exc: Exception, wait_s: float) -> None:
            self._log.warning("start_call_failed", call=what, error=_describe(exc), retry_in_s=wait_s)

        return await retried(lambda: self._call(call()), self._start_timeout_s, self._retry_delay_s, log)

    async def close(self) -> None:
        self._closed = True
        for task in [*self._tasks, *self._chores]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._chores, return_exceptions=True)
        self._queue.put_nowait(None)
        with contextlib.suppress(Exception):
            await self._ex.close()

    async def events(self) -> AsyncIterator[VenueEvent]:
        while True:
            event = await self._queue.get()
            if event is None:
                return
            yield event

    # ------------------------------------------------------------------------------ orders
    async def place(self, request: OrderRequest) -> None:
        inst = self._instrument
        params: dict[str, Any] = {"clientOrderId": request.client_order_id}
        kind, price = "limit", float(inst.price_str(request.price_ticks))
        if request.order_type is OrderType.POST_ONLY:
            params["postOnly"] = True
        elif request.order_type is OrderType.IOC:
            params["timeInForce"] = "IOC"
        elif request.order_type is OrderType.MARKET:
            kind = "market"
        side = "buy" if request.side is Side.BUY else "sell"
        amount = float(inst.qty_str(request.qty_lots))
        order = await self._call(
            self._ex.create_order(
                self._symbol, kind, side, amount, None if kind == "market" else price, params
            ),
            placing=True,
        )
        for trade in order.get("trades") or ():
            # An immediate match's fills come with the reply, without side or liquidity: ours, taken.
            self._on_fill({**trade, "side": side, "takerOrMaker": "taker"}, request.client_order_id)
        self._on_order(order, request.client_order_id)  # after its fills: an IOC's end follows them

    async def cancel(self, client_order_id: str) -> None:
        order = await self._call(
            self._ex.cancel_order(None, self._symbol, {"clientOrderId": client_order_id})
        )
        self._on_order(order, client_order_id)

    async def cancel_all(self) -> None:
        """Cancel every open order of ours (by tag) on this market; others' orders are left alone."""
        await cancel_ours(await self.open_orders(), self._tag, self.cancel)

    # ------------------------------------------------------------------------------ reconciliation
    async def open_orders(self) -> list[OpenOrder]:
        orders = await self._call(self._ex.fetch_open_orders(self._symbol))
        out = []
        for order in orders:
            self._remember(order)
            converted = self._convert("open_order", tr.open_order, order)
            if converted is not None:
                out.append(converted)
        return out

    async def order_status(self, client_order_id: str) -> OrderReport:
        try:
            order = await self._call(
                self._ex.fetch_order(None, self._symbol, {"clientOrderId": client_order_id})
            )
        except UnknownOrder:
            return OrderReport(client_order_id, OrderStatus.NOT_FOUND)
        self._remember(order)
        try:
            return tr.order_report(self._instrument, order, client_order_id)
        except BadVenueData as exc:
            raise TransientVenueError(f"order {client_order_id}: {exc}") from None

    async def fills_since(self, since_ns: int) -> list[OwnFill]:
        """Our fills at or after ``since_ns``, each with its order's client id (``ccxt_fills``)."""
        return await self._history.since(since_ns, self._clock(), self._fills_between)

    async def _fills_between(self, start_ms: int, end_ms: int) -> list[OwnFill]:
        """One window of our fills (both ends inclusive), page by page."""
        seen: set[tuple[str, str]] = set()  # (order id, trade id): a self-trade is one trade, two fills
        out: list[OwnFill] = []
        while True:
            query = {"endTime": end_ms}
            trades = await self._call(self._ex.fetch_my_trades(self._symbol, start_ms, 1000, query))
            fresh = [t for t in trades if (str(t.get("order")), str(t.get("id"))) not in seen]
            for trade in fresh:
                seen.add((str(trade.get("order")), str(trade.get("id"))))
                cid = await self._client_id_of_order(str(trade.get("order")))
                fill = self._convert("fill", tr.own_fill, trade, cid, self._clock()) if cid else None
                if fill is not None:
                    out.append(fill)
            if len(trades) < 1000 or not fresh:
                return out
            start_ms = max(int(t.get("timestamp") or start_ms) for t in trades)

    async def account(self) -> AccountSnapshot:
        balance = await self._call(self._ex.fetch_balance())
        return AccountSnapshot(tr.balances(balance, [self._instrument.base, self._instrument.quote]))

    # ------------------------------------------------------------------------------ streams
    async def _watch_book(self) -> None:
        await self._watch(BOOK_STREAM, self._book_once)

    async def _book_once(self) -> None:
        book = await self._ex.watch_order_book(self._symbol, self._snapshot_limit)
        snapshot = self._convert("book", tr.book_snapshot, book, self._levels, self._clock())
        if snapshot is not None:
            self._last_book = snapshot
        self._up(BOOK_STREAM)
        if snapshot is not None:
            self._queue.put_nowait(snapshot)

    async def _watch_trades(self) -> None:
        # Trades feed the estimators only: a failure is retried without pulling quotes.
        while not self._closed:
            try:
                trades = await self._ex.watch_trades(self._symbol)
            except Exception as exc:
                self._log.warning("trade_stream_failed", error=_describe(exc))
                await asyncio.sleep(self._retry_delay_s)
                continue
            for trade in trades:
                event = self._convert("trade", tr.public_trade, trade, self._clock())
                if event is not None:
                    self._queue.put_nowait(event)

    async def _watch_orders(self) -> None:
        await self._watch(USER_STREAM, self._orders_once)

    async def _orders_once(self) -> None:
        await self._authenticate()
        self._up(USER_STREAM)
        for order in await self._ex.watch_orders(self._symbol):
            cid = tr.client_id_of(order)
            if cid is not None:
                self._on_order(order, cid)

    async def _watch_my_trades(self) -> None:
        await self._watch(USER_TRADES, self._trades_once)

    async def _trades_once(self) -> None:
        await self._authenticate()
        self._up(USER_TRADES)
        for trade in await self._ex.watch_my_trades(self._symbol):
            cid = tr.trade_client_id(trade)
            if cid is not None:
                self._on_fill(trade, cid)

    async def _authenticate(self) -> None:
        """The user-data subscription (ccxt's ``authenticate``), bounded in time."""
        try:
            async with asyncio.timeout(self._start_timeout_s):
                await self._ex.authenticate()
        except TimeoutError:
            raise TransientVenueError("the user-data subscription was not answered") from None

    async def _watch(self, stream: str, once: Callable[[], Awaitable[None]]) -> None:
        """Run ``once`` forever; a failure marks ``stream`` down until it delivers again. A rate limit
        or ban is waited out (and said: ``Throttled``) before the next try."""
        while not self._closed:
            try:
                await once()
                continue
            except asyncio.CancelledError as exc:
                task = asyncio.current_task()
                if task is None or task.cancelling():
                    raise  # we are being stopped
                failure: BaseException = exc  # ccxt cancelled its future: it closed that socket
            except Exception as exc:
                failure = exc
            self._stream_down(stream, failure)
            wait_s = self._retry_delay_s
            if isinstance(failure, ccxtpro.DDoSProtection | ccxtpro.RateLimitExceeded):
                wait_s = max(wait_s, retry_after_s(self._ex))
                now = self._clock()
                self._queue.put_nowait(Throttled(now, now + int(wait_s * 1e9), _describe(failure)))
            await asyncio.sleep(wait_s)

    def _stream_down(self, stream: str, exc: BaseException) -> None:
        self._log.warning("stream_failed", stream=stream, error=_describe(exc))
        if stream == BOOK_STREAM:
            self._last_book = None  # out of sync now: never the "fresh" book after a reconnect
        else:
            for url, client in wedged_clients(self._ex):
                self._log.info("ws_client_reset", url=url)
                del self._ex.clients[url]
                self._background(client.close())
        if self._health.failed(stream):
            self._queue.put_nowait(Disconnected(self._clock(), f"{stream}: {_describe(exc)}"))

    async def _resync_clock(self) -> None:
        try:
            await self._ex.load_time_difference()
            self._log.info("clock_offset_measured", offset_ms=self._ex.options.get("timeDifference"))
        except Exception as exc:
            self._log.warning("clock_offset_failed", error=_describe(exc))
        finally:
            self._resyncing = False

    async def _supervise_user_stream(self) -> None:
        """Close the user-data client once the venue has ended its subscription (``ccxt_streams``)."""
        while not self._closed:
            await asyncio.sleep(self._user_check_s)
            for url, client in ended_user_clients(self._ex, self._market_type):
                self._log.warning("user_stream_ended", url=url)
                del self._ex.clients[url]
                await client.close()

    def _background(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    def _up(self, stream: str) -> None:
        if self._health.delivered(stream):
            self._log.info("streams_reconnected")
            self._queue.put_nowait(Connected(self._clock()))
            if self._last_book is not None and stream != BOOK_STREAM:
                # The book stream came back first and is in sync: its book is the fresh one.
                self._queue.put_nowait(self._last_book)

    # ------------------------------------------------------------------------------ own events
    def _on_order(self, order: dict[str, Any], cid: str) -> None:
        """An order's state from a reply or the stream: its ack and its end, each passed on once."""
        self._remember(order)
        if not cid.startswith(self._tag):
            return
        status = order.get("status")
        now = self._clock()
        if status in ("open", "closed") and self._acked.add(cid):
            self._queue.put_nowait(OrderAccepted(now, cid))
        elif status in ("canceled", "expired") and self._ended.add(cid):
            reason = "user" if status == "canceled" else "expired"
            self._queue.put_nowait(OrderCancelled(now, cid, reason))
        elif status == "rejected" and self._ended.add(cid):
            self._queue.put_nowait(OrderRejectedEvent(now, cid, "venue"))

    def _on_fill(self, trade: dict[str, Any], cid: str) -> None:
        trade_id = str(trade.get("id") or "")
        # A trade id alone is not a fill: a self-trade gives both of our orders the same one.
        if not cid.startswith(self._tag) or not trade_id or not self._fills.add((cid, trade_id)):
            return
        fill = self._convert("fill", tr.own_fill, trade, cid, self._clock())
        if fill is not None:
            self._queue.put_nowait(fill)

    def _remember(self, order: dict[str, Any]) -> None:
        order_id, cid = order.get("id"), tr.client_id_of(order)
        if order_id is not None and cid is not None:
            self._cid_by_order_id[str(order_id)] = cid
            if len(self._cid_by_order_id) > 100_000:
                self._cid_by_order_id.popitem(last=False)

    async def _client_id_of_order(self, order_id: str) -> str | None:
        cid = self._cid_by_order_id.get(order_id)
        if cid is None:
            try:
                order = await self._call(self._ex.fetch_order(order_id, self._symbol))
            except UnknownOrder:
                return None
            self._remember(order)
            cid = tr.client_id_of(order)
        return cid

    # ------------------------------------------------------------------------------ helpers
    def _convert(self, kind: str, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(instrument, *args)``, or None (counted, logged) for data that does not fit."""
        try:
            return fn(self._instrument, *args)
        except (BadVenueData, KeyError, TypeError, ValueError, ArithmeticError) as exc:
            self.dropped[kind] += 1
            self._log.warning("bad_venue_data", kind=kind, error=str(exc))
            return None

    def _check_grid(self, market: dict[str, Any]) -> None:
        precision = market.get("precision") or {}
        inst = self._instrument
        for name, configured in (("price", inst.tick_size), ("amount", inst.lot_size)):
            venue = precision.get(name)
            if venue is None or abs(float(venue) - float(configured)) > 1e-12 * float(configured):
                what = "tick_size" if name == "price" else "lot_size"
                raise VenueMismatch(f"{what} is {configured} but the venue's {self._symbol} has {venue}")

    async def _call(self, awaitable: Awaitable[Any], *, placing: bool = False) -> Any:
        try:
            return await awaitable
        except ccxtpro.BaseError as exc:
            wait_s = retry_after_s(self._ex)
            error = venue_error(exc, placing=placing, retry_after_s=wait_s)
            if isinstance(exc, ccxtpro.DDoSProtection | ccxtpro.RateLimitExceeded):
                now = self._clock()
                self._queue.put_nowait(Throttled(now, now + int(wait_s * 1e9), str(error)))
            elif isinstance(exc, ccxtpro.InvalidNonce) and not self._resyncing:
                # Our timestamps fall outside the venue's window: the clock offset ccxt measured at
                # start is stale (the host clock was corrected). Measure it again.
                self._resyncing = True
                self._background(self._resync_clock())
            raise error from exc


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
