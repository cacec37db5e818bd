"""The latency hygiene around the core: ``GcPolicy`` (garbage collection between updates, never
inside one) and ``MarketCore.preview`` (the rehearsal the runner runs while the market is quiet)."""

from __future__ import annotations

import dataclasses
import gc
import weakref
from pathlib import Path

import pytest

from mm_bot.config import load_config
from mm_bot.engine.horizon import HorizonParams
from mm_bot.engine.market import Command, MarketCore, Tick
from mm_bot.engine.orders import ClientOrderIds
from mm_bot.engine.rehearsal import Rehearsal
from mm_bot.model import VenueEvent
from mm_bot.runtime import GcPolicy
from mm_bot.virtual import run_virtual
from mm_bot.wiring import market_params, sim_exchange
from tests.bot.core_driver import ASK, BID, CoreDriver

ROOT = Path(__file__).resolve().parents[2]
NOW = 1_700_000_000 * 1_000_000_000
MS = 1_000_000


class _Cycle:
    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def restore_gc() -> object:
    enabled, thresholds = gc.isenabled(), gc.get_threshold()
    yield None
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    if enabled:
        gc.enable()


def test_idle_policy_collects_only_when_idle_or_far_past_the_threshold(restore_gc: object) -> None:
    gc.set_threshold(100, 10, 10)
    policy = GcPolicy(idle=True, busy_factor=50)
    policy.start()
    assert not gc.isenabled()
    assert gc.get_freeze_count() > 0  # start-up objects moved out of every future collection
    ref = weakref.ref(_Cycle())
    for _ in range(300):  # well past the threshold, below the busy limit
        _Cycle()
    policy.on_busy()
    assert ref() is not None  # not collected inside an update
    policy.on_idle()
    assert ref() is None  # collected at the quiet moment
    assert policy.collections[0] + policy.collections[1] + policy.collections[2] == 1
    policy.stop()
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_busy_market_still_collects_past_the_busy_limit(restore_gc: object) -> None:
    gc.set_threshold(100, 10, 10)
    policy = GcPolicy(idle=True, busy_factor=5)
    policy.start()
    ref = weakref.ref(_Cycle())
    for _ in range(1000):
        _Cycle()
    policy.on_busy()
    assert ref() is None
    policy.stop()


def test_collections_cascade_like_cpython(restore_gc: object) -> None:
    """Every 10th gen-0 run is a gen-1 run and every 10th gen-1 run a full one, as CPython does."""
    gc.set_threshold(10, 10, 10)
    policy = GcPolicy(idle=True)
    policy.start()
    for _ in range(200):
        for _ in range(20):
            _Cycle()
        policy.on_idle()
    gen0, gen1, gen2 = policy.collections
    assert gen0 + gen1 + gen2 == 200
    assert 15 <= gen1 + gen2 <= 25  # ~1 in 10
    assert 1 <= gen2 <= 3  # ~1 in 100
    policy.stop()


def test_auto_policy_leaves_the_collector_alone(restore_gc: object) -> None:
    policy = GcPolicy(idle=False)
    policy.start()
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    policy.on_idle()
    policy.on_busy()
    assert policy.collections == [0, 0, 0]
    policy.stop()
    assert gc.isenabled()


def _params():  # type: ignore[no-untyped-def]
    return market_params(load_config(ROOT / "config.yaml", environ={}).markets[0])


def test_preview_is_the_decision_the_next_requote_takes() -> None:
    p = _params()
    p = dataclasses.replace(p, decide=dataclasses.replace(p.decide, max_order_age_ns=1_000 * MS))
    d = CoreDriver(p, NOW)
    sent = d.book(NOW)
    for c in sent:
        d.feed(_ack(c, NOW + MS))
    d.book(NOW + 2 * MS, BID + 1, ASK + 1)  # a fresh book, quotes kept within tolerance
    later = NOW + 2 * MS + 2_000 * MS  # no event since; by now the quotes are over their max age
    core = d.core
    assert core.params.risk.stale_book_ns > later - (NOW + 2 * MS)  # the stale-book guard must not bite first
    before = _state(core)
    preview = core.preview(later)
    assert _state(core) == before
    commands = d.feed(Tick(later))
    taken = {c.decision.side: c.decision.label for c in commands}
    assert {p.side: p.label for p in preview} == taken
    assert set(taken.values()) == {"replace(max_order_age)"}


