"""Position, cash, fees and volume from our own fills, each fill applied exactly once (sans-IO).

A fill is identified by (client order id, venue trade id): the same fill delivered twice (a replayed
stream, the REST history after a reconnect, a restart) changes nothing the second time, whatever the
order table thinks of its order. A fill without a trade id cannot be recognised again and is always
applied: adapters must give one.

Figures are exact where they can be: the position and the volume are integer lots, the trade cash
flow is an integer in tick x lot units (``notional_ticklots``: sells add, buys subtract price_ticks *
qty_lots); only fees are floats (venues charge fractional amounts). Fees are kept in the asset the
venue charged them in: quote (``fees_quote``), base (``fees_base``: Binance spot charges a buy's fee in
the base it brings in) or a third asset (``fees_other``, e.g. BNB, counted but not valued). Cash in
quote units is ``notional_ticklots * tick * lot - fees_quote``; what the fills left us holding is
``position_base = position_lots * lot - fees_base``; PnL marked at mid m is ``cash + position_base * m``
(third-asset fees are not in it). The strategy's inventory and the position limits count traded lots
(``position_lots``): a base fee is a fraction of a lot per fill.

The ledger is cumulative over the journal's life (``restore`` continues it after a restart); the
``session_*`` figures count this process only.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from mm_bot.model import OwnFill

KEYS_KEPT = 200_000  # fill identities remembered for deduplication (venues replay recent fills only)


@dataclass(frozen=True, slots=True)
class LedgerTotals:
    """Cumulative figures, as the journal sums them from its fills (exact as long as the market's tick
    and lot sizes did not change). Cash with fees is ``notional_ticklots * tick * lot - fees_quote``."""

    position_lots: int = 0
    notional_ticklots: int = 0
    fees_quote: float = 0.0
    volume_lots: int = 0
    fill_count: int = 0
    last_fill_ts_ns: int | None = None  # receive time of the last fill
    fees_base: float = 0.0
    fees_other: tuple[tuple[str, float], ...] = ()  # (asset, amount) of fees in third assets


class Ledger:
    def __init__(self, tick_size: float, lot_size: float) -> None:
        self._tick_lot = tick_size * lot_size
        self._lot = lot_size
        self.position_lots = 0
        self.notional_ticklots = 0
        self.fees_quote = 0.0
        self.fees_base = 0.0
        self.fees_other: dict[str, float] = {}
        self.volume_lots = 0
        self.fills = 0
        self.max_abs_position_lots = 0
        self.start = LedgerTotals()  # what restore brought in: the session figures are relative to it
        self.applied: list[OwnFill] = []  # fills applied since the owner last cleared it (for the journal)
        self._keys: set[tuple[str, str]] = set()
        self._order: deque[tuple[str, str]] = deque()

    def restore(self, totals: LedgerTotals, keys: Iterable[tuple[str, str]]) -> None:
        """Continue from the journal's fills: their totals and identities."""
        self.position_lots = totals.position_lots
        self.notional_ticklots = totals.notional_ticklots
        self.fees_quote = totals.fees_quote
        self.fees_base = totals.fees_base
        self.fees_other = dict(totals.fees_other)
        self.volume_lots = totals.volume_lots
        self.fills = totals.fill_count
        self.max_abs_position_lots = abs(totals.position_lots)
        self.start = totals
        for key in keys:
            self._remember(key)

    def seen(self, fill: OwnFill) -> bool:
        return bool(fill.trade_id) and (fill.client_order_id, fill.trade_id) in self._keys

    def apply(self, fill: OwnFill) -> bool:
        """Apply ``fill`` unless it was applied before; True if it changed the ledger."""
        if self.seen(fill):
            return False
        if fill.trade_id:
            self._remember((fill.client_order_id, fill.trade_id))
        self.applied.append(fill)
        self.position_lots += fill.side * fill.qty_lots
        self.notional_ticklots -= fill.side * fill.price_ticks * fill.qty_lots
        self.fees_quote += fill.fee_quote
        self.fees_base += fill.fee_base
        if fill.fee_other:
            asset = fill.fee_other_asset
            self.fees_other[asset] = self.fees_other.get(asset, 0.0) + fill.fee_other
        self.volume_lots += fill.qty_lots
        self.fills += 1
        self.max_abs_position_lots = max(self.max_abs_position_lots, abs(self.position_lots))
        return True

    @property
    def cash_quote(self) -> float:
        """Trade cash flow minus fees, in quote units."""
        return self.notional_ticklots * self._tick_lot - self.fees_quote

    @property
    def position_base(self) -> float:
        """What the fills left us holding in base units: traded lots minus fees charged in base."""
        return self.position_lots * self._lot - self.fees_base

    def pnl_quote(self, mid: float) -> float:
        """Cash plus the position marked at ``mid`` (cash alone while the mid is unknown)."""
        if mid != mid:  # NaN: no book yet
            return self.cash_quote
        return self.cash_quote + self.position_base * mid

    def totals(self) -> LedgerTotals:
        return LedgerTotals(
            self.position_lots,
            self.notional_ticklots,
            self.fees_quote,
            self.volume_lots,
            self.fills,
            fees_base=self.fees_base,
            fees_other=tuple(sorted(self.fees_other.items())),
        )

    def session(self) -> LedgerTotals:
        """This process's share: the totals minus what ``restore`` brought in."""
        s = self.start
        return LedgerTotals(
            self.position_lots - s.position_lots,
            self.notional_ticklots - s.notional_ticklots,
            self.fees_quote - s.fees_quote,
            self.volume_lots - s.volume_lots,
            self.fills - s.fill_count,
            fees_base=self.fees_base - s.fees_base,
            fees_other=_minus(self.fees_other, dict(s.fees_other)),
        )

    def _remember(self, key: tuple[str, str]) -> None:
        if key in self._keys:
            return
        self._keys.add(key)
        self._order.append(key)
        if len(self._order) > KEYS_KEPT:
            self._keys.discard(self._order.popleft())


def _minus(now: dict[str, float], before: dict[str, float]) -> tuple[tuple[str, float], ...]:
    return tuple((asset, now[asset] - before.get(asset, 0.0)) for asset in sorted(now))
