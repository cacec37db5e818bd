"""Drive a ``MarketCore`` against a ``SimExchange`` in virtual time: no event loop, no clock; the
exchange's next event time is the clock. The same core that trades live, so a virtual run makes the
decisions a real-time paper run would on the same events. Lookups and reconciliation are answered
at once from the exchange's own state, as ``SimVenue`` answers them. Used by benchmarks, tests and
backtests of recorded books."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

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
from mm_bot.model import VenueReport
from mm_bot.venues import sim_translate as translate
from mm_bot.venues.sim_translate import to_model_event, to_sim_command
from sim import events as sev
from sim.exchange import SimExchange

# Called for every core update: (event, now_ns) -> commands. Lets callers time or record it.
Step = Callable[[Event, int], list[Command]]


def answer(command: QueryOrder | Reconcile, exchange: SimExchange, account: str) -> Event:
    """What ``SimVenue`` would answer to a lookup or a reconciliation, right now."""
    now = exchange.now_ns
    if isinstance(command, QueryOrder):
        report = translate.order_report(exchange, account, command.client_order_id)
        return OrderStatusResult(now, command.client_order_id, report)
    return ReconcileResult(
        now,
        VenueReport(
            now,
            tuple(translate.open_orders(exchange, account)),
            tuple(translate.fills_since(exchange, account, command.fills_since_ns)),
            translate.balances(exchange, account),
        ),
    )


def run_virtual(
    core: MarketCore, exchange: SimExchange, end_ns: int, *, account: str = "me", step: Step | None = None
) -> list[Command]:
    """Run until nothing is due before ``end_ns``; return every command sent, in order."""
    step = step or core.on_event
    sent: list[Command] = []
    queue: deque[Event] = deque(_model(exchange.advance(exchange.now_ns), account))
    for command in core.start(exchange.now_ns):
        sent.append(command)
        queue.appendleft(answer(command, exchange, account))  # type: ignore[arg-type]  # reconcile
    last_tick_ns = -1
    while True:
        if not queue:
            nxt = exchange.next_event_time_ns()
            timer = core.next_timer_ns()
            if (
                timer is not None
                and timer <= end_ns
                and timer > last_tick_ns
                and (nxt is None or timer < nxt)
            ):
                # The core's own timer (a chase, a reconciliation) comes before the exchange's next event.
                last_tick_ns = max(timer, exchange.now_ns)
                queue.extend(_model(exchange.advance(last_tick_ns), account))
                queue.append(Tick(last_tick_ns))
                continue
            if nxt is None or nxt > end_ns:
                return sent
            queue.extend(_model(exchange.advance(nxt), account))
            continue
        event = queue.popleft()
        now = exchange.now_ns
        for command in step(event, now):
            sent.append(command)
            if isinstance(command, Place | Cancel):
                queue.extend(_model(exchange.submit(to_sim_command(command, account), now), account))
            else:
                queue.append(answer(command, exchange, account))


def _model(events: list[sev.Event], account: str) -> list[Event]:
    converted = (to_model_event(e, account) for e in events)
    return [e for e in converted if e is not None]
