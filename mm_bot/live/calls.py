"""Venue calls for one market: each command the core emits becomes one awaited call whose outcome goes
back to the core as an event. A command's call must end by its deadline (the request timeout from
when the core emitted it, waiting for a free slot included), so a lookup one timeout after an order
was emitted cannot race the order's own request. No call raises for a venue failure:

- ``place``: refused -> ``OrderRejected``; timed out or failed in transit -> ``PlaceUnknown`` (the
  order may exist; the core looks it up, nothing is resent);
- ``cancel``: the venue does not have the order open -> ``CancelRejected("unknown_order")``; timed
  out or failed -> ``CancelFailed`` (the core chases it);
- ``query``: the ``OrderReport``, or None if the lookup failed -> ``OrderStatusResult``;
- ``reconcile``: open orders, our fills since a point and balances -> ``ReconcileResult`` (None if
  any part failed);
- ``not_sent``: the deadline passed before the call could start -> a place is refused
  (``not_sent``: it never left), a cancel failed, a lookup or reconciliation failed.

A rate limit (``RateLimited``: a 429, or a 418 ban, on a call or, as ``Throttled``, on a stream)
silences every call until its ``Retry-After`` has passed (``wait_quiet``): a venue lengthens a ban
for a client that keeps asking. A command whose deadline falls inside that time is not sent.

Every call's round trip goes to the request histogram, every failure to the venue-error counter.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog

from mm_bot.engine.core_types import (
    Cancel,
    CancelFailed,
    Command,
    OrderStatusResult,
    Place,
    PlaceUnknown,
    QueryOrder,
    Reconcile,
    ReconcileResult,
)
from mm_bot.engine.market import Event
from mm_bot.errors import OrderRejected, RateLimited, UnknownOrder, VenueError
from mm_bot.metrics import MarketMetrics
from mm_bot.model import CancelRejected, VenueReport
from mm_bot.model import OrderRejected as OrderRejectedEvent
from mm_bot.venues.base import Venue

log = structlog.get_logger("mm_bot.runner")
_T = TypeVar("_T")
_POLL_S = 0.25  # the backstop's listing of open orders, between cancel-alls (a weight-6 call on Binance)


class VenueCalls:
    def __init__(
        self,
        venue: Venue,
        feed: Callable[[Event], None],
        *,
        clock_ns: Callable[[], int],
        timeout_s: float,
        tag: str,
        metrics: MarketMetrics | None,
    ) -> None:
        self.venue = venue
        self._feed = feed
        self._clock = clock_ns
        self._timeout_s = timeout_s
        self._tag = tag  # our client order ids start with it: the backstop counts only ours
        self._metrics = metrics
        self._log = log.bind(market=venue.instrument.symbol)
        self._quiet_until = 0.0  # the event loop's time until which the venue asked us to wait

    def hold(self, seconds: float) -> None:
        """The venue asked us to wait ``seconds`` (a rate limit seen on a stream: ``Throttled``)."""
        until = asyncio.get_running_loop().time() + seconds
        self._quiet_until = max(self._quiet_until, until)

    def quiet_left_s(self) -> float:
        """How long the venue's ``Retry-After`` still runs (0: it does not)."""
        return max(0.0, self._quiet_until - asyncio.get_running_loop().time())

    async def wait_quiet(self, deadline: float) -> bool:
        """Wait out the venue's ``Retry-After``, if one is running; False (and no wait) if it lasts
        past ``deadline``."""
        if (left := self.quiet_left_s()) == 0.0:
            return True
        if self._quiet_until >= deadline:
            return False
        await asyncio.sleep(left)
        return True

    async def call(self, op: str, awaitable: Awaitable[_T], deadline: float | None = None) -> _T:
        """One venue call, ended at ``deadline`` (the event loop's clock; default: the request timeout
        from now); its round trip goes to the histogram."""
        t0 = time.perf_counter_ns()
        if deadline is None:
            deadline = asyncio.get_running_loop().time() + self._timeout_s
        try:
            async with asyncio.timeout_at(deadline):
                return await awaitable
        except RateLimited as exc:
            self.hold(exc.retry_after_s)
            raise
        finally:
            if self._metrics is not None:
                self._metrics.observe_request(op, (time.perf_counter_ns() - t0) / 1e9)

    async def run(self, command: Command, deadline: float) -> None:
        """The call for ``command``, ended at ``deadline``; its outcome is fed back as an event."""
        if isinstance(command, Place):
            await self.place(command, deadline)
        elif isinstance(command, Cancel):
            await self.cancel(command, deadline)
        elif isinstance(command, QueryOrder):
            await self.query(command, deadline)
        else:
            await self.reconcile(command, deadline)

    def not_sent(self, command: Command) -> None:
        """``command``'s deadline passed before its call could start: say so as its outcome."""
        now = self._clock()
        if isinstance(command, Place):
            self._feed(OrderRejectedEvent(now, command.request.client_order_id, "not_sent"))
        elif isinstance(command, Cancel):
            self._feed(CancelFailed(now, command.client_order_id, "not_sent"))
        elif isinstance(command, QueryOrder):
            self._feed(OrderStatusResult(now, command.client_order_id, None))
        else:
            self._feed(ReconcileResult(now, None))

    async def place(self, command: Place, deadline: float | None = None) -> None:
        cid = command.request.client_order_id
        try:
            await self.call("place", self.venue.place(command.request), deadline)
        except OrderRejected as exc:
            self._feed(OrderRejectedEvent(self._clock(), cid, exc.reason))
        except (TimeoutError, VenueError) as exc:
            self._failed("place", exc, cid)
            self._feed(PlaceUnknown(self._clock(), cid, _describe(exc)))
        else:
            if self._metrics is not None:
                self._metrics.order_sent(command.request.side)

    async def cancel(self, command: Cancel, deadline: float | None = None) -> None:
        cid = command.client_order_id
        try:
            await self.call("cancel", self.venue.cancel(cid), deadline)
        except UnknownOrder:
            self._feed(CancelRejected(self._clock(), cid, "unknown_order"))
        except (TimeoutError, VenueError) as exc:
            self._failed("cancel", exc, cid)
            self._feed(CancelFailed(self._clock(), cid, _describe(exc)))
        else:
            if self._metrics is not None:
                self._metrics.cancel_sent(command.side)

    async def query(self, command: QueryOrder, deadline: float | None = None) -> None:
        cid = command.client_order_id
        try:
            report = await self.call("order_status", self.venue.order_status(cid), deadline)
        except (TimeoutError, VenueError) as exc:
            self._failed("order_status", exc, cid)
            self._feed(OrderStatusResult(self._clock(), cid, None))
        else:
            self._feed(OrderStatusResult(self._clock(), cid, report))

    async def reconcile(self, command: Reconcile, deadline: float | None = None) -> None:
        requested = self._clock()
        venue = self.venue
        try:
            open_orders = tuple(await self.call("open_orders", venue.open_orders(), deadline))
            fills = tuple(await self.call("fills_since", venue.fills_since(command.fills_since_ns), deadline))
            balances = (await self.call("account", venue.account(), deadline)).balances
        except (TimeoutError, VenueError) as exc:
            self._failed("reconcile", exc)
            self._feed(ReconcileResult(self._clock(), None))
        else:
            self._feed(ReconcileResult(self._clock(), VenueReport(requested, open_orders, fills, balances)))

    async def count_open(self) -> int | None:
        """How many of our orders (by client id tag) the venue lists; None if it cannot say."""
        try:
            listed = await self.call("open_orders", self.venue.open_orders())
            return sum(o.client_order_id.startswith(self._tag) for o in listed)
        except (TimeoutError, VenueError) as exc:
            self._failed("open_orders", exc)
            return None

    async def cancel_all_until_gone(self, timeout_s: float, patience_s: float = 0.0) -> int | None:
        """``cancel_all`` at the venue, sent again every second until the venue lists none of our
        orders or ``timeout_s`` is up (0: once). Returns what the venue still lists (None: it could
        not be asked). Up to ``patience_s`` in all spent waiting out the venue's ``Retry-After`` does
        not count against ``timeout_s``; a longer wait is not made."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        patience_left = patience_s

        async def quiet() -> bool:
            nonlocal deadline, patience_left
            wait_s = self.quiet_left_s()
            if 0.0 < wait_s <= patience_left:
                patience_left -= wait_s
                deadline += wait_s
            return await self.wait_quiet(deadline)

        while True:
            if not await quiet():
                return None
            try:
                await self.call("cancel_all", self.venue.cancel_all())
            except (TimeoutError, VenueError) as exc:
                self._failed("cancel_all", exc)
            resend = loop.time() + 1.0
            while True:
                if not await quiet():
                    return None
                still_open = await self.count_open()
                if still_open == 0 or loop.time() >= deadline:
                    return still_open
                if loop.time() >= resend:
                    break
                await asyncio.sleep(_POLL_S)

    def _failed(self, op: str, exc: BaseException, cid: str | None = None) -> None:
        self._log.warning(f"{op}_failed", cid=cid, error=_describe(exc))
        if self._metrics is not None:
            self._metrics.venue_error(op)


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
