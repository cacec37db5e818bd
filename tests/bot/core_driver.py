"""A small driver for ``MarketCore`` tests: one core, its book sequence counter, and the decision
reasons counted by the last event. It answers the core's reconciliations like a venue that agrees
with it (the core's live orders open, no fills it has not seen), so tests see only the commands that
matter to them; tests of reconciliation feed their own reports."""

from __future__ import annotations

from collections import Counter

from mm_bot.engine.core_types import QueryOrder, Reconcile, ReconcileResult
from mm_bot.engine.ledger import LedgerTotals
from mm_bot.engine.market import Command, CoreRestore, Event, MarketCore, MarketParams
from mm_bot.engine.orders import ClientOrderIds, OrderState
from mm_bot.model import BookSnapshot, OpenOrder, VenueReport

BID, ASK = 5_999_990, 6_000_010  # best bid / ask in ticks of 0.01: mid 60000.00


class CoreDriver:
    def __init__(self, p: MarketParams, start_ns: int, position_lots: int = 0, prefix: str = "mmt") -> None:
        self.core = MarketCore(p, ClientOrderIds(prefix), start_ns)
        if position_lots:
            self.core.restore(CoreRestore(totals=LedgerTotals(position_lots=position_lots)))
        self.seq = 0
        self.reasons: Counter[str] = Counter()
        self.queries: list[QueryOrder] = []
        assert self._answered(self.core.start(start_ns), start_ns) == []

    def feed(self, event: Event) -> list[Command]:
        before = Counter(self.core.stats.decision_reasons)
        out = self._answered(self.core.on_event(event, event.ts_ns), event.ts_ns)
        self.reasons = self.core.stats.decision_reasons - before
        return out

    def _answered(self, commands: list[Command], now_ns: int) -> list[Command]:
        out: list[Command] = []
        for c in commands:
            if isinstance(c, Reconcile):
                answer = ReconcileResult(now_ns, agreeing_report(self.core, now_ns))
                out += self._answered(self.core.on_event(answer, now_ns), now_ns)
            else:
                if isinstance(c, QueryOrder):
                    self.queries.append(c)
                out.append(c)
        return out

    def snapshot(self, ts_ns: int, seq: int, bid: int, ask: int) -> BookSnapshot:
        """The book ``book`` feeds: one level a side (override for more depth)."""
        return BookSnapshot(ts_ns, ts_ns, seq, ((bid, 5),), ((ask, 5),))

    def book(self, ts_ns: int, bid: int = BID, ask: int = ASK) -> list[Command]:
        self.seq += 1
        return self.feed(self.snapshot(ts_ns, self.seq, bid, ask))


def agreeing_report(core: MarketCore, now_ns: int) -> VenueReport:
    """The venue's report if it agreed with the core: its answered live orders open, nothing else.
    It is dated before the first unanswered order, which it therefore need not show."""
    live = core.table.live_orders()
    unanswered = [o.sent_ns for o in live if o.state is OrderState.PENDING_NEW]
    listed = tuple(
        OpenOrder(o.client_order_id, o.side, o.request.price_ticks, o.request.qty_lots, o.remaining_lots)
        for o in live
        if o.state is not OrderState.PENDING_NEW
    )
    return VenueReport(min([*unanswered, now_ns + 1]), listed, (), None)


def reconciled(core: MarketCore, now_ns: int) -> MarketCore:
    """``core`` after its first reconciliation, answered by a venue that agrees (it may quote then)."""
    for command in core.start(now_ns):
        assert isinstance(command, Reconcile)
        core.on_event(ReconcileResult(now_ns, agreeing_report(core, now_ns)), now_ns)
    return core
