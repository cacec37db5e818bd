"""The async loop of one market: the only code that awaits a venue.

A pump task moves venue events into a queue. The loop takes one event at a time (or a timer tick),
hands it to the sans-IO ``MarketCore``, records what changed (``Recorder``: journal, metrics, logs)
and starts the venue calls the core asked for as tasks (``VenueCalls``), so the loop keeps consuming
events while requests are on the network:

- at most ``max_in_flight`` requests run at once per market; each has a timeout, and every outcome
  comes back to the core as an event (see ``calls``);
- an order's intent is committed to the journal before its request starts; if the journal cannot be
  written the market stops trading (``JournalError`` is raised once its orders are cancelled).

``run(stop)`` trades until ``stop`` is set or the kill switch fires, then cancels every own order
within ``shutdown_timeout_s`` (chasing the cancels as when trading, then a cancel-all backstop) and
returns how many the venue still lists.

``observer(event, now_ns)``, if set, runs after the core has handled each event (the paper run's
report records its trace through it).

Decision latency is measured from the moment the pump received the event to the moment the first
venue call it caused is issued (journal write included).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from mm_bot.engine.core_types import Command, Place, Tick
from mm_bot.engine.market import Event, MarketCore
from mm_bot.engine.reasons import Reason
from mm_bot.errors import KillSwitch, VenueError
from mm_bot.journal import Journal, JournalError
from mm_bot.live.calls import VenueCalls
from mm_bot.live.recorder import Recorder
from mm_bot.metrics import MarketMetrics
from mm_bot.model import OrderRejected, Throttled
from mm_bot.venues.base import Venue


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
        self.settings = settings
        self._clock = clock_ns
        self._queue: asyncio.Queue[tuple[int, Event]] = asyncio.Queue()
        self._calls = VenueCalls(
            venue,
            self._feed,
            clock_ns=clock_ns,
            timeout_s=settings.request_timeout_s,
            tag=core.params.execution.id_tag,
            metrics=metrics,
        )
        self._recorder = Recorder(core, journal, metrics, clock_ns)
        self._metrics = metrics
        self._slots = asyncio.Semaphore(settings.max_in_flight)
        self._tg: asyncio.TaskGroup  # set by run(): requests are its tasks
        self._requests: set[asyncio.Task[None]] = set()  # started and not finished
        self._next_tick = 0.0  # the event loop's time of the next refresh tick
        self.still_open: int | None = None  # orders the venue listed after the run ended
        self.decision_latency_ns: deque[int] = deque(maxlen=latency_samples)
        self.observer: Callable[[Event, int], None] | None = None

    # ------------------------------------------------------------------------------ main loop
    async def run(self, stop: asyncio.Event) -> int | None:
        """Trade until ``stop`` is set, then cancel every own order (bounded); return how many the venue
        still lists. Raises ``KillSwitch`` or ``JournalError`` after that cleanup if one stopped it; on
        any other error, cancels all own orders at the venue (bounded) and re-raises."""
        failure: KillSwitch | JournalError | None = None
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                pump = tg.create_task(self._pump(), name=f"pump:{self.core.instrument.symbol}")
                try:
                    await self._trade(stop, pump)
                except (KillSwitch, JournalError) as exc:
                    failure = exc
                self.still_open = await self._shutdown(pump)
                pump.cancel()
        except (Exception, asyncio.CancelledError) as exc:
            # Something broke (a bug, a dead stream), or the task is cancelled from outside: leave the
            # core aside, cancel at the venue and wait, bounded, until it lists nothing of ours.
            self.still_open = await self._calls.cancel_all_until_gone(self.settings.shutdown_timeout_s)
            if isinstance(exc, ExceptionGroup) and len(exc.exceptions) == 1:
                raise exc.exceptions[0] from exc  # one task failed: say what, not "a TaskGroup failed"
            raise
        if failure is not None:
            raise failure
        return self.still_open

    async def _pump(self) -> None:
        async for event in self.venue.events():
            self._queue.put_nowait((time.perf_counter_ns(), event))
        raise VenueError("the venue's event stream ended")  # it ends only when the venue is closed

    def _feed(self, event: Event) -> None:
        """A request's outcome goes through the same queue as venue events."""
        self._queue.put_nowait((time.perf_counter_ns(), event))

    async def _trade(self, stop: asyncio.Event, pump: asyncio.Task[None]) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        self._execute(self.core.start(self._clock()), None, journaled=True)
        try:
            while not stop.is_set():
                received_ns, event = await self._next_event(stopping, pump)
                self._step(event, received_ns)
                if self._recorder.failure is not None:
                    raise self._recorder.failure
                if self.core.kill_reason is not None:
                    raise KillSwitch(self.core.kill_reason)
        finally:
            stopping.cancel()

    async def _next_event(self, *also: asyncio.Future[Any]) -> tuple[int, Event]:
        """The next event, or a timer tick: every refresh interval and whenever the core's own next
        timer is due (a chase, a reconciliation, the book going stale), busy or not; or when one of
        ``also`` completes (stop, the pump ending)."""
        loop = asyncio.get_running_loop()
        wait_s = self._next_tick - loop.time()
        due_ns = self.core.next_timer_ns()
        if due_ns is not None:
            wait_s = min(wait_s, (due_ns - self._clock()) / 1e9)
        if wait_s <= 0.0:
            return self._tick(loop)
        queue = self._queue
        if not queue.empty():
            return queue.get_nowait()
        getter = asyncio.ensure_future(queue.get())
        done, _ = await asyncio.wait({getter, *also}, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
        if getter not in done:
            getter.cancel()
            try:
                await getter
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():  # we are cancelled too, not only the wait
                    raise
        if getter.done() and not getter.cancelled():
            return getter.result()
        for fut in done:
            if fut is not getter and not fut.cancelled() and (exc := fut.exception()) is not None:
                raise exc  # the pump failed: the venue's stream is broken
        return self._tick(loop)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> tuple[int, Event]:
        self._next_tick = loop.time() + self.settings.refresh_interval_s
        return time.perf_counter_ns(), Tick(self._clock())

    def _step(self, event: Event, received_ns: int | None) -> None:
        """One event through the core; record what changed; start the requests."""
        now_ns = self._clock()
        if isinstance(event, Throttled):  # the venue's limit holds for every call, not only quotes
            self._calls.hold((event.until_ns - now_ns) / 1e9)
        commands = self.core.on_event(event, now_ns)
        if self.observer is not None:
            self.observer(event, now_ns)
        self._send(event, commands, received_ns)

    def _send(self, event: Event, commands: list[Command], received_ns: int | None) -> None:
        """Journal what ``event`` changed and the intents of ``commands``, start their requests, and
        leave the rest of the recording (decisions, checkpoint, logs, metrics) until they are written
        (their tasks run first)."""
        orders, fills = self._recorder.journal(commands)
        self._execute(commands, received_ns, self._recorder.failure is None)
        if commands:
            asyncio.get_running_loop().call_soon(self._recorder.report, event, commands, orders, fills)
        else:
            self._recorder.report(event, commands, orders, fills)

    # ------------------------------------------------------------------------------ requests
    def _execute(self, commands: list[Command], received_ns: int | None, journaled: bool) -> None:
        deadline = asyncio.get_running_loop().time() + self.settings.request_timeout_s
        for command in commands:
            if isinstance(command, Place) and not journaled:
                # Not journaled, so not sent: the core sees the order refused here.
                self._feed(OrderRejected(self._clock(), command.request.client_order_id, "journal_failed"))
                continue
            task = self._tg.create_task(
                self._request(command, deadline, received_ns), name=f"request:{self.core.instrument.symbol}"
            )
            self._requests.add(task)
            task.add_done_callback(self._requests.discard)
            received_ns = None  # the latency is to the first request an event caused

    async def _request(self, command: Command, deadline: float, received_ns: int | None) -> None:
        """``command``'s call, in a free slot, ended at ``deadline`` whether it waited for the slot or not."""
        try:
            async with asyncio.timeout_at(deadline):
                await self._slots.acquire()
        except TimeoutError:
            self._calls.not_sent(command)
            return
        try:
            if not await self._calls.wait_quiet(deadline):  # the venue asked us to wait past it
                self._calls.not_sent(command)
                return
            if received_ns is not None:
                latency_ns = time.perf_counter_ns() - received_ns
                self.decision_latency_ns.append(latency_ns)
                if self._metrics is not None:
                    self._metrics.observe_decision_latency(latency_ns / 1e9)
            await self._calls.run(command, deadline)
        finally:
            self._slots.release()

    # -------------------------------------------------------------------------------- shutdown
    async def _shutdown(self, pump: asyncio.Task[None]) -> int | None:
        """Cancel every own order and chase the cancels until the venue confirms them or the time is
        up, then reconcile once more until the venue answers (fills the streams lost meanwhile);
        then stop what is still on the way, send a cancel-all backstop if the venue still lists
        orders of ours, and record what is left in the queue; return what the venue still lists."""
        core = self.core
        core.halt(core.halted or Reason.SHUTDOWN)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.settings.shutdown_timeout_s):
                self._send(Tick(self._clock()), core.cancel_all(self._clock()), None)
                await self._settle(pump)
                await self._reconcile_until_answered(pump)
        for task in list(self._requests):  # time is up: what is still on the way is abandoned
            task.cancel()
        await asyncio.gather(*self._requests, return_exceptions=True)
        # The backstop waits out a rate limit that ends within the shutdown's own time (a 429's
        # second or two) rather than leave without knowing; a longer ban it does not wait for.
        still_open = await self._calls.count_open() if self._calls.quiet_left_s() == 0.0 else None
        if still_open != 0:
            still_open = await self._calls.cancel_all_until_gone(
                self.settings.request_timeout_s, patience_s=self.settings.shutdown_timeout_s
            )
        while not self._queue.empty():  # fills and answers that arrived meanwhile are recorded
            _, event = self._queue.get_nowait()
            self._recorder.record(event, core.on_event(event, self._clock()))
        self._recorder.flush()
        structlog.get_logger("mm_bot.runner").info(
            "market_stopped", market=core.instrument.symbol, open_orders=still_open
        )
        return still_open

    async def _reconcile_until_answered(self, pump: asyncio.Task[None]) -> None:
        """Reconcile, again after each failed attempt (the venue may be restarting), until one is
        answered; the shutdown's time bounds it."""
        stats = self.core.stats.venue
        while True:
            failed = stats["reconcile_failed"]
            self._execute(self.core.reconcile_now(self._clock()), None, journaled=True)
            await self._settle(pump)
            if stats["reconcile_failed"] == failed:
                return
            await asyncio.sleep(self.settings.refresh_interval_s)

    async def _settle(self, pump: asyncio.Task[None]) -> None:
        """Handle events until no order of ours is live and no request is on the way."""
        while self.core.table.live_orders() or self._requests:
            _, event = await self._next_event(pump)
            self._step(event, None)

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
