"""The trading horizon: tau and end for infinite, session and daily windows, and what MarketCore does
at the end (flatten, cancel_only, stop_quoting)."""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mm_bot.config import load_config
from mm_bot.engine.horizon import DAY_NS, NS, AtEnd, HorizonParams, HorizonState
from mm_bot.engine.market import Cancel, Command, MarketParams, Place, Tick
from mm_bot.engine.orders import OrderState
from mm_bot.model import (
    Liquidity,
    OrderAccepted,
    OrderCancelled,
    OrderRequest,
    OrderType,
    OwnFill,
    Side,
)
from mm_bot.wiring import market_params
from tests.bot.core_driver import CoreDriver

MS = 1_000_000
H = 3600 * NS
D0 = 19_675 * DAY_NS  # 2023-11-14 00:00:00 UTC
T0 = D0 + 12 * H  # noon
CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"
BID, ASK = 5_999_990, 6_000_010  # mid 60000.00 in ticks of 0.01


# --------------------------------------------------------------------------- HorizonState
def test_infinite_horizon_has_constant_tau_and_never_ends() -> None:
    """The rolling horizon gives tau = tau_s at any time and never ends."""
    state = HorizonState(HorizonParams("infinite", tau_s=60.0), T0)
    for now in (T0, T0 + 1, T0 + DAY_NS, T0 + 365 * DAY_NS):
        assert state.tau_s(now) == 60.0
        assert not state.ended(now)


def test_session_tau_counts_down_to_zero_and_ends_at_t() -> None:
    """A 100 s session: tau is T - t, reaches 0 at T and stays there; ended from T on."""
    state = HorizonState(HorizonParams("session", tau_s=60.0, session_length_s=100.0), T0)
    assert state.tau_s(T0) == 100.0
    assert state.tau_s(T0 + 40 * NS) == 60.0
    assert state.tau_s(T0 + 99_500 * MS) == 0.5
    assert state.tau_s(T0 + 100 * NS) == 0.0
    assert state.tau_s(T0 + 1_000 * NS) == 0.0
    assert not state.ended(T0 + 100 * NS - 1)
    assert state.ended(T0 + 100 * NS) and state.ended(T0 + DAY_NS)


@given(a=st.integers(0, 200 * NS), b=st.integers(0, 200 * NS))
def test_session_tau_never_increases(a: int, b: int) -> None:
    """Over a session, later times never have a larger tau, and once ended it stays ended."""
    state = HorizonState(HorizonParams("session", tau_s=60.0, session_length_s=100.0), T0)
    early, late = T0 + min(a, b), T0 + max(a, b)
    assert state.tau_s(early) >= state.tau_s(late) >= 0.0
    assert state.ended(late) or not state.ended(early)
    assert state.ended(late) == (state.tau_s(late) == 0.0)


def daily(start_h: int, end_h: int) -> HorizonState:
    return HorizonState(
        HorizonParams("daily", 60.0, daily_start_s=start_h * 3600, daily_end_s=end_h * 3600), T0
    )


@pytest.mark.parametrize(
    ("now", "tau_s", "ended"),
    [
        (D0 + 8 * H - NS, 0.0, True),
        (D0 + 8 * H, 12 * 3600.0, False),
        (D0 + 19 * H, 3600.0, False),
        (D0 + 20 * H - NS, 1.0, False),
        (D0 + 20 * H, 0.0, True),
        (D0, 0.0, True),
        (D0 + DAY_NS + 10 * H, 10 * 3600.0, False),  # the next day opens again
    ],
)
def test_daily_window(now: int, tau_s: float, ended: bool) -> None:
    """08:00-20:00 UTC: tau is the time to 20:00 inside the window, 0 and ended outside."""
    state = daily(8, 20)
    assert state.tau_s(now) == tau_s
    assert state.ended(now) is ended


@pytest.mark.parametrize(
    ("now", "tau_s", "ended"),
    [
        (D0 + 21 * H, 0.0, True),
        (D0 + 22 * H, 8 * 3600.0, False),
        (D0 + 23 * H + 1800 * NS, 6.5 * 3600, False),
        (D0 + DAY_NS, 6 * 3600.0, False),  # midnight: inside, 6 h left
        (D0 + 5 * H, 3600.0, False),
        (D0 + 6 * H - NS, 1.0, False),
        (D0 + 6 * H, 0.0, True),
        (D0 + 12 * H, 0.0, True),
    ],
)
def test_daily_window_wrapping_midnight(now: int, tau_s: float, ended: bool) -> None:
    """22:00-06:00 UTC wraps midnight: tau runs to 06:00 across the day boundary."""
    state = daily(22, 6)
    assert state.tau_s(now) == tau_s
    assert state.ended(now) is ended


