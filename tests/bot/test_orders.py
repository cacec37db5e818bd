"""The order state table: every transition, illegal events, venue races, exposure, pruning, client ids."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from mm_bot.engine.orders import (
    RESUME,
    TERMINAL_STATES,
    TRANSITIONS,
    ClientOrderIds,
    Order,
    OrderEventKind,
    OrderState,
    OrderStateError,
    OrderTable,
    SideSummary,
    UnknownOrderId,
    base36,
    resume_state,
    run_prefix,
)
from mm_bot.model import (
    CancelRejected,
    Liquidity,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderRequest,
    OrderType,
    OwnFill,
    Side,
)

S, E = OrderState, OrderEventKind
BUY, SELL = Side.BUY, Side.SELL
QTY = 10

# Written by hand from the lifecycle description, independently of TRANSITIONS.
# "resume" = back to the state before the cancel request.
EXPECTED = """
pending_new       ack              open
pending_new       reject           rejected
pending_new       fill             partially_filled
pending_new       final_fill       filled
pending_new       cancel_request   pending_cancel
pending_new       cancelled        cancelled
open              ack              open
open              fill             partially_filled
open              final_fill       filled
open              cancel_request   pending_cancel
open              cancelled        cancelled
partially_filled  ack              partially_filled
partially_filled  fill             partially_filled
partially_filled  final_fill       filled
partially_filled  cancel_request   pending_cancel
partially_filled  cancelled        cancelled
pending_cancel    ack              pending_cancel
pending_cancel    reject           rejected
pending_cancel    fill             pending_cancel
pending_cancel    final_fill       filled
pending_cancel    cancel_request   pending_cancel
pending_cancel    cancelled        cancelled
pending_cancel    cancel_rejected  resume
filled            ack              filled
filled            cancel_rejected  filled
cancelled         ack              cancelled
cancelled         fill             cancelled
cancelled         cancelled        cancelled
cancelled         cancel_rejected  cancelled
rejected          reject           rejected
rejected          cancel_rejected  rejected
"""
EXPECTED_ROWS = [tuple(line.split()) for line in EXPECTED.strip().splitlines()]
TABLE_ROWS = [
    (state.value, kind.value, "resume" if target is RESUME else target.value)
    for state, row in TRANSITIONS.items()
    for kind, target in row.items()
]
VENUE_KINDS = [k for k in E if k is not E.SEND]
LEGAL = {(s, k) for s, k, _ in EXPECTED_ROWS}
ILLEGAL = [(s, k) for s in S for k in VENUE_KINDS if (s.value, k.value) not in LEGAL]


def request(cid: str = "c1", side: Side = BUY, qty: int = QTY, price: int = 100) -> OrderRequest:
    return OrderRequest(client_order_id=cid, side=side, price_ticks=price, qty_lots=qty)


def fill(
    cid: str, qty: int, *, side: Side = BUY, price: int = 100, ts: int = 5, trade_id: str = ""
) -> OwnFill:
    return OwnFill(ts, cid, side, price, qty, Liquidity.MAKER, 0.01, trade_id)


def order_in(state: OrderState, table: OrderTable, cid: str = "c1") -> Order:
    """Drive a fresh order of QTY lots into ``state`` along a minimal path (PENDING_CANCEL: not acked)."""
    table.on_send(request(cid), 1)
    if state in (S.OPEN, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED):
        table.on_ack(OrderAccepted(2, cid))
    if state is S.PARTIALLY_FILLED:
        table.on_fill(fill(cid, 4))
    if state is S.FILLED:
        table.on_fill(fill(cid, QTY))
    if state in (S.PENDING_CANCEL, S.CANCELLED):
        table.on_cancel_request(cid, 3)
    if state is S.CANCELLED:
        table.on_cancelled(OrderCancelled(4, cid))
    if state is S.REJECTED:
        table.on_reject(OrderRejected(2, cid, "post_only_would_cross"))
    order = table.get(cid)
    assert order is not None and order.state is state
    return order


def apply_kind(table: OrderTable, cid: str, kind: OrderEventKind, ts: int = 10) -> Order:
    order = table.get(cid)  # None once pruned: the event must then raise UnknownOrderId
    if kind is E.ACK:
        return table.on_ack(OrderAccepted(ts, cid))
    if kind is E.REJECT:
        return table.on_reject(OrderRejected(ts, cid, "invalid_order"))
    if kind is E.FILL:
        return table.on_fill(fill(cid, 1, ts=ts))
    if kind is E.FINAL_FILL:
        return table.on_fill(fill(cid, max(order.remaining_lots if order else 1, 1), ts=ts))
    if kind is E.CANCEL_REQUEST:
        return table.on_cancel_request(cid, ts)
    if kind is E.CANCELLED:
        return table.on_cancelled(OrderCancelled(ts, cid))
    assert kind is E.CANCEL_REJECTED
    return table.on_cancel_rejected(CancelRejected(ts, cid, "unknown_order"))


# ------------------------------------------------------------------------------ the table
def test_table_matches_the_hand_written_list() -> None:
    """TRANSITIONS and the independent list name exactly the same legal transitions and targets."""
    assert sorted(TABLE_ROWS) == sorted(EXPECTED_ROWS)


def test_terminal_states_are_the_ends() -> None:
    """Terminal states have no way out: every target from a terminal state is itself."""
    assert {S.FILLED, S.CANCELLED, S.REJECTED} == TERMINAL_STATES
    for state in TERMINAL_STATES:
        assert set(TRANSITIONS[state].values()) <= {state}


@pytest.mark.parametrize(
    ("state", "kind", "target"), EXPECTED_ROWS, ids=[f"{s}-{k}" for s, k, _ in EXPECTED_ROWS]
)
def test_hand_written_transition(state: str, kind: str, target: str) -> None:
    """Each transition of the hand-written list happens as written (resume: back to pending_new here)."""
    table = OrderTable()
    order_in(S(state), table)
    after = apply_kind(table, "c1", E(kind))
    assert after.state.value == ("pending_new" if target == "resume" else target)


@pytest.mark.parametrize(
    ("state", "kind"),
    [(s, k) for s, row in TRANSITIONS.items() for k in row],
    ids=lambda x: x.value,
)
def test_table_transition(state: OrderState, kind: OrderEventKind) -> None:
    """Each entry of TRANSITIONS is what the table does; the order's data moves with it."""
    table = OrderTable()
    before = order_in(state, table)
    after = apply_kind(table, "c1", kind)
    target = TRANSITIONS[state][kind]
    assert after.state is (resume_state(before) if target is RESUME else target)
    assert table.get("c1") == after
    assert (table.get("c1") in table.history()) == after.state.is_terminal
    if kind in (E.FILL, E.FINAL_FILL):
        assert after.filled_lots > before.filled_lots


