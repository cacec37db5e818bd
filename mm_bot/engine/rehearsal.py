"""Rehearsal of a market's whole update path, to keep it in the CPU caches while the market is quiet.

An update that arrives after milliseconds of quiet runs on caches that other work (the venue
adapter, the event loop, metrics, other processes) has evicted: measured on the paper run, the same
code takes 3-10x longer than warm. ``MarketCore.preview`` keeps the decision itself warm but not
the rest of an update (book checks, order-table writes, commands). ``Rehearsal`` runs all of it on
a scratch core of the same parameters: a book that moves both quotes out of their tolerance band,
then the venue's answers to what that core sends (acks, cancel confirmations), then the book back.
Nothing leaves the object: its orders go nowhere, its clock is its own, and it never reads or
changes the real core. Pure and sans-IO like the core; the runner calls ``step`` while idle.
"""

from __future__ import annotations

import dataclasses

from mm_bot.engine.core_types import Command, MarketParams, Place
from mm_bot.engine.horizon import HorizonParams
from mm_bot.engine.ids import ClientOrderIds
from mm_bot.engine.lockouts import LockoutParams
from mm_bot.engine.market import MarketCore
from mm_bot.model import BookSnapshot, OrderAccepted, OrderCancelled, VenueEvent

_STEP_NS = 100_000_000  # the scratch core's clock per step (its book stays fresh; it has no lockouts)
_LEVELS = 5


class Rehearsal:
    def __init__(self, params: MarketParams, start_ns: int = 0) -> None:
        self.core = MarketCore(rehearsal_params(params), ClientOrderIds("rehearsal"), start_ns)
        self._now = start_ns
        self._seq = 0
        self._up = False
        self.steps = 0

    def step(self, best_bid: int | None, best_ask: int | None) -> None:
        """One cycle around the real market's touch (nothing if it has no book yet): a book move that
        makes the scratch core replace its quotes, and the venue's answers to what it sent."""
        if best_bid is None or best_ask is None or best_bid >= best_ask:
            return
        core = self.core
        # Far enough to leave the tolerance band (bps of the mid, here in ticks) on both sides.
        tolerance_ticks = (best_bid + best_ask) * 0.5 * core.params.tolerance_bps * 1e-4
        shift = 1 + int(4 * tolerance_ticks) if self._up else 0
        self._up = not self._up
        self._now += _STEP_NS
        self._seq += 1
        bids = tuple((best_bid + shift - i, 1) for i in range(_LEVELS))
        asks = tuple((best_ask + shift + i, 1) for i in range(_LEVELS))
        commands = core.on_event(BookSnapshot(self._now, self._now, self._seq, bids, asks), self._now)
        for answer in _answers(commands, self._now + 1):
            core.on_event(answer, answer.ts_ns)
        self.steps += 1


def rehearsal_params(params: MarketParams) -> MarketParams:
    """The scratch core's parameters: the market's own, except no lockouts (a rehearsal replaces its
    quotes on every step, whatever the configured pauses) and a rolling horizon (a session or daily
    window would end on the scratch core's clock and leave nothing to rehearse). With a GLFT session
    the scratch core therefore quotes GLFT's closed form, not the exact depth table: the rest of the
    update path is the same."""
    horizon = params.horizon
    if horizon.kind == "session":
        tau_s = horizon.session_length_s
    elif horizon.kind == "daily":
        tau_s = float((horizon.daily_end_s - horizon.daily_start_s) % 86_400)
    else:
        tau_s = horizon.tau_s
    return dataclasses.replace(
        params,
        lockouts=LockoutParams(0, 0, 0),
        horizon=HorizonParams("infinite", tau_s=tau_s),
    )


def _answers(commands: list[Command], ts_ns: int) -> list[VenueEvent]:
    """The venue accepting every order and confirming every cancel, in order."""
    out: list[VenueEvent] = []
    for command in commands:
        if isinstance(command, Place):
            out.append(OrderAccepted(ts_ns, command.request.client_order_id))
        else:
            out.append(OrderCancelled(ts_ns, command.client_order_id, "rehearsal"))
    return out
