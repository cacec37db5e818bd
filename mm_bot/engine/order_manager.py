"""The order manager: turns decisions into commands, keeps the order table, and chases the venue until
every order's fate is known (sans-IO).

Rules it keeps:

- The table learns about a place or cancel when the command is emitted, before it is sent.
- A place whose outcome is unknown (timeout, transport error) stays ``PENDING_NEW``, counted as
  exposure, and is looked up by client id (``QueryOrder``) once one request timeout has passed since it
  was sent: by then the request is no longer travelling (the venue refuses a request older than its
  receive window, which the adapter keeps inside the request timeout: ``ccxt_client.receive_window_ms``),
  so "not found" means it never took effect. Nothing is ever resent blindly.
- An order that waits for its ack longer than the request timeout is looked up the same way.
- A cancel that gets no answer is sent again every ``cancel_retry_ns``; after ``cancel_max_retries``
  the order is looked up. If the venue says it is still open, the chase starts again: a cancel is
  chased until the venue answers.
- A refused cancel (the venue did not have the order open) is followed by a lookup, which tells a fill
  that raced the cancel from an order that is gone.
- Older live quotes on a side (a replaced order whose cancel was refused) are cancelled as
  ``superseded``.

The table's transition rules are in ``order_states``; how a fill changes the position is the
ledger's business, not this module's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mm_bot.engine.core_types import Cancel, Command, ExecutionParams, Place, QueryOrder
from mm_bot.engine.decide import SideDecision
from mm_bot.engine.ids import ClientOrderIds
from mm_bot.engine.order_states import OrderState, OrderStateError
from mm_bot.engine.orders import Order, OrderTable, SideSummary
from mm_bot.engine.reasons import Action, Reason
from mm_bot.model import OpenOrder, OrderReport, OrderRequest, OrderStatus, OrderType, Side

S = OrderState


@dataclass(slots=True)
class _Chase:
    """How far the chase of one order has gone. ``place``: waiting for the answer to a place;
    ``cancel``: for the answer to a cancel; ``lookup``: the order's state must be looked up."""

    kind: Literal["place", "cancel", "lookup"]
    next_ns: int  # when to act next (resend the cancel, or look the order up)
    cancel_sends: int = 0  # cancels sent since the chase (re)started
    querying: bool = False  # a lookup is outstanding