@pytest.mark.parametrize(("state", "kind"), ILLEGAL, ids=lambda x: x.value)
def test_illegal_event_raises_and_changes_nothing(state: OrderState, kind: OrderEventKind) -> None:
    """An event missing from the table raises OrderStateError naming cid, state and event."""
    table = OrderTable()
    before = order_in(state, table, cid="cid42")
    # with nothing remaining, any fill of a FILLED order is classified final_fill
    event = "final_fill" if state is S.FILLED and kind is E.FILL else kind.value
    with pytest.raises(OrderStateError, match=rf"'cid42' in state {state.value}: illegal event {event}"):
        apply_kind(table, "cid42", kind)
    assert table.get("cid42") is before


@pytest.mark.parametrize("state", list(S), ids=lambda s: s.value)
def test_send_with_a_known_client_order_id_raises(state: OrderState) -> None:
    """A second send with the same client order id is refused whatever the first order's state."""
    table = OrderTable()
    order_in(state, table)
    with pytest.raises(OrderStateError, match=f"'c1' in state {state.value}: illegal event send"):
        table.on_send(request(), 50)


def test_unknown_order_raises_unknown_order_id() -> None:
    """Events for an id never sent raise UnknownOrderId (an OrderStateError) naming the id."""
    table = OrderTable()
    with pytest.raises(UnknownOrderId, match="'nope' in state unknown: illegal event ack"):
        table.on_ack(OrderAccepted(1, "nope"))
    with pytest.raises(UnknownOrderId):
        table.on_fill(fill("nope", 1))