def test_rehearsals_between_events_change_nothing() -> None:
    """Two cores on the same realistic stream; one is also asked ``preview`` before every event
    (as the runner's rehearsal does): same commands, same counters, same orders."""
    cfg = load_config(ROOT / "config.yaml", environ={})
    mcfg = cfg.markets[0]
    plain = MarketCore(market_params(mcfg), ClientOrderIds("t"), NOW)
    rehearsed = MarketCore(market_params(mcfg), ClientOrderIds("t"), NOW)
    events: list[tuple[VenueEvent | Tick, int]] = []

    def step(event: VenueEvent | Tick, now: int) -> list[Command]:
        events.append((event, now))
        rehearsed.preview(now)
        rehearsed.preview(now + 5 * MS)
        out = rehearsed.on_event(event, now)
        assert out == plain.on_event(event, now)
        return out

    run_virtual(rehearsed, sim_exchange(cfg, mcfg, NOW), NOW + 60 * 1_000_000_000, step=step)
    assert len(events) > 1000
    assert rehearsed.stats == plain.stats
    assert rehearsed.orders.live_orders() == plain.orders.live_orders()
    assert list(rehearsed.recent) == list(plain.recent)


def _ack(command: Command, ts_ns: int) -> VenueEvent:
    from mm_bot.engine.market import Place
    from mm_bot.model import OrderAccepted

    assert isinstance(command, Place)
    return OrderAccepted(ts_ns, command.request.client_order_id)


def _state(core: MarketCore) -> tuple[object, ...]:
    return (
        core.stats.decision_reasons.copy(),
        core.stats.quotes_sent,
        core.stats.cancels_sent,
        core.orders.version,
        tuple(core.orders.live_orders()),
        tuple(core.recent),
        core.ids.issued,
        core.last_quote,
        core.lockouts.until_ns(core.orders.live_orders()[0].side),
    )


def test_rehearsal_runs_the_whole_update_path_on_its_own_core() -> None:
    rehearsal = Rehearsal(_params())
    rehearsal.step(None, None)
    assert rehearsal.steps == 0  # no book yet: nothing to rehearse around
    for _ in range(50):
        rehearsal.step(BID, ASK)
    scratch = rehearsal.core
    reasons = scratch.stats.decision_reasons
    assert reasons["replace(optimal_price)"] >= 80  # both quotes replaced on (nearly) every step
    assert reasons["keep(within_tolerance)"] > 0  # and the answers requoted with nothing to change
    assert scratch.stats.cancels_sent == reasons["replace(optimal_price)"]
    assert len(scratch.orders.live_orders()) == 2  # every cancel confirmed, every order acked
    assert scratch.position_lots == 0 and scratch.stats.fills == 0


@pytest.mark.parametrize(
    "horizon",
    [
        HorizonParams("session", tau_s=60.0, session_length_s=10.0, at_end="flatten"),
        HorizonParams("daily", tau_s=60.0, daily_start_s=8 * 3600, daily_end_s=9 * 3600),
    ],
)
def test_rehearsal_keeps_replacing_whatever_the_horizon_and_lockouts(horizon: HorizonParams) -> None:
    """A session that ends, a daily window that is closed, a long pause between orders: none of them
    stops the scratch core from rehearsing replaces (they would leave it gated, rehearsing nothing)."""
    p = dataclasses.replace(
        _params(), horizon=horizon, lockouts=dataclasses.replace(_params().lockouts, between_orders_ns=10**12)
    )
    rehearsal = Rehearsal(p)
    for _ in range(300):  # 30 s of the scratch core's clock: past the session's end
        rehearsal.step(BID, ASK)
    assert rehearsal.core.stats.decision_reasons["replace(optimal_price)"] >= 550
