"""Reconciliation: a pure comparison of the venue's report with our state, and what to do about it.

The runner fetches a ``VenueReport`` (open orders, our fills since a point, balances); ``reconcile``
compares it with the order table, the ledger and the expected balances, changes nothing, and returns
a ``Reconciliation`` the core applies. It is the same code at start, after every reconnect, after an
unexpected fill and on the periodic timer. Rules:

- fills the ledger has not seen (by client order id and trade id) are applied, once; a fill without a
  trade id cannot be told from one already applied and is never applied from a report;
- an open order of ours (client id starting with our tag) that we track as unanswered was accepted;
- an open order of ours we do not track live is adopted and cancelled (``orphan``): a crashed
  session's, or one we had concluded never took effect. One we saw end after the report was
  requested is left alone (the report is older than our news), and so is one we saw fill completely
  (an open-orders list lagging the private stream);
- an order we track live that the venue does not list, sent before the report was requested, is
  looked up by client id (it may have filled, been cancelled, or never arrived);
- balances: for every asset with a baseline, the venue's total must equal the baseline plus what our
  fills say (base: + position - base fees; quote: + cash - quote fees) within a tolerance; any difference is a
  mismatch, and a mismatch pulls the market's quotes until a later reconciliation agrees.

Orders whose client id does not start with our tag are someone else's (manual trading on the same
account, another bot with its own journal, or a replaced journal's crashed session): counted, never
touched. The tag is the journal's (``Journal.order_tag``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mm_bot.engine.core_types import ExecutionParams, Reconcile
from mm_bot.engine.ledger import Ledger
from mm_bot.engine.order_states import OrderState
from mm_bot.engine.orders import OrderTable
from mm_bot.model import Instrument, OpenOrder, OwnFill, VenueReport

QUOTE_TOLERANCE = 1e-6  # relative (with a floor of this many quote units): venues round fees
FILL_LOOKBACK_NS = 300 * 1_000_000_000  # a reconciliation asks for fills since the last one minus this


@dataclass(frozen=True, slots=True)
class Reconciliation:
    missed_fills: tuple[OwnFill, ...] = ()
    accepted: tuple[OpenOrder, ...] = ()  # ours, unanswered for us, open at the venue
    orphans: tuple[OpenOrder, ...] = ()  # ours, open at the venue, not live for us: adopt and cancel
    lookups: tuple[str, ...] = ()  # live for us, not open at the venue: look up by client id
    mismatches: tuple[str, ...] = ()  # what disagrees, for logs and metrics
    foreign_orders: int = 0  # open orders that are not ours
    bad_reports: int = 0  # open orders or fills of ours the report gets impossibly wrong (ignored)

    @property
    def agrees(self) -> bool:
        return not self.mismatches


class Reconciler:
    """When to reconcile, and what the last reconciliation said: one is asked for at start (nothing is
    quoted before it is answered), after every reconnect, after an unexpected fill, and every
    ``reconcile_interval_ns`` (``status_retry_ns`` while the venue disagrees or the fetch failed).
    ``baseline`` holds the balances before our fills, for ``compare_assets``."""

    def __init__(self, execution: ExecutionParams, start_ns: int) -> None:
        self.execution = execution
        self.baseline: dict[str, float] = {}
        self.compare_assets: frozenset[str] = frozenset()  # set by the app: assets no other market moves
        self.reconciled = False  # the venue answered since the start (or the last reconnect)
        self.mismatches: tuple[str, ...] = ()
        self.foreign_orders = 0  # open orders on the market that are not ours, at the last report
        self.fills_known_ns = 0  # every fill before this was in a report we applied
        self._due_ns: int | None = start_ns  # None while one is outstanding
        self._again = False  # asked for while one was outstanding: send another once it is answered

    @property
    def next_due_ns(self) -> int | None:
        return self._due_ns

    def soon(self, now_ns: int) -> None:
        """Reconcile at the next chance (a fill or an order event we did not expect); if one is out,
        another after its answer (it was requested before this news)."""
        if self._due_ns is None:
            self._again = True
        else:
            self._due_ns = min(self._due_ns, now_ns)

    def restart(self, now_ns: int) -> None:
        """The venue's streams came back: nothing is quoted until a reconciliation asked for now is
        answered."""
        self.reconciled = False
        self.soon(now_ns)

    def request(self, now_ns: int, fills_since: Callable[[], int], *, now: bool = False) -> Reconcile | None:
        """The reconciliation to ask for at ``now_ns``, if one is due (or ``now``) and none is out;
        it asks for fills since ``fills_since()`` (asked only then), or since the last applied report
        if that is later, minus a margin (a quiet market's reconciliation asks for minutes, not for
        the month since its last fill)."""
        if self._due_ns is None or not (now or now_ns >= self._due_ns):
            return None
        self._due_ns = None
        return Reconcile(max(max(fills_since(), self.fills_known_ns) - FILL_LOOKBACK_NS, 0))

    def failed(self, now_ns: int) -> None:
        self._due_ns = now_ns if self._again else now_ns + self.execution.status_retry_ns
        self._again = False

    def compare(
        self, report: VenueReport, table: OrderTable, ledger: Ledger, instrument: Instrument, now_ns: int
    ) -> Reconciliation:
        """``reconcile`` the report (first baselines taken from it), remember its verdict and schedule
        the next one."""
        self.baseline.update(first_baselines(report, ledger, self.compare_assets, self.baseline, instrument))
        compared = {a: v for a, v in self.baseline.items() if a in self.compare_assets}
        result = reconcile(report, table, ledger, compared, instrument, self.execution.id_tag)
        self.mismatches = result.mismatches
        self.fills_known_ns = max(self.fills_known_ns, report.requested_ns)  # its missed fills get applied
        self.foreign_orders = result.foreign_orders
        ex = self.execution
        if self._again:  # news arrived after this report was requested: ask again before trusting it
            self._again, self._due_ns = False, now_ns
        else:
            self.reconciled = True
            self._due_ns = now_ns + (ex.reconcile_interval_ns if result.agrees else ex.status_retry_ns)
        return result


def reconcile(
    report: VenueReport,
    table: OrderTable,
    ledger: Ledger,
    baseline: Mapping[str, float],
    instrument: Instrument,
    tag: str,
) -> Reconciliation:
    """Compare ``report`` with our state (see the module docstring); changes nothing."""
    ours_fills = [f for f in report.fills if f.client_order_id.startswith(tag)]
    missed = tuple(f for f in ours_fills if f.trade_id and f.qty_lots > 0 and not ledger.seen(f))
    bad = len(ours_fills) - len([f for f in ours_fills if f.trade_id and f.qty_lots > 0])
    accepted, orphans, foreign = [], [], 0
    listed = set()
    for o in report.open_orders:
        listed.add(o.client_order_id)
        if not o.client_order_id.startswith(tag):
            foreign += 1
            continue
        if not 0 <= o.remaining_lots <= o.qty_lots or o.qty_lots <= 0:
            bad += 1
            continue
        ours = table.get(o.client_order_id)
        if ours is None or ours.state.is_terminal:
            if ours is not None and (
                ours.updated_ns >= report.requested_ns or ours.state is OrderState.FILLED
            ):
                continue  # our news is newer than the report, or we saw it fill: the report lags
            orphans.append(o)
        elif ours.state is OrderState.PENDING_NEW:
            accepted.append(o)
    lookups = tuple(
        o.client_order_id
        for o in table.live_orders()
        if o.client_order_id not in listed and o.sent_ns < report.requested_ns
    )
    mismatches = (
        () if report.balances is None else _balance_mismatches(report, ledger, missed, baseline, instrument)
    )
    return Reconciliation(missed, tuple(accepted), tuple(orphans), lookups, mismatches, foreign, bad)


def first_baselines(
    report: VenueReport,
    ledger: Ledger,
    assets: frozenset[str],
    known: Mapping[str, float],
    instrument: Instrument,
) -> dict[str, float]:
    """Baselines for the compared assets seen for the first time: what the venue holds now minus what
    the fills we know of did (base: the position; quote: the cash)."""
    if report.balances is None:
        return {}
    own = {instrument.base: ledger.position_base, instrument.quote: ledger.cash_quote}
    return {a: report.balances.get(a, 0.0) - own.get(a, 0.0) for a in assets if a not in known}


def _balance_mismatches(
    report: VenueReport,
    ledger: Ledger,
    missed: tuple[OwnFill, ...],
    baseline: Mapping[str, float],
    instrument: Instrument,
) -> tuple[str, ...]:
    assert report.balances is not None
    tick, lot = float(instrument.tick_size), float(instrument.lot_size)
    position = ledger.position_base + sum(f.side * f.qty_lots * lot - f.fee_base for f in missed)
    cash = ledger.cash_quote + sum(
        -f.side * f.price_ticks * f.qty_lots * tick * lot - f.fee_quote for f in missed
    )
    expected = {instrument.base: position, instrument.quote: cash}
    out = []
    for asset, change in expected.items():
        if asset not in baseline:
            continue
        want = baseline[asset] + change
        got = report.balances.get(asset, 0.0)
        tolerance = lot / 2 if asset == instrument.base else QUOTE_TOLERANCE * max(1.0, abs(want))
        if abs(got - want) > tolerance:
            out.append(f"{asset}: venue {got!r}, our fills say {want!r}")
    return tuple(out)