# ------------------------------------------------------------------------------ races
def test_fill_races_cancel() -> None:
    """A fill racing a cancel: partial stays PENDING_CANCEL, final wins, cancel_rejected is absorbed."""
    table = OrderTable()
    order_in(S.OPEN, table)
    table.on_cancel_request("c1", 3)
    assert table.on_fill(fill("c1", 4)).state is S.PENDING_CANCEL
    assert table.exposure_lots(BUY) == 6
    assert table.on_fill(fill("c1", 6)).state is S.FILLED
    assert table.exposure_lots(BUY) == 0
    done = table.on_cancel_rejected(CancelRejected(9, "c1", "unknown_order"))
    assert done.state is S.FILLED and done.filled_lots == QTY


def test_cancelled_after_filled_is_inconsistent() -> None:
    """The venue cannot report both a full fill and a cancel: that raises."""
    table = OrderTable()
    order_in(S.FILLED, table)
    with pytest.raises(OrderStateError, match="'c1' in state filled: illegal event cancelled"):
        table.on_cancelled(OrderCancelled(9, "c1"))


def test_fill_before_ack_is_implicit_acceptance() -> None:
    """A fill before the ack accepts the order; the late ack changes neither state nor acceptance time."""
    table = OrderTable()
    table.on_send(request(), 1)
    partial = table.on_fill(fill("c1", 3, ts=7))
    assert partial.state is S.PARTIALLY_FILLED and partial.accepted_ns == 7
    late = table.on_ack(OrderAccepted(9, "c1"))
    assert late.state is S.PARTIALLY_FILLED and late.accepted_ns == 7


def test_final_fill_before_ack_then_late_ack() -> None:
    """A complete fill before the ack ends the order; the ack that follows is absorbed."""
    table = OrderTable()
    table.on_send(request(), 1)
    assert table.on_fill(fill("c1", QTY)).state is S.FILLED
    assert table.on_ack(OrderAccepted(9, "c1")).state is S.FILLED


@pytest.mark.parametrize(
    ("acked", "filled", "expected"),
    [
        (False, 0, S.PENDING_NEW),
        (True, 0, S.OPEN),
        (True, 3, S.PARTIALLY_FILLED),
        (False, 3, S.PARTIALLY_FILLED),
    ],
)
def test_cancel_rejected_resumes_the_pre_cancel_state(acked: bool, filled: int, expected: OrderState) -> None:
    """cancel_rejected returns to what the order would be without the cancel, counting fills during it."""
    table = OrderTable()
    table.on_send(request(), 1)
    table.on_cancel_request("c1", 2)
    if acked:
        table.on_ack(OrderAccepted(3, "c1"))  # the cancel overtook the ack
    if filled:
        table.on_fill(fill("c1", filled))
    assert table.get("c1").state is S.PENDING_CANCEL  # type: ignore[union-attr]
    after = table.on_cancel_rejected(CancelRejected(9, "c1", "unknown_order"))
    assert after.state is expected and after.cancels_in_flight == 0


def test_resent_cancel_waits_for_the_last_answer() -> None:
    """With two cancels in flight, the first cancel_rejected keeps PENDING_CANCEL; the second resumes."""
    table = OrderTable()
    order_in(S.OPEN, table)
    table.on_cancel_request("c1", 3)
    table.on_cancel_request("c1", 4)
    assert table.on_cancel_rejected(CancelRejected(5, "c1", "unknown_order")).state is S.PENDING_CANCEL
    assert table.on_cancel_rejected(CancelRejected(6, "c1", "unknown_order")).state is S.OPEN
    with pytest.raises(OrderStateError, match="state open: illegal event cancel_rejected"):
        table.on_cancel_rejected(CancelRejected(7, "c1", "unknown_order"))


def test_cancel_before_ack_then_reject() -> None:
    """A cancel sent before the ack, then a reject: the order never lived."""
    table = OrderTable()
    table.on_send(request(), 1)
    table.on_cancel_request("c1", 2)
    assert table.on_reject(OrderRejected(3, "c1", "post_only_would_cross")).state is S.REJECTED
    assert table.on_cancel_rejected(CancelRejected(4, "c1", "unknown_order")).state is S.REJECTED


