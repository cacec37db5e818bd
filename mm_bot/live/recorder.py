"""What one market's runner records after each event: the journal (fills, order states, the day's loss
baseline, starting balances, decisions that did something), the metrics and the log lines.

The journal comes first and is the one that matters. What an event changed (fills, order states) and
the intents of the orders it sends are committed in one transaction before any request starts: one
commit per event, and an order is never sent unless its intent is stored. What can wait is done in
``report``, once the requests are out: buffering the decisions (a full buffer is written then) and
the journal's WAL checkpoint. A journal that cannot be written stops trading: the first failure is
kept in ``failure``, nothing more is written (the runner halts the core, cancels every order and
stops), while metrics and logs go on.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from mm_bot.engine.core_types import Cancel, Command, Place, ReconcileResult
from mm_bot.engine.decide import SideDecision
from mm_bot.engine.market import Event, MarketCore
from mm_bot.engine.orders import Order
from mm_bot.engine.reasons import Action, Reason
from mm_bot.journal import Journal, JournalError
from mm_bot.metrics import MarketMetrics
from mm_bot.model import BookSnapshot, Connected, Disconnected, OwnFill, PublicTrade, Resynced, Side
from mm_bot.model import OrderRejected as OrderRejectedEvent

log = structlog.get_logger("mm_bot.runner")


class Recorder:
    def __init__(
        self,
        core: MarketCore,
        journal: Journal | None,
        metrics: MarketMetrics | None,
        clock_ns: Callable[[], int],
    ) -> None:
        self.core = core
        self.symbol = core.instrument.symbol
        self._journal = journal
        self._metrics = metrics
        self._clock = clock_ns
        self.failure: JournalError | None = None
        self._day = core.risk.day
        self._baseline = dict(core.reconciler.baseline)
        self._log = log.bind(market=self.symbol)
        self._foreign_logged = 0  # foreign open orders last warned of
        self._kill_counted = False  # the kill switch's trip is counted once, when the core fires it
        if metrics is not None:
            metrics.watch(decisions=core.stats.decisions, dropped=core.book.dropped)

    def record(self, event: Event, commands: list[Command]) -> bool:
        """Record what ``event`` changed and what ``commands`` will do; False if the journal failed
        (now or before): the new orders among ``commands`` must then not be sent."""
        orders, fills = self.journal(commands)
        self.report(event, commands, orders, fills)
        return self.failure is None

    def journal(self, commands: list[Command]) -> tuple[list[Order], list[OwnFill]]:
        """Journal what the last event changed and the intents of ``commands``; return the changes
        (for ``report``). A failure is kept in ``failure``."""
        orders, fills = self.core.changes()
        try:
            self._journal_changes(orders, fills, commands)
        except JournalError as exc:
            self._failed(exc)
        return orders, fills

    def report(
        self, event: Event, commands: list[Command], orders: list[Order], fills: list[OwnFill]
    ) -> None:
        """The decisions, log lines and metrics of one event, and the journal's checkpoint when due:
        after its requests have gone out, they can wait."""
        j = self._journal
        if j is not None and self.failure is None:
            try:
                now = self._clock()
                for d in _decisions(commands):
                    j.record_decision(
                        now, self.symbol, d.side, d.action.value, d.reason.value, d.price_ticks or None
                    )
                j.checkpoint_if_due()
            except JournalError as exc:
                self._failed(exc)
        self._log_lines(event, commands, fills)
        if self._metrics is not None:
            self._export(self._metrics, event, orders, fills)

    def flush(self) -> None:
        if self._journal is not None and self.failure is None:
            try:
                self._journal.flush()
            except JournalError as exc:
                self._failed(exc)

    # ------------------------------------------------------------------------------ journal
    def _journal_changes(self, orders: list[Order], fills: list[OwnFill], commands: list[Command]) -> None:
        j = self._journal
        if j is None or self.failure is not None:
            return
        with j.batch():
            self._write(j, orders, fills, commands)

    def _write(self, j: Journal, orders: list[Order], fills: list[OwnFill], commands: list[Command]) -> None:
        core, now = self.core, self._clock()
        for command in commands:  # first: the same event may also change the new order's state
            if isinstance(command, Place):
                j.record_order_intent(command.request, self.symbol, now)
        for fill in fills:
            j.record_fill(fill, core.instrument)
        for order in orders:
            j.update_order_state(order.client_order_id, order.state, now, order.reason)
        if core.risk.day != self._day and core.risk.day >= 0:
            self._day = core.risk.day
            j.set_day_baseline(self.symbol, core.risk.day, core.risk.day_start_pnl, now)
        if core.reconciler.baseline != self._baseline:
            self._baseline = dict(core.reconciler.baseline)
            j.set_starting_balances(self.symbol, core.reconciler.baseline, now)

    def _failed(self, exc: JournalError) -> None:
        if self.failure is None:
            self.failure = exc
            self._log.error("journal_write_failed", error=str(exc))
            self.core.halt(Reason.JOURNAL_FAILED)

    # --------------------------------------------------------------------------------- logs
    def _log_lines(self, event: Event, commands: list[Command], fills: list[OwnFill]) -> None:
        core = self.core
        for d in _decisions(commands):
            self._log.debug("decision_made", side=d.side.label, decision=d.label, price_ticks=d.price_ticks)
        for fill in fills:
            self._log.info(
                "fill_received",
                side=fill.side.label,
                price_ticks=fill.price_ticks,
                qty_lots=fill.qty_lots,
                liquidity=fill.liquidity.value,
                position_base=core.ledger.position_base,
            )
        if isinstance(event, OrderRejectedEvent):
            self._log.info("order_rejected", cid=event.client_order_id, reason=event.reason)
        elif isinstance(event, ReconcileResult):
            if core.reconciler.mismatches:
                self._log.warning("reconcile_mismatch", problems=list(core.reconciler.mismatches))
            foreign = core.reconciler.foreign_orders
            if foreign and foreign != self._foreign_logged:
                # Not ours to touch: manual orders, another bot's, or those of a journal replaced
                # after a crash (then cancel them by hand: nothing else will).
                self._log.warning("foreign_orders_open", count=foreign, tag=core.params.execution.id_tag)
            self._foreign_logged = foreign

    # ------------------------------------------------------------------------------ metrics
    def _export(self, m: MarketMetrics, event: Event, orders: list[Order], fills: list[OwnFill]) -> None:
        core = self.core
        if isinstance(event, BookSnapshot):
            m.market_event("book")
            m.book_updated(event.ts_ns)
            m.set_mid(core.book.mid)
        elif isinstance(event, PublicTrade):
            m.market_event("trade")
        elif isinstance(event, Connected | Resynced):
            m.set_connected(True)  # a venue says Connected only once every stream is back after a drop
            m.venue_event("resync" if isinstance(event, Resynced) else "reconnect")
        elif isinstance(event, Disconnected):
            m.set_connected(False)
            m.venue_event("disconnect")
        elif isinstance(event, ReconcileResult) and event.report is not None and core.reconciler.mismatches:
            m.venue_event("reconcile_mismatch")
        elif isinstance(event, OrderRejectedEvent):
            order = core.table.get(event.client_order_id)
            if order is not None:
                m.order_rejected(order.side, event.reason)
        for fill in fills:
            m.fill(fill.side, fill.liquidity.value, core.instrument.qty_of(fill.qty_lots))
        if core.kill_reason is not None and not self._kill_counted:
            self._kill_counted = True  # now, not once the shutdown is over: the alert need not wait for it
            m.kill_switch(core.kill_reason)
        m.set_position(core.ledger.position_base)
        m.set_pnl(core.pnl_quote())
        m.set_fees(core.ledger.fees_quote)
        quote = core.quoter.last_quote
        if quote is not None:
            m.set_reservation(quote.reservation_price)
        if orders:
            self._export_quotes(m)

    def _export_quotes(self, m: MarketMetrics) -> None:
        """Our resting quotes, spread, model inputs and open orders: after anything that changed them."""
        core = self.core
        inst = core.instrument
        prices: dict[Side, float | None] = {}
        for side in (Side.BUY, Side.SELL):
            order = core.table.resting(side)
            prices[side] = inst.price_of(order.request.price_ticks) if order is not None else None
            m.set_quote_price(side, prices[side])
        bid, ask = prices[Side.BUY], prices[Side.SELL]
        if bid is not None and ask is not None and core.book.mid == core.book.mid:
            m.set_spread_bps((ask - bid) / core.book.mid * 1e4)
        m.set_sigma(core.sigma())
        m.set_intensity(*core.quoter.last_a_k)
        m.set_open_orders(len(core.table.live_orders()))


def _decisions(commands: list[Command]) -> list[SideDecision]:
    """The decisions behind ``commands``, once each: a replace is two commands carrying one decision."""
    return [
        c.decision
        for c in commands
        if isinstance(c, Place) or (isinstance(c, Cancel) and c.decision.action is not Action.REPLACE)
    ]
