"""Drive a ``MarketCore`` against a ``ReplayVenue`` (a recorded book) or a ``SimExchange`` (the
synthetic market) in virtual time, with the live runner's refresh timer. No event loop, no clock:
the venue's next delivery or the next timer is the clock. Sans-IO. Backtests, the Gymnasium
environment, benchmarks and tests run on it.

One step: the earliest of the venue's next delivery, the refresh tick and the core's own timer
(``next_timer_ns``: chases, reconciliations, a stale book, a lockout or an order age ending) happens.
A tick is sent every ``refresh_ns`` after the previous tick, or when the core's timer is due,
whichever comes first, as ``MarketRunner`` does; at one instant the venue's events go first. Every
event goes through ``core.on_event`` at its delivery time; ``Place`` and ``Cancel`` are submitted to
the venue at that time (it applies the latencies); lookups and reconciliations are answered at once
from the venue's own state, as ``SimVenue`` answers them.

Events are translated by ``sim_translate.to_model_event``; the replay's ``BookUnknown`` and
``BookKnown`` become ``Disconnected`` and ``Connected``, as a live venue reports a lost and a
recovered book stream: the core cancels and stops quoting, then reconciles and waits for a good
book. ``next_timer_ns`` is asked again after every event except a public trade that produced no
commands: the core's trade path decides nothing and touches no timer, so the answer is the one it
had (asking costs as much as the trade itself).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from mm_bot.engine.core_types import (
    Cancel,
    Command,
    OrderStatusResult,
    Place,
    QueryOrder,
    Reconcile,
    ReconcileResult,
    Tick,
)
from mm_bot.engine.market import Event, MarketCore
from mm_bot.model import (
    BookSnapshot,
    Connected,
    Disconnected,
    OpenOrder,
    OrderReport,
    OrderStatus,
    OwnFill,
    PublicTrade,
    Side,
    VenueReport,
)
from mm_bot.venues.sim_translate import to_model_event, to_sim_command
from sim.events import AssetBalance, OrderRecord
from sim.events import Command as SimCommand
from sim.events import OpenOrder as SimOpenOrder
from sim.events import OwnFill as SimOwnFill
from sim.replay import BookKnown, BookUnknown, ReplayVenue
from sim.replay import Event as ReplayEvent

__all__ = ["Driver", "VirtualVenue", "answer", "drive", "to_model"]

OnBook = Callable[[int], None]
Step = Callable[[Event, int], list[Command]]  # (event, now_ns) -> commands, as core.on_event
OnFill = Callable[[OwnFill], None]
Progress = Callable[[float], None]
_PROGRESS_EVERY = 1 << 14  # events between progress calls


def answer(command: QueryOrder | Reconcile, venue: VirtualVenue, account: str) -> Event:
    """What the venue would answer to a lookup or a reconciliation, right now."""
    now = venue.now_ns
    if isinstance(command, QueryOrder):
        record = venue.order_status(account, command.client_order_id)
        if record is None:
            report = OrderReport(command.client_order_id, OrderStatus.NOT_FOUND)
        else:
            report = OrderReport(
                record.client_order_id,
                OrderStatus(record.state),
                Side(int(record.side)),
                record.price_ticks,
                record.qty_lots,
                record.filled_lots,
            )
        return OrderStatusResult(now, command.client_order_id, report)
    fills = (to_model_event(f, account) for f in venue.fills(account, command.fills_since_ns))
    return ReconcileResult(
        now,
        VenueReport(
            now,
            tuple(
                OpenOrder(o.client_order_id, Side(int(o.side)), o.price_ticks, o.qty_lots, o.remaining_lots)
                for o in venue.open_orders(account)
            ),
            tuple(f for f in fills if isinstance(f, OwnFill)),
            {asset: b.total for asset, b in venue.account(account).items()},
        ),
    )


class VirtualVenue(Protocol):
    """What the driver needs of a venue: ``sim.replay.ReplayVenue`` and ``sim.exchange.SimExchange``
    (the synthetic market) both have it."""

    @property
    def now_ns(self) -> int: ...
    def advance(self, now_ns: int) -> list[Any]: ...
    def submit(self, command: SimCommand, now_ns: int) -> list[Any]: ...
    def next_events(self, limit_ns: int) -> list[Any]: ...
    def order_status(self, account: str, client_order_id: str) -> OrderRecord | None: ...
    def open_orders(self, account: str) -> list[SimOpenOrder]: ...
    def fills(self, account: str, since_ns: int = 0) -> list[SimOwnFill]: ...
    def account(self, account: str) -> dict[str, AssetBalance]: ...
    def queue_ahead(self, account: str, client_order_id: str) -> float | None: ...


class Driver:
    """The loop of the module docstring, resumable: ``start()`` once, then ``run_until(t)`` as often as
    wanted with growing ``t``; a caller may ``inject`` an event (a ``Tick`` after it changed what the
    core quotes, say) between two runs. ``drive`` is one ``run_until`` to the end, and a run split into
    several ``run_until`` calls makes exactly the same decisions as one call to the same end.

    ``step``: called instead of ``core.on_event`` (it must call it and return its commands), to
    observe or time every event."""

    def __init__(
        self,
        core: MarketCore,
        venue: VirtualVenue,
        *,
        account: str,
        refresh_ns: int,
        on_book: OnBook | None = None,
        on_fill: OnFill | None = None,
        step: Step | None = None,
        on_progress: Callable[[], None] | None = None,
    ) -> None:
        if refresh_ns <= 0:
            raise ValueError(f"refresh_ns must be > 0, got {refresh_ns}")
        self.core, self.venue, self.account, self.refresh_ns = core, venue, account, refresh_ns
        self.on_book, self.on_fill = on_book, on_fill
        self.step = step or core.on_event
        self.on_progress = on_progress  # every 2**14 events
        self.handled = 0  # events the core got
        self._queue: deque[Event] = deque()
        self._next_tick = self._timer = None  # type: int | None
        self._started = False

    def start(self) -> None:
        """The venue's first events and the core's start (its reconciliation, answered at once)."""
        if self._started:
            raise RuntimeError("the driver has started already")
        self._started = True
        venue, now = self.venue, self.venue.now_ns
        self._queue.extend(to_model(venue.advance(now), self.account))
        for command in self.core.start(now):
            assert isinstance(command, Reconcile)
            self._queue.appendleft(answer(command, venue, self.account))
        self._next_tick = now + self.refresh_ns
        self._timer = self.core.next_timer_ns()

    def inject(self, event: Event) -> None:
        """``event`` goes to the core next, at the venue's current time."""
        self._queue.appendleft(event)

    def run_until(self, end_ns: int) -> int:
        """Run until nothing is due at or before ``end_ns`` (the venue then stands at ``end_ns``);
        return the number of events the core got in this call."""
        if not self._started:
            self.start()
        core, venue, account, queue = self.core, self.venue, self.account, self._queue
        step, on_book, on_fill = self.step, self.on_book, self.on_fill
        next_tick, timer = self._next_tick, self._timer
        assert next_tick is not None
        handled = 0
        while True:
            if not queue:
                due = next_tick if timer is None or timer > next_tick else timer
                events = venue.next_events(min(due, end_ns))  # the venue's, if any come by then
                if events:
                    queue.extend(to_model(events, account))
                elif due > end_ns:
                    break
                else:
                    queue.append(Tick(due))
                    next_tick = due + self.refresh_ns
                continue
            event = queue.popleft()
            now = venue.now_ns
            commands = step(event, now)
            handled += 1
            kind = type(event)
            if kind is BookSnapshot:
                if on_book is not None:
                    on_book(now)
            elif kind is OwnFill and on_fill is not None:
                assert isinstance(event, OwnFill)
                on_fill(event)
            for command in commands:
                if isinstance(command, Place | Cancel):
                    queue.extend(to_model(venue.submit(to_sim_command(command, account), now), account))
                else:
                    queue.append(answer(command, venue, account))
            if commands or kind is not PublicTrade:
                timer = core.next_timer_ns()
            if self.on_progress is not None and handled % _PROGRESS_EVERY == 0:
                self.on_progress()
        self._next_tick, self._timer = next_tick, timer
        self.handled += handled
        return handled