def test_reject_after_acceptance_is_inconsistent() -> None:
    """A reject for an order the venue already acked (even while cancelling) raises."""
    table = OrderTable()
    order_in(S.OPEN, table)
    table.on_cancel_request("c1", 3)
    with pytest.raises(OrderStateError, match="state pending_cancel: illegal event reject: already accepted"):
        table.on_reject(OrderRejected(4, "c1", "unknown"))


def test_late_partial_fill_after_cancelled_is_recorded() -> None:
    """Fills on a separate stream may trail the cancel: recorded, still CANCELLED, no exposure."""
    table = OrderTable()
    order_in(S.CANCELLED, table)
    after = table.on_fill(fill("c1", 4))
    assert after.state is S.CANCELLED and after.filled_lots == 4
    assert table.exposure_lots(BUY) == 0


def test_terminal_duplicates_are_absorbed() -> None:
    """A second cancelled or reject returns the same snapshot (idempotent)."""
    table = OrderTable()
    cancelled = order_in(S.CANCELLED, table)
    assert table.on_cancelled(OrderCancelled(20, "c1")) is cancelled
    rejected = order_in(S.REJECTED, table, cid="c2")
    assert table.on_reject(OrderRejected(20, "c2", "unknown")) is rejected


# ------------------------------------------------------------------------------ fills and queries
def test_fill_accounting_and_average_price() -> None:
    """Filled/remaining lots, exact average price and fees accumulate per fill."""
    table = OrderTable()
    order_in(S.OPEN, table)
    table.on_fill(fill("c1", 2, price=100))
    after = table.on_fill(fill("c1", 6, price=97))
    assert (after.filled_lots, after.remaining_lots) == (8, 2)
    assert after.avg_fill_price_ticks == pytest.approx((2 * 100 + 6 * 97) / 8)
    assert after.fees_quote == pytest.approx(0.02)


def test_replayed_fill_with_trade_id_is_a_no_op() -> None:
    """The same trade id twice counts once (a reconnect replay); a new trade id counts."""
    table = OrderTable()
    order_in(S.OPEN, table)
    first = table.on_fill(fill("c1", 3, trade_id="t1"))
    assert table.on_fill(fill("c1", 3, trade_id="t1")) is first
    assert table.on_fill(fill("c1", 3, trade_id="t2")).filled_lots == 6


@pytest.mark.parametrize(
    ("qty", "side", "message"),
    [
        (11, BUY, "overfill: 11 lots with 10 remaining"),
        (0, BUY, "qty_lots 0 is not positive"),
        (1, SELL, "fill side ask on a bid"),
    ],
)
def test_bad_fills_raise(qty: int, side: Side, message: str) -> None:
    """Overfills, empty fills and fills on the wrong side are inconsistent."""
    table = OrderTable()
    before = order_in(S.OPEN, table)
    with pytest.raises(OrderStateError, match=message):
        table.on_fill(fill("c1", qty, side=side))
    assert table.get("c1") is before


def test_exposure_resting_and_ages() -> None:
    """Exposure counts pending-new and pending-cancel orders; the quote is the newest live order."""
    table = OrderTable()
    table.on_send(request("b1"), 100)
    table.on_ack(OrderAccepted(150, "b1"))
    table.on_cancel_request("b1", 200)  # a replace: cancel b1, send b2
    table.on_send(request("b2", qty=5), 210)
    table.on_send(request("a1", side=SELL, qty=7), 220)
    assert table.exposure_lots(BUY) == 15 and table.exposure_lots(SELL) == 7
    resting = table.resting(BUY)
    assert resting is not None and resting.client_order_id == "b2"
    assert [o.client_order_id for o in table.live_orders()] == ["b1", "b2", "a1"]
    assert [o.client_order_id for o in table.live_orders(SELL)] == ["a1"]
    b1 = table.get("b1")
    assert b1 is not None and b1.age_ns(1000) == 900 and b1.accepted_ns == 150
    assert resting.accepted_ns is None
    table.on_cancelled(OrderCancelled(300, "b1"))
    assert table.exposure_lots(BUY) == 5 and table.resting(SELL) is not None


