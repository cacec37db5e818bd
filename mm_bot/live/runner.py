"""The async loop of one market: the only code that awaits a venue.

A pump task moves venue events into a queue. The loop takes one event at a time (or a timer tick),
hands it to the sans-IO ``MarketCore``, journals what changed, and starts the venue calls the core
asked for as tasks, so the loop keeps consuming events while requests are on the network:

- at most ``max_in_flight`` requests run at once per market; each has a timeout;
- every outcome comes back to the core as an event: a refused order as ``OrderRejected``, a place
  that timed out or failed in transit as ``PlaceUnknown`` (never resent: the core looks it up), a
  cancel likewise as ``CancelFailed`` (the core chases it), lookups and reconciliation reports as
  their results;
- an order's intent is committed to the journal before its request starts; if the journal cannot
  be written the market stops trading (``JournalError`` is raised after the orders are cancelled).

``run(stop)`` trades until ``stop`` is set or the kill switch fires, then cancels every own order
within ``shutdown_timeout_s`` and returns how many the venue still lists.

Decision latency is measured from the moment the pump received the event to the moment the first
venue call it caused is issued (journal write included); each request's round trip goes to the
request histogram.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

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
    Tick,
)
from mm_bot.engine.market import Event, MarketCore
from mm_bot.engine.orders import Order
from mm_bot.engine.reasons import Action, Reason
from mm_bot.errors import KillSwitch, OrderRejected, UnknownOrder, VenueError
from mm_bot.journal import Journal, JournalError
from mm_bot.metrics import MarketMetrics
from mm_bot.model import (
    BookSnapshot,
    CancelRejected,
    Connected,
    Disconnected,
    OwnFill,
    PublicTrade,
    Resynced,
    Side,
    VenueReport,
)
from mm_bot.model import (
    OrderRejected as OrderRejectedEvent,
)
from mm_bot.venues.base import Venue

log = structlog.get_logger("mm_bot.runner")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class RunnerSettings:
    refresh_interval_s: float = 0.5  # requote on this timer too, not only on events
    request_timeout_s: float = 5.0
    max_in_flight: int = 4
    shutdown_timeout_s: float = 5.0


class MarketRunner:
    def __init__(
        self,
        core: MarketCore,
        venue: Venue,
        *,
        clock_ns: Callable[[], int],
        journal: Journal | None = None,
        metrics: MarketMetrics | None = None,
        settings: RunnerSettings = RunnerSettings(),
        latency_samples: int = 200_000,
    ) -> None:
        self.core = core
        self.venue = venue
        self.symbol = core.instrument.symbol
        self.settings = settings
        self._clock = clock_ns
        self._journal = journal
        self._metrics = metrics
        self._queue: asyncio.Queue[tuple[int, Event]] = asyncio.Queue()
        self._slots = asyncio.Semaphore(settings.max_in_flight)
        self._tg: asyncio.TaskGroup  # set by run(): requests are its tasks
        self._in_flight = 0  # requests started and not finished
        self._journal_failure: JournalError | None = None
        self.still_open: int | None = None  # orders the venue listed after the run ended
        self._day = core.risk.day
        self._baseline = dict(core.baseline)
        self.decision_latency_ns: deque[int] = deque(maxlen=latency_samples)
        self._log = log.bind(market=self.symbol)
        if metrics is not None:
            metrics.watch(decisions=core.stats.decisions, dropped=core.book.dropped)

    # ------------------------------------------------------------------------------ main loop
    async def run(self, stop: asyncio.Event) -> int | None:
        """Trade until ``stop`` is set, then cancel every own order (bounded); return how many the venue
        still lists. Raises ``KillSwitch`` or ``JournalError`` after that cleanup if one stopped it; on
        any other error, cancels all own orders at the venue (bounded) and re-raises."""
        failure: KillSwitch | JournalError | None = None
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                pump = tg.create_task(self._pump(), name=f"pump:{self.symbol}")
                try:
                    await self._trade(stop, pump)
                except (KillSwitch, JournalError) as exc:
                    failure = exc
                self.still_open = await self._shutdown(pump)
                pump.cancel()
        except Exception:
            # Something broke (a bug, a dead stream): leave the core aside, cancel at the venue and
            # wait, bounded, until it lists nothing of ours.
            self.still_open = await self._cancel_all_backstop(wait=True)
            raise
        if failure is not None:
            raise failure
        return self.still_open

    async def _pump(self) -> None:
        async for event in self.venue.events():
            self._queue.put_nowait((time.perf_counter_ns(), event))

    async def _trade(self, stop: asyncio.Event, pump: asyncio.Task[None]) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        self._execute(self.core.start(self._clock()), None)
        try:
            while not stop.is_set():
                received_ns, event = await self._next_event(stopping, pump)
                self._step(event, received_ns)
                if self._journal_failure is not None:
                    raise self._journal_failure
                if self.core.kill_reason is not None:
                    raise KillSwitch(self.core.kill_reason)
        finally:
            stopping.cancel()

    async def _next_event(self, *also: asyncio.Future[Any]) -> tuple[int, Event]:
        """The next event, or a timer tick: after the refresh interval, when the core's own next timer
        (a chase, a reconciliation) is due, or when one of ``also`` completes (stop, the pump ending)."""
        queue = self._queue
        if not queue.empty():
            return queue.get_nowait()
        wait_s = self.settings.refresh_interval_s
        due_ns = self.core.next_timer_ns()
        if due_ns is not None:
            wait_s = max(0.0, min(wait_s, (due_ns - self._clock()) / 1e9))
        getter = asyncio.ensure_future(queue.get())
        done, _ = await asyncio.wait({getter, *also}, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
        if getter not in done:
            getter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await getter
        if getter.done() and not getter.cancelled():
            return getter.result()
        for fut in done:
            if fut is not getter and fut.done() and not fut.cancelled() and fut.exception() is not None:
                raise fut.exception()  # type: ignore[misc]  # the pump failed: the venue stream is broken
        return time.perf_counter_ns(), Tick(self._clock())

    def _step(self, event: Event, received_ns: int | None) -> None:
        """One event through the core; journal and export what changed; start the requests."""
        commands = self.core.on_event(event, self._clock())
        self._after(event, commands)
        self._execute(commands, received_ns)

    # ------------------------------------------------------------------------------ requests
    def _execute(self, commands: list[Command], received_ns: int | None) -> None:
        for command in commands:
            if isinstance(command, Place):
                if not self._journal_intent(command):
                    continue
                self._spawn(self._place(command), received_ns)
            elif isinstance(command, Cancel):
                self._spawn(self._cancel(command), received_ns)
            elif isinstance(command, QueryOrder):
                self._spawn(self._query(command), received_ns)
            else:
                self._spawn(self._reconcile(command), None)
            received_ns = None  # the latency is to the first request an event caused

    def _journal_intent(self, command: Place) -> bool:
        """Commit the order's intent before it is sent; False (the order is not sent) if the journal
        failed, now or earlier: the core then sees the order refused here."""
        if self._journal is not None and self._journal_failure is None:
            try:
                self._journal.record_order_intent(command.request, self.symbol, self._clock())
            except JournalError as exc:
                self._journal_failed(exc)
        if self._journal_failure is None:
            return True
        self._feed(OrderRejectedEvent(self._clock(), command.request.client_order_id, "journal_failed"))
        return False

    def _journal_failed(self, exc: JournalError) -> None:
        if self._journal_failure is None:
            self._journal_failure = exc
            self._log.error("journal_write_failed", error=str(exc))
            self.core.halt(Reason.JOURNAL_FAILED)

    def _spawn(self, call: Coroutine[Any, Any, None], received_ns: int | None) -> None:
        self._in_flight += 1
        self._tg.create_task(self._request(call, received_ns), name=f"request:{self.symbol}")

    async def _request(self, call: Coroutine[Any, Any, None], received_ns: int | None) -> None:
        try:
            async with self._slots:
                t0 = time.perf_counter_ns()
                if received_ns is not None:
                    self.decision_latency_ns.append(t0 - received_ns)
                    if self._metrics is not None:
                        self._metrics.observe_decision_latency((t0 - received_ns) / 1e9)
                await call
        finally:
            self._in_flight -= 1

    async def _call(self, op: str, awaitable: Awaitable[_T]) -> _T:
        """One venue call under the request timeout; its round trip goes to the histogram."""
        t0 = time.perf_counter_ns()
        try:
            async with asyncio.timeout(self.settings.request_timeout_s):
                return await awaitable
        finally:
            if self._metrics is not None:
                self._metrics.observe_request(op, (time.perf_counter_ns() - t0) / 1e9)

    def _feed(self, event: Event) -> None:
        """A request's outcome goes through the same queue as venue events."""
        self._queue.put_nowait((time.perf_counter_ns(), event))

    async def _place(self, command: Place) -> None:
        cid = command.request.client_order_id
        try:
            await self._call("place", self.venue.place(command.request))
        except OrderRejected as exc:
            self._feed(OrderRejectedEvent(self._clock(), cid, exc.reason))
        except (TimeoutError, VenueError) as exc:
            self._log.warning("place_unknown", cid=cid, error=_describe(exc))
            self._venue_error("place")
            self._feed(PlaceUnknown(self._clock(), cid, _describe(exc)))
        else:
            if self._metrics is not None:
                self._metrics.order_sent(command.request.side)

    async def _cancel(self, command: Cancel) -> None:
        cid = command.client_order_id
        try:
            await self._call("cancel", self.venue.cancel(cid))
        except UnknownOrder:
            self._feed(CancelRejected(self._clock(), cid, "unknown_order"))
        except (TimeoutError, VenueError) as exc:
            self._log.warning("cancel_failed", cid=cid, error=_describe(exc))
            self._venue_error("cancel")
            self._feed(CancelFailed(self._clock(), cid, _describe(exc)))
        else:
            if self._metrics is not None:
                self._metrics.cancel_sent(command.side)

    async def _query(self, command: QueryOrder) -> None:
        cid = command.client_order_id
        try:
            report = await self._call("order_status", self.venue.order_status(cid))
        except (TimeoutError, VenueError) as exc:
            self._log.warning("order_status_failed", cid=cid, error=_describe(exc))
            self._venue_error("order_status")
            self._feed(OrderStatusResult(self._clock(), cid, None))
        else:
            self._feed(OrderStatusResult(self._clock(), cid, report))

    async def _reconcile(self, command: Reconcile) -> None:
        requested = self._clock()
        try:
            open_orders = tuple(await self._call("open_orders", self.venue.open_orders()))
            fills = tuple(await self._call("fills_since", self.venue.fills_since(command.fills_since_ns)))
            balances = (await self._call("account", self.venue.account())).balances
        except (TimeoutError, VenueError) as exc:
            self._log.warning("reconcile_failed", error=_describe(exc))
            self._venue_error("reconcile")
            self._feed(ReconcileResult(self._clock(), None))
        else:
            self._feed(ReconcileResult(self._clock(), VenueReport(requested, open_orders, fills, balances)))

    def _venue_error(self, op: str) -> None:
        if self._metrics is not None:
            self._metrics.venue_error(op)

    # --------------------------------------------------------------------- bookkeeping (after)
    def _after(self, event: Event, commands: list[Command]) -> None:
        """Journal what the event changed, then export and log it."""
        core, m, now = self.core, self._metrics, self._clock()
        orders, fills = core.changes()
        j = self._journal if self._journal_failure is None else None
        try:
            self._journal_changes(j, orders, fills, now)
        except JournalError as exc:
            self._journal_failed(exc)
            j = None
        self._report(event, commands, fills, j, now)
        if m is not None:
            self._export(m, event, orders, fills)

    def _journal_changes(
        self, j: Journal | None, orders: list[Order], fills: list[OwnFill], now: int
    ) -> None:
        core = self.core
        if j is not None:
            for fill in fills:
                j.record_fill(fill, core.instrument)
            for order in orders:
                j.update_order_state(order.client_order_id, order.state, now, order.reason)
            if core.risk.day != self._day and core.risk.day >= 0:
                self._day = core.risk.day
                j.set_day_baseline(self.symbol, core.risk.day, core.risk.day_start_pnl, now)
            if core.baseline != self._baseline:
                self._baseline = dict(core.baseline)
                j.set_starting_balances(self.symbol, core.baseline, now)

    def _report(
        self, event: Event, commands: list[Command], fills: list[OwnFill], j: Journal | None, now: int
    ) -> None:
        """Decisions to the journal (sampled: those that did something) and the logs."""
        core = self.core
        # A replace is two commands carrying one decision: record it once.
        decisions = [
            c.decision
            for c in commands
            if isinstance(c, Place) or (isinstance(c, Cancel) and c.decision.action is not Action.REPLACE)
        ]
        for d in decisions:
            if j is not None:
                try:
                    j.record_decision(
                        now, self.symbol, d.side, d.action.value, d.reason.value, d.price_ticks or None
                    )
                except JournalError as exc:
                    self._journal_failed(exc)
                    j = None
            self._log.debug("decision_made", side=d.side.label, decision=d.label, price_ticks=d.price_ticks)
        for fill in fills:
            self._log.info(
                "fill_received",
                side=fill.side.label,
                price_ticks=fill.price_ticks,
                qty_lots=fill.qty_lots,
                liquidity=fill.liquidity.value,
                position_base=core.position_base,
            )
        if isinstance(event, OrderRejectedEvent):
            self._log.info("order_rejected", cid=event.client_order_id, reason=event.reason)
        elif isinstance(event, ReconcileResult) and core.mismatches:
            self._log.warning("reconcile_mismatch", problems=list(core.mismatches))

    def _export(self, m: MarketMetrics, event: Event, orders: list[Order], fills: list[OwnFill]) -> None:
        core = self.core
        if isinstance(event, BookSnapshot):
            m.market_event("book")
            m.book_updated(event.ts_ns)
            m.set_mid(core.mid)
        elif isinstance(event, PublicTrade):
            m.market_event("trade")
        elif isinstance(event, Connected | Resynced):
            m.set_connected(True)
            m.venue_event("resync" if isinstance(event, Resynced) else "connected")
        elif isinstance(event, Disconnected):
            m.set_connected(False)
            m.venue_event("disconnected")
        elif isinstance(event, ReconcileResult) and event.report is not None and core.mismatches:
            m.venue_event("reconcile_mismatch")
        elif isinstance(event, OrderRejectedEvent):
            order = core.table.get(event.client_order_id)
            if order is not None:
                m.order_rejected(order.side, event.reason)
        for fill in fills:
            m.fill(fill.side, fill.liquidity.value, core.instrument.qty_of(fill.qty_lots))
        m.set_position(core.position_base)
        m.set_pnl(core.pnl_quote())
        m.set_fees(core.fees_quote)
        q = core.quoter.last_quote
        if q is not None:
            m.set_reservation(q.reservation_price)
        if orders:
            self._export_quotes(m)

    def _export_quotes(self, m: MarketMetrics) -> None:
        """Our resting quotes, spread, model inputs and open orders: after anything that changed them."""
        core = self.core
        inst = core.instrument
        prices: dict[Side, float | None] = {}
        for side in (Side.BUY, Side.SELL):
            order = core.table.resting(side)
            prices[side] = inst.price_of(order.request.price_ticks) if order is not None else None
            m.set_quote_price(side, prices[side])
        bid, ask = prices[Side.BUY], prices[Side.SELL]
        if bid is not None and ask is not None and core.mid == core.mid:
            m.set_spread_bps((ask - bid) / core.mid * 1e4)
        m.set_sigma(core.sigma())
        m.set_intensity(*core.quoter.last_a_k)
        m.set_open_orders(len(core.table.live_orders()))

    # -------------------------------------------------------------------------------- shutdown
    async def _shutdown(self, pump: asyncio.Task[None]) -> int | None:
        """Cancel every own order and chase the cancels until the venue confirms them or the time is
        up; then a cancel-all backstop for anything left; return what the venue still lists."""
        core = self.core
        core.halt(core.halted or Reason.SHUTDOWN)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.settings.shutdown_timeout_s):
                commands = core.cancel_all(self._clock())
                self._after(Tick(self._clock()), commands)
                self._execute(commands, None)
                while core.table.live_orders() or self._in_flight:
                    _, event = await self._next_event(pump)
                    self._step(event, None)
        if core.table.live_orders():
            still_open = await self._cancel_all_backstop(wait=False)
        else:
            still_open = await self._count_open()
        if self._journal is not None and self._journal_failure is None:
            try:
                self._journal.flush()
            except JournalError as exc:
                self._journal_failed(exc)
        self._log.info("market_stopped", open_orders=still_open)
        return still_open

    async def _count_open(self) -> int | None:
        """How many of our orders the venue lists (our table's count if it cannot say)."""
        try:
            return len(await self._call("open_orders", self.venue.open_orders()))
        except (TimeoutError, VenueError):
            return len(self.core.table.live_orders())

    async def _cancel_all_backstop(self, *, wait: bool) -> int | None:
        """``cancel_all`` at the venue, for anything the order table lost track of; with ``wait``, sent
        again every second until the venue lists none of our orders or ``shutdown_timeout_s`` is up.
        Returns what the venue still lists."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.settings.shutdown_timeout_s if wait else 0.0)
        while True:
            try:
                await self._call("cancel_all", self.venue.cancel_all())
            except (TimeoutError, VenueError) as exc:
                self._log.error("cancel_all_failed", error=_describe(exc))
            resend = loop.time() + 1.0
            while True:
                still_open = await self._count_open()
                if not still_open or loop.time() >= deadline:
                    return still_open
                if loop.time() >= resend:
                    break
                await asyncio.sleep(0.05)

    def latency_summary_us(self) -> dict[str, Any]:
        """p50/p99/max in microseconds from an event's receipt to the first venue call it caused."""
        samples = sorted(self.decision_latency_ns)
        if not samples:
            return {"p50": None, "p99": None, "max": None, "samples": 0}

        def pct(p: float) -> float:
            return round(samples[min(len(samples) - 1, int(p * len(samples)))] / 1000.0, 1)

        return {
            "p50": pct(0.50),
            "p99": pct(0.99),
            "max": round(samples[-1] / 1000.0, 1),
            "samples": len(samples),
        }


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