@given(
    start_h=st.integers(0, 23),
    end_h=st.integers(0, 23),
    t=st.integers(0, 2 * DAY_NS),
    dt=st.integers(1, 3600 * NS),
)
def test_daily_tau_runs_down_with_the_clock(start_h: int, end_h: int, t: int, dt: int) -> None:
    """Inside any daily window tau falls one second per second until 0, is at most the window
    length, and ended is exactly tau == 0."""
    if start_h == end_h:
        return  # an empty window is refused by the config
    state = daily(start_h, end_h)
    now = D0 + t
    tau = state.tau_s(now)
    length_s = ((end_h - start_h) % 24) * 3600
    assert 0.0 <= tau <= length_s
    assert state.ended(now) == (tau == 0.0)
    if tau * NS > dt:
        assert state.tau_s(now + dt) == pytest.approx(tau - dt / NS, abs=1e-6)


# --------------------------------------------------------------------------- in the core
@functools.cache
def default_params() -> MarketParams:
    """The default config without periodic reconciliations within these tests' minutes."""
    p = market_params(load_config(CONFIG, environ={}).markets[0])
    return dataclasses.replace(
        p, execution=dataclasses.replace(p.execution, reconcile_interval_ns=3_600 * NS)
    )


def session(at_end: AtEnd, length_s: float = 10.0) -> MarketParams:
    """Default config, sigma fixed, a session horizon of ``length_s`` from T0."""
    p = default_params()
    horizon = dataclasses.replace(p.horizon, kind="session", session_length_s=length_s, at_end=at_end)
    return dataclasses.replace(p, volatility=None, horizon=horizon)


class Driver(CoreDriver):
    """The shared core driver, starting at this module's noon."""

    def __init__(self, p: MarketParams, position_lots: int = 0) -> None:
        super().__init__(p, T0, position_lots, prefix="mmz")

    def settle(self, cmds: Sequence[Command], ts_ns: int) -> list[Command]:
        """Ack every place and confirm every cancel, and the same for what that triggers."""
        sent: list[Command] = []
        todo = list(cmds)
        while todo:
            c = todo.pop(0)
            if isinstance(c, Place):
                out = self.feed(OrderAccepted(ts_ns, c.request.client_order_id))
            else:
                out = self.feed(OrderCancelled(ts_ns, c.client_order_id))
            sent += out
            todo += out
        return sent

    def quotes(self) -> list[str]:
        return [o.client_order_id for o in self.core.table.live_orders()]


def places(cmds: Sequence[Command]) -> list[OrderRequest]:
    return [c.request for c in cmds if isinstance(c, Place)]


def cancels(cmds: Sequence[Command]) -> list[str]:
    return [c.client_order_id for c in cmds if isinstance(c, Cancel)]


def long_one_clip(d: Driver) -> None:
    """Quote at T0, fill the bid at T0 + 1 s, requote and settle at T0 + 2 s: 100 lots long, two quotes."""
    cmds = d.book(T0)
    d.settle(cmds, T0 + MS)
    bid = places(cmds)[0]
    assert bid.side is Side.BUY
    d.feed(OwnFill(T0 + 1 * NS, bid.client_order_id, Side.BUY, bid.price_ticks, 100, Liquidity.MAKER, 0.0))
    d.settle(d.book(T0 + 2 * NS), T0 + 2 * NS + MS)
    assert d.core.ledger.position_lots == 100 and len(d.quotes()) == 2


def test_session_quotes_use_t_minus_t() -> None:
    """Within a session the A-S inventory skew fades as tau falls: a long bid rises towards the end."""
    early = places(Driver(session("cancel_only", 100.0), position_lots=300).book(T0))
    late_driver = Driver(session("cancel_only", 100.0), position_lots=300)
    late = places(late_driver.book(T0 + 90 * NS))
    assert [r.side for r in early] == [r.side for r in late] == [Side.BUY, Side.SELL]
    assert early[0].price_ticks < late[0].price_ticks
    # tau = 10 s, flat: half = (0.001*5.3^2*10 + 2000*ln(1.005))/2 = 5.127992 -> 59994.87 / 60005.13
    flat = places(Driver(session("cancel_only", 100.0)).book(T0 + 90 * NS))
    assert [r.price_ticks for r in flat] == [5_999_487, 6_000_513]