def test_in_flight_until_every_order_on_the_side_is_answered() -> None:
    """After a replace the side stays in flight until both the new ack and the old cancel arrive."""
    table = OrderTable()
    table.on_send(request("b1"), 1)
    assert table.in_flight(BUY) and not table.in_flight(SELL)
    table.on_ack(OrderAccepted(2, "b1"))
    assert not table.in_flight(BUY)
    table.on_cancel_request("b1", 3)
    only = table.resting(BUY)
    assert only is not None and only.client_order_id == "b1" and table.in_flight(BUY)
    table.on_send(request("b2"), 3)
    table.on_ack(OrderAccepted(4, "b2"))
    assert table.in_flight(BUY)  # b1's cancel is still unanswered
    table.on_cancelled(OrderCancelled(5, "b1"))
    quote = table.resting(BUY)
    assert quote is not None and quote.client_order_id == "b2" and not table.in_flight(BUY)
    table.on_fill(fill("b2", QTY))
    assert table.resting(BUY) is None and not table.in_flight(BUY)


def test_terminal_orders_are_pruned_to_history() -> None:
    """Only the last N terminal orders are kept; live orders are never pruned."""
    table = OrderTable(history=3)
    table.on_send(request("live"), 0)
    for i in range(5):
        order_in(S.CANCELLED, table, cid=f"t{i}")
    assert [o.client_order_id for o in table.history()] == ["t2", "t3", "t4"]
    assert "t0" not in table and "t4" in table and "live" in table
    assert [o.client_order_id for o in table.live_orders()] == ["live"]
    with pytest.raises(UnknownOrderId):
        table.on_cancelled(OrderCancelled(9, "t0"))


LIVE_STATES = [s for s in S if not s.is_terminal]


def _snapshot(table: OrderTable) -> tuple[object, ...]:
    return (table.live_orders(), table.history(), table.side_summary(BUY), table.side_summary(SELL))


@pytest.mark.parametrize("state", LIVE_STATES, ids=lambda s: s.value)
def test_replace_is_a_cancel_request_then_a_send_as_one_change(state: OrderState) -> None:
    one, two = OrderTable(), OrderTable()
    order_in(state, one)
    order_in(state, two)
    version = one.version
    new = one.on_replace("c1", request("c2", price=99), 7)
    two.on_cancel_request("c1", 7)
    assert new == two.on_send(request("c2", price=99), 7)
    assert _snapshot(one) == _snapshot(two)
    assert one.get("c1").state is S.PENDING_CANCEL and new.state is S.PENDING_NEW  # type: ignore[union-attr]
    assert one.version == version + 1


@pytest.mark.parametrize(
    ("old", "new_request", "error"),
    [
        ("c1", request("c1"), OrderStateError),  # the new id is the old one's
        ("c1", request("done"), OrderStateError),  # the new id is a finished order's
        ("c1", request("c2", qty=0), OrderStateError),
        ("done", request("c2"), OrderStateError),  # the old order is finished
        ("nope", request("c2"), UnknownOrderId),
    ],
)
def test_a_refused_replace_changes_nothing(
    old: str, new_request: OrderRequest, error: type[Exception]
) -> None:
    table = OrderTable()
    order_in(S.OPEN, table)
    order_in(S.CANCELLED, table, cid="done")
    before, version = _snapshot(table), table.version
    with pytest.raises(error):
        table.on_replace(old, new_request, 9)
    assert _snapshot(table) == before and table.version == version


# ------------------------------------------------------------------------------ exposure property
@dataclass
class Expected:
    """What the venue has told us about one order, tracked independently of the table."""

    side: Side
    qty: int
    filled: int = 0
    gone: bool = False  # rejected, cancelled or completely filled