def drive(
    core: MarketCore,
    venue: ReplayVenue,
    *,
    account: str,
    refresh_ns: int,
    end_ns: int,
    on_book: OnBook | None = None,
    on_fill: OnFill | None = None,
    progress: Progress | None = None,
) -> int:
    """Run until nothing is due at or before ``end_ns``; return the number of events the core got.
    ``on_book(now_ns)`` runs after the core has handled a book, ``on_fill(fill)`` after a fill."""
    tell = None if progress is None else (lambda: progress(venue.progress()))
    driver = Driver(
        core,
        venue,
        account=account,
        refresh_ns=refresh_ns,
        on_book=on_book,
        on_fill=on_fill,
        on_progress=tell,
    )
    handled = driver.run_until(end_ns)
    if progress is not None:
        progress(venue.progress())
    return handled


def to_model(events: list[ReplayEvent], account: str) -> list[Event]:
    """Replay events as the bot sees them, those of other accounts left out."""
    out: list[Event] = []
    for e in events:
        if isinstance(e, BookUnknown):
            out.append(Disconnected(e.ts_ns, "book_gap"))
        elif isinstance(e, BookKnown):
            out.append(Connected(e.ts_ns))
        else:
            m = to_model_event(e, account)
            if m is not None:
                out.append(m)
    return out