class OrderManager:
    def __init__(self, ids: ClientOrderIds, execution: ExecutionParams, order_type: OrderType) -> None:
        self.ids = ids
        self.table = OrderTable()
        self.execution = execution
        self.order_type = order_type
        self._chases: dict[str, _Chase] = {}
        self._sides: dict[Side, SideSummary] = {}
        self._sides_version = -1
        self.wants_reconcile = False  # a lookup showed fills we may not have: fetch them

    # ------------------------------------------------------------------------------ views
    def sides(self) -> dict[Side, SideSummary]:
        """Each side's summary as ``decide`` sees it. It changes only with the order table (its
        ``version``), not with the market: kept until the table changes."""
        if self._sides_version != self.table.version:
            self._sides = self.table.summaries()
            self._sides_version = self.table.version
        return self._sides

    # ------------------------------------------------------------------------------ commands
    def place(
        self,
        side: Side,
        price_ticks: int,
        qty_lots: int,
        decision: SideDecision,
        now_ns: int,
        order_type: OrderType | None = None,
    ) -> Place:
        request = OrderRequest(self.ids.next_id(), side, price_ticks, qty_lots, order_type or self.order_type)
        self.table.on_send(request, now_ns)
        self._await_answer(request.client_order_id, now_ns)
        return Place(request, decision)

    def replace(self, decision: SideDecision, now_ns: int) -> tuple[Cancel, Place]:
        cid, side = decision.cancel_client_order_id, decision.side
        request = OrderRequest(
            self.ids.next_id(), side, decision.price_ticks, decision.qty_lots, self.order_type
        )
        self.table.on_replace(cid, request, now_ns)
        self._start_cancel_chase(cid, now_ns)
        self._await_answer(request.client_order_id, now_ns)
        return Cancel(cid, side, decision), Place(request, decision)

    def cancel(self, client_order_id: str, side: Side, decision: SideDecision, now_ns: int) -> Cancel:
        self.table.on_cancel_request(client_order_id, now_ns)
        self._start_cancel_chase(client_order_id, now_ns)
        return Cancel(client_order_id, side, decision)

    def cancel_every(self, reason: Reason, now_ns: int, side: Side | None = None) -> list[Cancel]:
        """Cancel every live order (of ``side``) whose cancel is not already on the way."""
        return [
            self.cancel(
                o.client_order_id,
                o.side,
                SideDecision(o.side, Action.CANCEL, reason, cancel_client_order_id=o.client_order_id),
                now_ns,
            )
            for o in self.table.live_orders(side)
            if o.state is not S.PENDING_CANCEL
        ]

    def strays(self, sides: dict[Side, SideSummary], now_ns: int) -> list[Cancel]:
        """Cancel live quotes that are not their side's newest and not already being cancelled (an old
        order back to live after a refused cancel, an adopted one). ``sides``: the sides' summaries
        before this requote's decisions, which never leave a stray themselves."""
        out = []
        for side, summary in sides.items():
            if summary.quotes < 2:
                continue
            for order in self.table.live_orders(side):
                if order is summary.newest or not order.is_quote or order.state is S.PENDING_CANCEL:
                    continue
                cid = order.client_order_id
                decision = SideDecision(side, Action.CANCEL, Reason.SUPERSEDED, cancel_client_order_id=cid)
                out.append(self.cancel(cid, side, decision, now_ns))
        return out

    def timers(self, now_ns: int) -> list[Command]:
        """What the chase of every unsettled order asks for now: cancels sent again, lookups."""
        if not self._chases:
            return []
        ex = self.execution
        out: list[Command] = []
        for cid, chase in list(self._chases.items()):
            order = self.table.get(cid)
            if order is None or order.state.is_terminal:
                del self._chases[cid]  # ended: nothing left to chase
                continue
            if chase.querying or now_ns < chase.next_ns:
                continue
            if chase.kind == "cancel" and chase.cancel_sends <= ex.cancel_max_retries:
                chase.cancel_sends += 1
                chase.next_ns = now_ns + ex.cancel_retry_ns
                self.table.on_cancel_request(cid, now_ns)
                decision = SideDecision(
                    order.side, Action.CANCEL, Reason.CANCEL_RETRY, cancel_client_order_id=cid
                )
                out.append(Cancel(cid, order.side, decision))
            else:
                chase.querying = True
                out.append(QueryOrder(cid))
        return out

    def next_timer_ns(self) -> int | None:
        """The earliest time ``timers`` may have something to do."""
        times = [c.next_ns for c in self._chases.values() if not c.querying]
        return min(times) if times else None

    def inherit(self, request: OrderRequest, sent_ns: int, filled_lots: int) -> None:
        """An order an earlier session sent and did not see end: fillable until its fate is known."""
        self.table.inherit(request, sent_ns, filled_lots)
        self._await_answer(request.client_order_id, sent_ns)

    def _await_answer(self, client_order_id: str, sent_ns: int) -> None:
        """A place is answered by an ack, a reject or a fill; without one within a request timeout of
        being sent (when it can no longer be in transit), the order is looked up."""
        self._chases[client_order_id] = _Chase("place", sent_ns + self.execution.request_timeout_ns)

    # ------------------------------------------------------------------------------ outcomes
    def on_place_unknown(self, client_order_id: str, now_ns: int) -> None:
        order = self.table.get(client_order_id)
        if order is not None and order.state is S.PENDING_NEW:
            due = order.sent_ns + self.execution.request_timeout_ns
            self._chases.setdefault(client_order_id, _Chase("place", due))

    def on_cancel_failed(self, client_order_id: str, now_ns: int) -> None:
        chase = self._chases.get(client_order_id)
        if chase is not None and chase.kind == "cancel" and not chase.querying:
            chase.next_ns = min(chase.next_ns, now_ns + self.execution.cancel_retry_ns)

    def answered(self, order: Order, now_ns: int) -> None:
        """The venue said something about ``order`` (its new snapshot): stop or redirect its chase."""
        chase = self._chases.get(order.client_order_id)
        if chase is None:
            return
        if order.state.is_terminal or (chase.kind == "place" and order.state is not S.PENDING_NEW):
            del self._chases[order.client_order_id]
        elif chase.kind == "cancel" and order.state is not S.PENDING_CANCEL and not chase.querying:
            # The cancel was refused although we still see the order live: a fill may have raced it,
            # or the venue no longer has it. Look it up.
            chase.kind, chase.next_ns = "lookup", now_ns

    def on_status(self, client_order_id: str, report: OrderReport | None, now_ns: int) -> None:
        """Apply the answer to a lookup (None: the lookup failed; try again later)."""
        ex = self.execution
        chase = self._chases.get(client_order_id)
        order = self.table.get(client_order_id)
        if chase is None or order is None or order.state.is_terminal:
            self._chases.pop(client_order_id, None)
            return
        chase.querying = False
        if report is None:
            chase.next_ns = now_ns + ex.status_retry_ns
            return
        if report.filled_lots > order.filled_lots:
            self.wants_reconcile = True  # the venue saw fills we did not: fetch them (the ledger
            # applies each once, whatever becomes of the order here)
        status = report.status
        if status is OrderStatus.OPEN:
            if order.state is S.PENDING_CANCEL:  # our cancel did not take: chase it again
                chase.kind, chase.cancel_sends, chase.next_ns = "cancel", 0, now_ns
            else:  # live, as we thought (an unanswered place was accepted)
                self.table.adopt(_open_order(order, report), order.request.order_type, now_ns)
                del self._chases[client_order_id]
        elif status is OrderStatus.NOT_FOUND:
            if now_ns < order.sent_ns + ex.request_timeout_ns:
                chase.next_ns = order.sent_ns + ex.request_timeout_ns  # may still be on its way
            else:
                state = S.CANCELLED if order.accepted else S.REJECTED
                self.settle(client_order_id, state, "not_found", now_ns)
                self.wants_reconcile = self.wants_reconcile or order.accepted
        else:
            state = {OrderStatus.FILLED: S.FILLED, OrderStatus.CANCELLED: S.CANCELLED}.get(status, S.REJECTED)
            self.settle(client_order_id, state, f"status_{status.value}", now_ns)

    def look_up(self, client_order_id: str, now_ns: int) -> None:
        """Have the order looked up by client id at the next chance (the venue does not list it, or
        has refused to cancel it as unknown)."""
        order = self.table.get(client_order_id)
        if order is None or order.state.is_terminal:
            return
        chase = self._chases.get(client_order_id)
        if chase is None:
            self._chases[client_order_id] = _Chase("lookup", now_ns)
        elif not chase.querying:
            chase.kind, chase.next_ns = "lookup", now_ns

    def settle(self, client_order_id: str, state: OrderState, reason: str, now_ns: int) -> Order:
        """End a live order as the venue says it ended, and stop chasing it."""
        self._chases.pop(client_order_id, None)
        return self.table.resolve(client_order_id, state, reason, now_ns)

    def adopt(self, report: OpenOrder, now_ns: int) -> Order:
        """Track an order of ours that the venue holds (it is then cancelled as an orphan)."""
        self._chases.pop(report.client_order_id, None)
        return self.table.adopt(report, self.order_type, now_ns)

    def acknowledge(self, client_order_id: str, report: OpenOrder, now_ns: int) -> None:
        """The venue lists an order we still see as unanswered: it was accepted."""
        order = self.table.get(client_order_id)
        if order is not None and order.state is S.PENDING_NEW:
            self.table.adopt(report, order.request.order_type, now_ns)
            self._chases.pop(client_order_id, None)

    def _start_cancel_chase(self, client_order_id: str, now_ns: int) -> None:
        chase = self._chases.get(client_order_id)
        if chase is not None and chase.kind == "lookup":
            return  # a lookup settles the order either way; if it is open, the cancel is chased then
        if chase is None or chase.kind != "cancel":
            due = now_ns + self.execution.cancel_retry_ns
            self._chases[client_order_id] = _Chase(
                "cancel", due, cancel_sends=1, querying=bool(chase and chase.querying)
            )
        elif not chase.querying:
            chase.cancel_sends += 1
            chase.next_ns = now_ns + self.execution.cancel_retry_ns


def _open_order(order: Order, report: OrderReport) -> OpenOrder:
    r = order.request
    return OpenOrder(r.client_order_id, r.side, r.price_ticks, r.qty_lots, r.qty_lots - report.filled_lots)


__all__ = ["OrderManager", "OrderStateError"]