class OrderLifecycle(RuleBasedStateMachine):
    """Random event streams, legal or not: the table never breaks its accounting."""

    def __init__(self) -> None:
        super().__init__()
        self.table = OrderTable(history=4)
        self.ids = ClientOrderIds("hyp")
        self.model: dict[str, Expected] = {}
        self.cids: list[str] = []
        self.ts = itertools.count(1)

    @rule(side=st.sampled_from([BUY, SELL]), qty=st.integers(1, 6))
    def send(self, side: Side, qty: int) -> None:
        cid = self.ids.next_id()
        self.table.on_send(request(cid, side=side, qty=qty), next(self.ts))
        self.cids.append(cid)
        self.model[cid] = Expected(side, qty)

    def _try(self, i: int, make: Callable[[str], Order]) -> tuple[str, Order | None, Order | None]:
        """Apply an event to the i-th order; a refused event must leave the table unchanged."""
        cid = self.cids[i % len(self.cids)]
        before = self.table.get(cid)
        try:
            return cid, before, make(cid)
        except OrderStateError:
            assert self.table.get(cid) is before
            return cid, before, None

    @precondition(lambda self: self.cids)
    @rule(i=st.integers(0, 50), kind=st.sampled_from([E.ACK, E.CANCEL_REQUEST, E.CANCEL_REJECTED]))
    def no_end(self, i: int, kind: OrderEventKind) -> None:
        self._try(i, lambda cid: apply_kind(self.table, cid, kind, next(self.ts)))

    @precondition(lambda self: self.cids)
    @rule(i=st.integers(0, 50), kind=st.sampled_from([E.REJECT, E.CANCELLED]))
    def venue_end(self, i: int, kind: OrderEventKind) -> None:
        cid, _, after = self._try(i, lambda cid: apply_kind(self.table, cid, kind, next(self.ts)))
        if after is not None:
            self.model[cid].gone = True

    @precondition(lambda self: self.cids)
    @rule(i=st.integers(0, 50), qty=st.integers(1, 7), trade=st.sampled_from(["", "x", "y"]))
    def fill(self, i: int, qty: int, trade: str) -> None:
        side = self.model[self.cids[i % len(self.cids)]].side
        cid, before, after = self._try(
            i, lambda c: self.table.on_fill(fill(c, qty, side=side, trade_id=trade))
        )
        if after is not None and after is not before:  # not a replayed trade id
            expected = self.model[cid]
            expected.filled += qty
            expected.gone = expected.gone or expected.filled == expected.qty

    @invariant()
    def exposure_is_remaining_of_live_orders(self) -> None:
        for side in (BUY, SELL):
            live = [m for m in self.model.values() if m.side is side and not m.gone]
            assert self.table.exposure_lots(side) == sum(m.qty - m.filled for m in live) >= 0

    @invariant()
    def fills_never_exceed_qty_and_terminal_means_gone(self) -> None:
        for cid, m in self.model.items():
            assert 0 <= m.filled <= m.qty
            order = self.table.get(cid)
            if order is not None:  # None: pruned from history, hence terminal
                assert order.filled_lots == m.filled <= order.request.qty_lots
                assert order.state.is_terminal == m.gone
            else:
                assert m.gone


TestOrderLifecycle = OrderLifecycle.TestCase
TestOrderLifecycle.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)


class SummaryLifecycle(OrderLifecycle):
    """The same streams with IOCs mixed in: the side summaries always agree with the live orders."""

    @rule(side=st.sampled_from([BUY, SELL]), qty=st.integers(1, 6))
    def send_ioc(self, side: Side, qty: int) -> None:
        cid = self.ids.next_id()
        self.table.on_send(OrderRequest(cid, side, 100, qty, OrderType.IOC), next(self.ts))
        self.cids.append(cid)
        self.model[cid] = Expected(side, qty)

    @precondition(lambda self: self.cids)
    @rule(i=st.integers(0, 50), qty=st.integers(0, 6))
    def replace(self, i: int, qty: int) -> None:
        """Cancel an order and send its successor in one change (refused: nothing changes)."""
        old = self.cids[i % len(self.cids)]
        side = self.model[old].side
        cid = self.ids.next_id()
        before = _snapshot(self.table)
        try:
            self.table.on_replace(old, request(cid, side=side, qty=qty), next(self.ts))
        except OrderStateError:
            assert _snapshot(self.table) == before
            return
        self.cids.append(cid)
        self.model[cid] = Expected(side, qty)

    @invariant()
    def summaries_agree_with_the_live_orders(self) -> None:
        for side in (BUY, SELL):
            summary = self.table.side_summary(side)
            live = self.table.live_orders(side)
            quotes = [o for o in live if o.request.order_type is not OrderType.IOC]
            newest = quotes[-1] if quotes else None
            assert summary == SideSummary(
                newest, any(o.in_flight for o in quotes), sum(o.remaining_lots for o in live), len(quotes)
            )
            assert summary.newest is newest
            assert self.table.exposure_lots(side) == summary.exposure_lots


