"""Risk limits: the daily loss kill switch and the optional taker unwind.

Pure: the core feeds PnL and positions in; this module answers with a kill reason or an order to
send. The kill switch latches: once fired it stays fired for the rest of the run, the runner cancels
everything, stops quoting and exits non-zero with the reason.

Daily loss is measured against the marked-to-market PnL at the first observation of each UTC day
(day boundaries from the injected clock), so a loss carried from yesterday does not count today. The
baseline of the current day is kept in the journal, so a restart within the day keeps it
(``restore_day``); ``day_baseline`` tells the caller when a new one was set.
"""

from __future__ import annotations

from dataclasses import dataclass

from mm_bot.engine.reasons import KillReason
from mm_bot.model import Side

NS_PER_DAY = 86_400 * 1_000_000_000


@dataclass(frozen=True, slots=True)
class RiskParams:
    max_position_lots: int
    hard_position_lots: int | None  # above this, unwind with a marketable IOC (taker fees)
    daily_loss_limit_quote: float  # positive number: the largest loss allowed per UTC day
    stale_book_ns: int


@dataclass(frozen=True, slots=True)
class Unwind:
    """A taker order that brings the position back to the quoting limit."""

    side: Side
    qty_lots: int
    price_ticks: int  # marketable limit: the opposite best price


class RiskState:
    def __init__(self, params: RiskParams) -> None:
        self.params = params
        self.kill_reason: KillReason | None = None
        self.day = -1  # UTC day number of the current baseline
        self.day_start_pnl = 0.0

    def restore_day(self, day: int, start_pnl_quote: float) -> None:
        """Continue a day whose baseline an earlier session set (from the journal)."""
        self.day = day
        self.day_start_pnl = start_pnl_quote

    def on_pnl(self, pnl_quote: float, now_ns: int) -> KillReason | None:
        """Feed the marked-to-market PnL; returns the kill reason when this call fires the switch."""
        day = now_ns // NS_PER_DAY
        if day != self.day:
            self.day = day
            self.day_start_pnl = pnl_quote
        if self.kill_reason is None and self.day_start_pnl - pnl_quote > self.params.daily_loss_limit_quote:
            self.kill_reason = KillReason.DAILY_LOSS_LIMIT
            return self.kill_reason
        return None

    def kill(self, reason: KillReason) -> None:
        """Fire the switch from outside (operator, verification, venue trouble)."""
        if self.kill_reason is None:
            self.kill_reason = reason

    def daily_pnl(self, pnl_quote: float) -> float:
        return pnl_quote - self.day_start_pnl

    def unwind(self, position_lots: int, best_bid: int | None, best_ask: int | None) -> Unwind | None:
        """A marketable IOC when the position is beyond the hard limit; None otherwise."""
        hard = self.params.hard_position_lots
        if hard is None or abs(position_lots) <= hard:
            return None
        excess = abs(position_lots) - self.params.max_position_lots
        if position_lots > 0:
            return None if best_bid is None else Unwind(Side.SELL, excess, best_bid)
        return None if best_ask is None else Unwind(Side.BUY, excess, best_ask)


def flatten(position_lots: int, best_bid: int | None, best_ask: int | None) -> Unwind | None:
    """A marketable IOC that brings the position to zero (the horizon's end with ``at_end: flatten``)."""
    if position_lots > 0 and best_bid is not None:
        return Unwind(Side.SELL, position_lots, best_bid)
    if position_lots < 0 and best_ask is not None:
        return Unwind(Side.BUY, -position_lots, best_ask)
    return None