def test_flatten_at_session_end_cancels_and_sends_ioc() -> None:
    """at_end=flatten: at T the core cancels every quote and sends one IOC sell of the whole position."""
    d = Driver(session("flatten"))
    long_one_clip(d)
    quotes = d.quotes()
    cmds = d.book(T0 + 10 * NS)
    assert sorted(cancels(cmds)) == sorted(quotes)
    assert {c.decision.label for c in cmds if isinstance(c, Cancel)} == {"cancel(horizon_end)"}
    (ioc,) = places(cmds)
    assert (ioc.side, ioc.qty_lots, ioc.price_ticks, ioc.order_type) == (Side.SELL, 100, BID, OrderType.IOC)
    assert [c.decision.label for c in cmds if isinstance(c, Place)] == ["send(horizon_end)"]
    assert places(d.book(T0 + 10 * NS + MS)) == []  # one unwind at a time
    d.feed(OwnFill(T0 + 10 * NS + 2 * MS, ioc.client_order_id, Side.SELL, BID, 100, Liquidity.TAKER, 0.24))
    assert d.core.ledger.position_lots == 0
    for c in cmds:
        if isinstance(c, Cancel):
            d.feed(OrderCancelled(T0 + 10 * NS + 3 * MS, c.client_order_id))
    assert places(d.book(T0 + 11 * NS)) == [] and d.core.table.live_orders() == []


def test_flatten_short_position_buys_at_the_ask() -> None:
    """Flattening a short position sends an IOC buy of its size at the best ask."""
    d = Driver(session("flatten"), position_lots=-250)
    d.settle(d.book(T0), T0 + MS)
    cmds = d.book(T0 + 10 * NS)
    (ioc,) = places(cmds)
    assert (ioc.side, ioc.qty_lots, ioc.price_ticks, ioc.order_type) == (Side.BUY, 250, ASK, OrderType.IOC)
    assert len(cancels(cmds)) == 2


def test_cancel_only_at_session_end_cancels_and_keeps_position() -> None:
    """at_end=cancel_only: at T every quote is cancelled, nothing is sent, the position stays."""
    d = Driver(session("cancel_only"))
    long_one_clip(d)
    quotes = d.quotes()
    cmds = d.book(T0 + 10 * NS)
    assert sorted(cancels(cmds)) == sorted(quotes) and places(cmds) == []
    assert d.reasons == Counter({"cancel(horizon_end)": 2})
    assert d.settle(cmds, T0 + 10 * NS + MS) == []
    later = d.book(T0 + 11 * NS) + d.feed(Tick(T0 + 12 * NS)) + d.book(T0 + 60 * NS, BID + 9_000, ASK + 9_000)
    assert later == [] and d.core.ledger.position_lots == 100
    assert d.reasons == Counter({"nothing(horizon_end)": 2})


def test_stop_quoting_keeps_resting_orders_until_max_age() -> None:
    """at_end=stop_quoting: after T resting quotes stay until order_max_age_s (30 s), then are
    cancelled, and nothing new is ever sent."""
    d = Driver(session("stop_quoting"))
    cmds = d.book(T0)
    quotes = [r.client_order_id for r in places(cmds)]
    d.settle(cmds, T0 + MS)
    assert d.book(T0 + 10 * NS, BID + 9_000, ASK + 9_000) == []  # far away: would replace if quoting
    assert d.reasons == Counter({"keep(horizon_end)": 2})
    assert d.book(T0 + 30 * NS - 1) == []
    cmds = d.book(T0 + 30 * NS)
    assert cancels(cmds) == quotes and places(cmds) == []
    assert d.reasons == Counter({"cancel(max_order_age)": 2})
    assert d.settle(cmds, T0 + 30 * NS + MS) == []
    assert d.book(T0 + 40 * NS) == [] and d.reasons == Counter({"nothing(horizon_end)": 2})


def test_daily_window_in_the_core() -> None:
    """A 13:00-14:00 window: no quotes at noon, two at 13:00, cancelled at 14:00 (cancel_only)."""
    p = default_params()
    horizon = dataclasses.replace(p.horizon, kind="daily", daily_start_s=13 * 3600, daily_end_s=14 * 3600)
    d = Driver(dataclasses.replace(p, volatility=None, horizon=horizon))
    assert d.book(T0) == [] and d.reasons == Counter({"nothing(horizon_end)": 2})
    cmds = d.book(T0 + H)
    assert [r.side for r in places(cmds)] == [Side.BUY, Side.SELL]
    d.settle(cmds, T0 + H + MS)
    end = d.book(T0 + 2 * H)
    assert sorted(cancels(end)) == sorted(r.client_order_id for r in places(cmds)) and places(end) == []


def test_flatten_ioc_is_not_cancelled_by_the_core() -> None:
    """After the flatten IOC is acked, the core does not cancel its own unwind order."""
    d = Driver(session("flatten"), position_lots=300)
    d.settle(d.book(T0), T0 + MS)
    cmds = d.book(T0 + 10 * NS)
    (ioc,) = places(cmds)
    for cid in cancels(cmds):
        d.feed(OrderCancelled(T0 + 10 * NS + MS, cid))
    out = d.feed(OrderAccepted(T0 + 10 * NS + 2 * MS, ioc.client_order_id))
    assert ioc.client_order_id not in cancels(out)
    order = d.core.table.get(ioc.client_order_id)
    assert order is not None and order.state is OrderState.OPEN
