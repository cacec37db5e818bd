"""Decision tables: every reason ``decide`` can give, lockouts, tolerance bands and risk gates."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mm_bot.engine.decide import DecideParams, SideTarget, decide_side
from mm_bot.engine.lockouts import LockoutParams, Lockouts
from mm_bot.engine.order_states import OrderState
from mm_bot.engine.orders import Order, SideSummary
from mm_bot.engine.reasons import Action, Reason
from mm_bot.engine.risk import RiskParams, RiskState, Unwind
from mm_bot.model import OrderRequest, OrderType, Side

MS = 1_000_000
PARAMS = DecideParams(max_order_age_ns=10_000 * MS)
NOW = 1_000_000 * MS


def lockouts() -> Lockouts:
    return Lockouts(
        LockoutParams(after_fill_ns=500 * MS, after_reject_ns=2_000 * MS, between_orders_ns=100 * MS)
    )


def resting(
    price: int = 100,
    remaining: int = 5,
    age_ms: int = 1_000,
    in_flight: bool = False,
    cancelling: bool = False,
) -> SideSummary:
    """A side whose newest quote (``c1``, 10 lots) rests at ``price`` with ``remaining`` lots left."""
    state = OrderState.PENDING_CANCEL if cancelling else OrderState.OPEN
    request = OrderRequest("c1", Side.BUY, price, 10, OrderType.POST_ONLY)
    order = Order(request, state, NOW - age_ms * MS, NOW, filled_lots=10 - remaining)
    return SideSummary(order, in_flight or cancelling, remaining, 1)


NO_ORDER = SideSummary(None, False, 0)


def run(
    target: SideTarget,
    rest: SideSummary | None,
    gate: Reason | None = None,
    locks: Lockouts | None = None,
    tolerance: float = 2.0,
) -> tuple[Action, Reason]:
    d = decide_side(Side.BUY, target, rest or NO_ORDER, gate, locks or lockouts(), tolerance, PARAMS, NOW)
    return d.action, d.reason


GO = SideTarget(price_ticks=100, qty_lots=5)


@pytest.mark.parametrize(
    ("target", "rest", "gate", "expected"),
    [
        (GO, None, None, (Action.SEND, Reason.OPTIMAL_PRICE)),
        (GO, resting(101), None, (Action.KEEP, Reason.WITHIN_TOLERANCE)),
        (GO, resting(102), None, (Action.KEEP, Reason.WITHIN_TOLERANCE)),
        (GO, resting(103), None, (Action.REPLACE, Reason.OPTIMAL_PRICE)),
        (GO, resting(100, age_ms=10_000), None, (Action.REPLACE, Reason.MAX_ORDER_AGE)),
        (SideTarget(100, 3), resting(100, remaining=5), None, (Action.REPLACE, Reason.SIZE_CHANGE)),
        (SideTarget(100, 5), resting(100, remaining=2), None, (Action.KEEP, Reason.WITHIN_TOLERANCE)),
        (GO, resting(120, in_flight=True), None, (Action.NOTHING, Reason.ORDER_IN_FLIGHT)),
        (SideTarget(100, 0, Reason.MAX_POSITION), resting(), None, (Action.CANCEL, Reason.MAX_POSITION)),
        (SideTarget(100, 0, Reason.MAX_POSITION), None, None, (Action.NOTHING, Reason.MAX_POSITION)),
        (GO, resting(), Reason.KILL_SWITCH, (Action.CANCEL, Reason.KILL_SWITCH)),
        (GO, None, Reason.KILL_SWITCH, (Action.NOTHING, Reason.KILL_SWITCH)),
        (GO, resting(), Reason.STALE_BOOK, (Action.CANCEL, Reason.STALE_BOOK)),
        (GO, None, Reason.WARM_UP, (Action.NOTHING, Reason.WARM_UP)),
        (GO, None, Reason.NO_BOOK, (Action.NOTHING, Reason.NO_BOOK)),
        (GO, resting(), Reason.HORIZON_END, (Action.CANCEL, Reason.HORIZON_END)),
        # A gate over an order whose cancel is already outstanding: nothing more to send.
        (GO, resting(cancelling=True), Reason.KILL_SWITCH, (Action.NOTHING, Reason.KILL_SWITCH)),
        # A gate over an order whose ack is outstanding: cancelled all the same.
        (GO, resting(in_flight=True), Reason.STALE_BOOK, (Action.CANCEL, Reason.STALE_BOOK)),
        (
            SideTarget(100, 0, Reason.MAX_POSITION),
            resting(in_flight=True),
            None,
            (Action.CANCEL, Reason.MAX_POSITION),
        ),
    ],
)
def test_decision_table(
    target: SideTarget, rest: SideSummary | None, gate: Reason | None, expected: tuple[Action, Reason]
) -> None:
    """Each row: inputs -> the one action and reason the rules in decide.py prescribe."""
    assert run(target, rest, gate) == expected


def test_tolerance_band_edges() -> None:
    """The band is inclusive: exactly the tolerance away keeps, one tick beyond replaces."""
    assert run(GO, resting(97), tolerance=3.0) == (Action.KEEP, Reason.WITHIN_TOLERANCE)
    assert run(GO, resting(96), tolerance=3.0) == (Action.REPLACE, Reason.OPTIMAL_PRICE)
    assert run(GO, resting(100), tolerance=0.0) == (Action.KEEP, Reason.WITHIN_TOLERANCE)
    assert run(GO, resting(101), tolerance=0.0) == (Action.REPLACE, Reason.OPTIMAL_PRICE)


def test_fill_lockout_blocks_sends_then_expires() -> None:
    """After a fill: nothing is sent on that side until the lockout ends; the other side is free."""
    locks = lockouts()
    locks.on_fill(Side.BUY, NOW - 100 * MS)
    assert run(GO, None, locks=locks) == (Action.NOTHING, Reason.FILL_LOCKOUT)
    ask = decide_side(Side.SELL, GO, NO_ORDER, None, locks, 2.0, PARAMS, NOW)
    assert (ask.action, ask.reason) == (Action.SEND, Reason.OPTIMAL_PRICE)
    later = decide_side(Side.BUY, GO, NO_ORDER, None, locks, 2.0, PARAMS, NOW + 400 * MS)
    assert (later.action, later.reason) == (Action.SEND, Reason.OPTIMAL_PRICE)


def test_fill_lockout_cancels_an_order_that_moved_but_keeps_one_within_band() -> None:
    """Under a fill lockout a moved order is cancelled (no replacement), a close one is kept."""
    locks = lockouts()
    locks.on_fill(Side.BUY, NOW)
    assert run(GO, resting(110), locks=locks) == (Action.CANCEL, Reason.FILL_LOCKOUT)
    assert run(GO, resting(101), locks=locks) == (Action.KEEP, Reason.WITHIN_TOLERANCE)


def test_reject_lockout_outranks_fill_lockout() -> None:
    """With both running the reject lockout is the reason, and it lasts its own length."""
    locks = lockouts()
    locks.on_fill(Side.BUY, NOW)
    locks.on_reject(Side.BUY, NOW)
    assert run(GO, None, locks=locks) == (Action.NOTHING, Reason.REJECT_LOCKOUT)
    assert locks.active(Side.BUY, NOW + 600 * MS) is Reason.REJECT_LOCKOUT
    assert locks.active(Side.BUY, NOW + 2_000 * MS) is None


_LOCK_EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["fill", "reject", "order"]), st.sampled_from(list(Side)), st.integers(0, 3_000)
    ),
    max_size=12,
)


@given(events=_LOCK_EVENTS, at_ms=st.integers(0, 6_000))
def test_lockouts_match_their_definition(events: list[tuple[str, Side, int]], at_ms: int) -> None:
    """Whatever the order of events: a kind's deadline is its latest start plus its length, ``active``
    names the most serious running one (reject, fill, order) and ``until_ns`` the last deadline."""
    locks = lockouts()
    length = {"fill": 500 * MS, "reject": 2_000 * MS, "order": 100 * MS}
    until = {(kind, side): 0 for kind in length for side in Side}
    for kind, side, t_ms in events:
        {"fill": locks.on_fill, "reject": locks.on_reject, "order": locks.on_order_sent}[kind](
            side, t_ms * MS
        )
        until[kind, side] = max(until[kind, side], t_ms * MS + length[kind])
    now = at_ms * MS
    for side in Side:
        running = [k for k in ("reject", "fill", "order") if now < until[k, side]]
        expected = {
            "reject": Reason.REJECT_LOCKOUT,
            "fill": Reason.FILL_LOCKOUT,
            "order": Reason.ORDER_LOCKOUT,
        }
        assert locks.active(side, now) is (expected[running[0]] if running else None)
        assert locks.until_ns(side) == max(until[k, side] for k in length)


def test_order_lockout_keeps_a_moved_order() -> None:
    """Between-orders lockout is a rate limit: a moved order is kept rather than left unquoted."""
    locks = lockouts()
    locks.on_order_sent(Side.BUY, NOW - 50 * MS)
    assert run(GO, resting(110), locks=locks) == (Action.KEEP, Reason.ORDER_LOCKOUT)
    assert run(GO, None, locks=locks) == (Action.NOTHING, Reason.ORDER_LOCKOUT)
    assert locks.active(Side.BUY, NOW + 50 * MS) is None


def test_replace_carries_prices_sizes_and_the_old_id() -> None:
    """A replace names the order to cancel and the new price and size; labels read action(reason)."""
    locks = lockouts()
    bid = decide_side(Side.BUY, SideTarget(95, 6), resting(90), None, locks, 1.0, PARAMS, NOW)
    ask = decide_side(Side.SELL, SideTarget(105, 3), NO_ORDER, None, locks, 1.0, PARAMS, NOW)
    assert (bid.action, bid.price_ticks, bid.qty_lots, bid.cancel_client_order_id) == (
        Action.REPLACE,
        95,
        6,
        "c1",
    )
    assert (ask.action, ask.price_ticks, ask.qty_lots) == (Action.SEND, 105, 3)
    assert bid.label == "replace(optimal_price)"
    assert ask.side is Side.SELL


# ------------------------------------------------------------------------------------ risk
def risk(hard: int | None = 15) -> RiskState:
    return RiskState(
        RiskParams(
            max_position_lots=10,
            hard_position_lots=hard,
            daily_loss_limit_quote=100.0,
            stale_book_ns=2_000 * MS,
        )
    )


def test_daily_loss_fires_kill_switch_once_and_latches() -> None:
    """A loss beyond the limit within one UTC day fires the switch; it stays fired."""
    r = risk()
    day = 86_400 * 1_000_000_000
    assert r.on_pnl(50.0, 3 * day) is None
    assert r.on_pnl(-49.0, 3 * day + 1) is None  # loss 99 from the day's start
    assert r.on_pnl(-51.0, 3 * day + 2) == "daily_loss_limit"
    assert r.on_pnl(500.0, 3 * day + 3) is None  # already fired: reported once
    assert r.kill_reason == "daily_loss_limit"


def test_restored_day_baseline_counts_the_earlier_loss() -> None:
    """A restart within the day continues its baseline: the loss before the restart still counts."""
    r = risk()
    day = 86_400 * 1_000_000_000
    r.restore_day(3, 50.0)  # the earlier session saw PnL 50 at the day's start
    assert r.on_pnl(-51.0, 3 * day + 5) == "daily_loss_limit"  # 101 down since then


def test_daily_loss_resets_at_the_utc_day_boundary() -> None:
    """Yesterday's loss does not count against today's limit."""
    r = risk()
    day = 86_400 * 1_000_000_000
    r.on_pnl(0.0, day)
    assert r.on_pnl(-90.0, 2 * day - 1) is None
    assert r.on_pnl(-150.0, 2 * day) is None  # new day starts at -150
    assert r.daily_pnl(-160.0) == pytest.approx(-10.0)


def test_unwind_only_beyond_the_hard_limit_back_to_the_quoting_limit() -> None:
    """Taker unwind sizes the IOC to return to max position, at the opposite best price."""
    r = risk()
    assert r.unwind(15, 99, 101) is None
    assert r.unwind(16, 99, 101) == Unwind(Side.SELL, 6, 99)
    assert r.unwind(-20, 99, 101) == Unwind(Side.BUY, 10, 101)
    assert r.unwind(16, None, 101) is None
    assert risk(hard=None).unwind(100, 99, 101) is None
