"""Risk limits: the daily loss kill switch, the stale-book guard, and the optional taker unwind.

Pure: the runner feeds PnL, book times and positions in; this module answers with gates and
orders to send. The kill switch latches: once fired it stays fired for the rest of the run, the
runner cancels everything, stops quoting and exits non-zero with the reason.

Daily loss is measured against the marked-to-market PnL at the first observation of each UTC day
(day boundaries from the injected clock), so a loss carried from yesterday does not count today.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mm_bot.engine.reasons import Reason
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
    __slots__ = (
        "_day",
        "_day_start_pnl",
        "day_begin_ns",
        "day_end_ns",
        "kill_reason",
        "params",
        "quiet_above",
    )

    def __init__(self, params: RiskParams) -> None:
        self.params = params
        self.kill_reason: str | None = None
        self._day = -1
        self._day_start_pnl = 0.0
        # ``on_pnl`` can change nothing for a PnL above ``quiet_above`` at a time in
        # [day_begin_ns, day_end_ns): callers on the hot path skip the call then (``needs_pnl``).
        self.quiet_above = math.inf
        self.day_begin_ns = self.day_end_ns = 0

    def needs_pnl(self, pnl_quote: float, now_ns: int) -> bool:
        """Whether ``on_pnl(pnl_quote, now_ns)`` could fire the switch or start a day; False means the
        call would change nothing. Spelled out inline by ``MarketCore`` (it runs on every book update)."""
        return pnl_quote <= self.quiet_above or not self.day_begin_ns <= now_ns < self.day_end_ns

    def on_pnl(self, pnl_quote: float, now_ns: int) -> str | None:
        """Feed the marked-to-market PnL; returns the kill reason when this call fires the switch."""
        day = now_ns // NS_PER_DAY
        if day != self._day:
            self._day = day
            self._day_start_pnl = pnl_quote
            self.day_begin_ns, self.day_end_ns = day * NS_PER_DAY, (day + 1) * NS_PER_DAY
            # Half the limit below the day's start: the loss check below cannot fire above it, float
            # rounding included (an infinite limit never fires: -inf).
            self.quiet_above = pnl_quote - self.params.daily_loss_limit_quote / 2.0
        if self.kill_reason is None and self._day_start_pnl - pnl_quote > self.params.daily_loss_limit_quote:
            self.kill_reason = "daily_loss_limit"
            self.quiet_above = -math.inf  # latched: only a new day still needs the call
            return self.kill_reason
        return None

    def kill(self, reason: str) -> None:
        """Fire the switch from outside (operator, verification, venue trouble)."""
        if self.kill_reason is None:
            self.kill_reason = reason

    def daily_pnl(self, pnl_quote: float) -> float:
        return pnl_quote - self._day_start_pnl

    def gate(self, now_ns: int, last_book_ns: int | None) -> Reason | None:
        """A reason no side may quote right now, or None."""
        if self.kill_reason is not None:
            return Reason.KILL_SWITCH
        if last_book_ns is None:
            return Reason.NO_BOOK
        if now_ns - last_book_ns > self.params.stale_book_ns:
            return Reason.STALE_BOOK
        return None

    def unwind(self, position_lots: int, best_bid: int | None, best_ask: int | None) -> Unwind | None:
        """A marketable IOC when the position is beyond the hard limit; None otherwise."""
        hard = self.params.hard_position_lots
        if hard is None or abs(position_lots) <= hard:
            return None
        excess = abs(position_lots) - self.params.max_position_lots
        if position_lots > 0:
            return None if best_bid is None else Unwind(Side.SELL, excess, best_bid)
        return None if best_ask is None else Unwind(Side.BUY, excess, best_ask)
