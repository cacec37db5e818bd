"""Drive a ``MarketCore`` against a ``SimExchange`` in virtual time: no event loop, no clock, the
exchange's next event time is the clock. The same core that trades live, so a virtual run makes the
decisions a real-time paper run would on the same events. Used by benchmarks, tests and (later)
backtests of recorded books."""

from __future__ import annotations

from collections.abc import Callable

from mm_bot.engine.market import Cancel, Command, MarketCore
from mm_bot.model import VenueEvent
from mm_bot.venues.sim import to_model_event
from sim import events as sev
from sim.exchange import SimExchange

# Called around every core update: (event, now_ns) -> commands. Lets callers time or record it.
Step = Callable[[VenueEvent, int], list[Command]]


def to_sim_command(command: Command, account: str) -> sev.PlaceOrder | sev.CancelOrder:
    if isinstance(command, Cancel):
        return sev.CancelOrder(account, command.client_order_id)
    r = command.request
    return sev.PlaceOrder(
        account,
        r.client_order_id,
        sev.Side(int(r.side)),
        r.price_ticks,
        r.qty_lots,
        sev.OrderType(r.order_type.value),
    )


def run_virtual(
    core: MarketCore, exchange: SimExchange, end_ns: int, *, account: str = "me", step: Step | None = None
) -> list[Command]:
    """Run until the exchange has nothing due before ``end_ns``; return every command sent, in order."""
    step = step or core.on_event
    sent: list[Command] = []
    pending = list(exchange.advance(exchange.now_ns))
    i = 0
    while True:
        if i == len(pending):
            nxt = exchange.next_event_time_ns()
            if nxt is None or nxt > end_ns:
                return sent
            pending, i = exchange.advance(nxt), 0
            continue
        event = to_model_event(pending[i], account)
        i += 1
        if event is None:
            continue
        now = exchange.now_ns
        for command in step(event, now):
            sent.append(command)
            pending += exchange.submit(to_sim_command(command, account), now)