TestSummaryLifecycle = SummaryLifecycle.TestCase
TestSummaryLifecycle.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)


# ------------------------------------------------------------------------------ client order ids
BINANCE_CID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")


def test_client_order_ids_are_deterministic_and_venue_safe() -> None:
    """Same prefix, same sequence; ids are alphanumeric, fixed width, within Binance's and OKX's limits."""
    prefix = run_prefix(1_717_171_717_123_456_789)
    a, b = ClientOrderIds(prefix), ClientOrderIds(prefix)
    ids = [a.next_id() for _ in range(1000)]
    assert ids == [b.next_id() for _ in range(1000)]
    assert len(set(ids)) == 1000 and a.issued == 1000
    assert all(BINANCE_CID.match(c) and c.isalnum() and len(c) <= 32 for c in ids)
    assert len({len(c) for c in ids}) == 1


def test_run_prefix_differs_across_restarts() -> None:
    """Two runs a microsecond apart get different prefixes; no clock is read."""
    assert run_prefix(1_000_000_000_000_000_000) != run_prefix(1_000_000_000_000_001_000)
    assert run_prefix(5_000, tag="bt") == "bt5"


@pytest.mark.parametrize("prefix", ["", "mm-1", "é", "x" * 26])
def test_bad_prefix_is_refused(prefix: str) -> None:
    """Prefixes with other characters or too long for 32-character ids are refused."""
    with pytest.raises(ValueError, match="prefix"):
        ClientOrderIds(prefix)


@given(
    p1=st.text("abcXYZ019", min_size=1, max_size=6),
    p2=st.text("abcXYZ019", min_size=1, max_size=6),
    n1=st.integers(0, 5000),
    n2=st.integers(0, 5000),
)
def test_ids_are_injective_over_prefix_and_counter(p1: str, p2: str, n1: int, n2: int) -> None:
    """Different (prefix, counter) pairs never give the same id: runs cannot collide."""
    id1 = ClientOrderIds(p1, start=n1).next_id()
    id2 = ClientOrderIds(p2, start=n2).next_id()
    assert (id1 == id2) == ((p1, n1) == (p2, n2))


@pytest.mark.parametrize("start", [0, 1290, 1296 * 7 - 3, 36**3 - 5, 36**5 * 11 + 1000, 36**7 - 1300])
def test_next_id_is_the_prefix_and_the_padded_base36_counter(start: int) -> None:
    """Ids are exactly prefix + base36(counter) zero-padded to WIDTH, across the cached head's boundaries."""
    ids = ClientOrderIds("mmX1", start=start)
    for n in range(start, start + 1300):
        assert ids.next_id() == "mmX1" + base36(n).rjust(ClientOrderIds.WIDTH, "0")
    assert ids.issued == start + 1300


def test_next_id_overflow_negative_start_and_new_prefix() -> None:
    """The counter stops at 36**WIDTH; a negative start fails like base36; a reassigned prefix is used."""
    last = ClientOrderIds("p", start=36**7 - 1)
    assert last.next_id() == "pzzzzzzz"
    with pytest.raises(OverflowError, match="exhausted"):
        last.next_id()
    assert last.issued == 36**7
    with pytest.raises(ValueError, match="base36 of a negative number: -5000"):
        ClientOrderIds("p", start=-5000).next_id()
    ids = ClientOrderIds("aa")
    assert ids.next_id() == "aa0000000"
    ids.prefix = "bb"
    assert ids.next_id() == "bb0000001"


# ------------------------------------------------------------------------------ fast paths
def test_states_hash_and_flag_terminal_consistently() -> None:
    """States and event kinds hash by identity (equality is identity); is_terminal is the set's verdict."""
    for state in S:
        assert state.is_terminal == (state in TERMINAL_STATES)
        assert {state: 1}[S(state.value)] == 1
    assert {kind: kind.value for kind in E}[E("cancel_rejected")] == "cancel_rejected"


def _changed(before: Order, after: Order) -> set[str]:
    return {name for name in Order._fields if getattr(before, name) != getattr(after, name)}


def test_each_event_changes_exactly_its_fields() -> None:
    """Each event changes only the fields it is about."""
    table = OrderTable()
    req = request("c1")
    sent = table.on_send(req, 1)
    assert type(sent) is Order
    assert sent == Order(request=req, state=S.PENDING_NEW, sent_ns=1, updated_ns=1)
    steps: list[tuple[Callable[[], Order], set[str]]] = [
        (lambda: table.on_ack(OrderAccepted(2, "c1")), {"state", "updated_ns", "accepted_ns"}),
        (
            lambda: table.on_fill(fill("c1", 3, price=101, ts=3, trade_id="t1")),
            {"state", "updated_ns", "filled_lots", "fill_notional", "fees_quote", "trade_ids"},
        ),
        (
            lambda: table.on_cancel_request("c1", 4),
            {"state", "updated_ns", "cancel_requested_ns", "cancels_in_flight"},
        ),
        (lambda: table.on_cancel_request("c1", 5), {"updated_ns", "cancels_in_flight"}),
        (
            lambda: table.on_cancel_rejected(CancelRejected(6, "c1", "too_late")),
            {"updated_ns", "cancels_in_flight", "reason"},
        ),
        (
            lambda: table.on_fill(fill("c1", 2, ts=7)),
            {"updated_ns", "filled_lots", "fill_notional", "fees_quote"},
        ),
        (
            lambda: table.on_cancel_rejected(CancelRejected(8, "c1", "again")),
            {"state", "updated_ns", "cancels_in_flight", "reason"},
        ),
        (lambda: table.on_cancel_request("c1", 9), {"state", "updated_ns", "cancels_in_flight"}),
        (
            lambda: table.on_cancelled(OrderCancelled(10, "c1", "venue")),
            {"state", "updated_ns", "cancels_in_flight", "reason"},
        ),
        (
            lambda: table.on_fill(fill("c1", 1, ts=11)),
            {"updated_ns", "filled_lots", "fill_notional", "fees_quote"},
        ),
    ]
    before = sent
    for step, expected in steps:
        version = table.version
        after = step()
        assert type(after) is Order and _changed(before, after) == expected
        assert table.get("c1") is after and table.version == version + 1
        before = after
    assert before.state is S.CANCELLED and before.cancel_requested_ns == 4 and before.accepted_ns == 2
    pending = table.on_send(request("c2"), 20)
    rejected = table.on_reject(OrderRejected(21, "c2", "post_only_would_cross"))
    assert type(rejected) is Order and _changed(pending, rejected) == {"state", "updated_ns", "reason"}


def test_side_summaries_follow_every_change() -> None:
    """IOCs count as exposure, not as quotes; the newest quote and the in-flight flag follow each event."""
    table = OrderTable()
    assert table.side_summary(BUY) == SideSummary(None, False, 0)
    table.on_send(request("b1"), 1)
    table.on_send(OrderRequest("i1", BUY, 99, 4, OrderType.IOC), 2)
    table.on_send(request("a1", side=SELL, qty=7), 3)
    assert table.side_summary(BUY) == SideSummary(table.get("b1"), True, 14, 1)
    assert table.side_summary(SELL) == SideSummary(table.get("a1"), True, 7, 1)
    table.on_ack(OrderAccepted(4, "b1"))
    assert table.side_summary(BUY) == SideSummary(table.get("b1"), False, 14, 1)  # the unacked IOC: no quote
    table.on_fill(fill("i1", 4))
    assert table.side_summary(BUY) == SideSummary(table.get("b1"), False, 10, 1)
    assert table.exposure_lots(BUY) == 10
    table.on_cancel_request("a1", 5)
    assert table.side_summary(SELL) == SideSummary(table.get("a1"), True, 7, 1)
    table.on_cancelled(OrderCancelled(6, "a1"))
    assert table.side_summary(SELL) == SideSummary(None, False, 0)
