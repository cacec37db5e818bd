"""``TraceRecorder``: builds a run's ``RunTrace`` (``trace.py``) while the core runs: a backtest's
(the driver calls ``on_book`` and ``on_fill``) or a paper or live session's (``on_event``, as the
runner's observer).

- samples: after the core has handled a book, at most one per ``sample_interval_ns`` of virtual time
  (the first book at or after the interval has passed since the previous sample; 0: every book).
  ``bid_quote`` / ``ask_quote`` are the price of the core's newest live quote on the side, whether
  or not the venue has acknowledged it yet; ``pnl_quote`` is the core's cumulative PnL marked to
  its mid; ``sigma`` the core's estimate;
- fills: every fill the core received, when it received it;
- decisions: every decision the core took (per side; both sides are decided on every update). The
  core counts decisions in its ``MarketStats``; the recorder replaces that object, before anything
  is decided, with one that also keeps each decision and its time.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from mm_bot.backtest.trace import RunTrace
from mm_bot.engine.core_types import MarketStats
from mm_bot.engine.decide import SideDecision
from mm_bot.engine.market import MarketCore
from mm_bot.model import BookSnapshot, Liquidity, OwnFill, Side

__all__ = ["TraceRecorder"]

_FAR_PAST = -(1 << 62)


class _TracedStats(MarketStats):
    """The core's counters, also keeping every decision with its time."""

    __slots__ = ("trace_decisions",)

    def __init__(self, recent: deque[tuple[int, SideDecision]]) -> None:
        super().__init__(recent=recent)
        self.trace_decisions: list[tuple[int, SideDecision]] = []

    def record(self, d: SideDecision, now_ns: int) -> None:
        MarketStats.record(self, d, now_ns)
        self.trace_decisions.append((now_ns, d))


class TraceRecorder:
    def __init__(self, core: MarketCore, sample_interval_ns: int = 100_000_000) -> None:
        if sample_interval_ns < 0:
            raise ValueError(f"sample_interval_ns must be >= 0, got {sample_interval_ns}")
        if core.stats.decisions:
            raise ValueError("attach the recorder before the core decides anything")
        self.core = core
        self._stats = _TracedStats(core.stats.recent)
        core.stats = self._stats
        self._interval = sample_interval_ns
        self._next_sample_ns = _FAR_PAST
        self._sample_ts: list[int] = []
        self._samples: list[tuple[float, float, float, float, float, float, float, float]] = []
        self._fills: list[tuple[int, int, float, float, float, bool]] = []
        self._tick = float(core.instrument.tick_size)
        self._lot = float(core.instrument.lot_size)

    def on_book(self, now_ns: int) -> None:
        """The core has just handled a book it received at ``now_ns``."""
        if now_ns < self._next_sample_ns:
            return
        self._next_sample_ns = now_ns + self._interval
        core, tick = self.core, self._tick
        book = core.book
        summaries = core.table.summaries()
        bid, ask = summaries[Side.BUY].newest, summaries[Side.SELL].newest
        self._sample_ts.append(now_ns)
        self._samples.append(
            (
                book.mid,
                math.nan if book.best_bid is None else book.best_bid * tick,
                math.nan if book.best_ask is None else book.best_ask * tick,
                math.nan if bid is None else bid.request.price_ticks * tick,
                math.nan if ask is None else ask.request.price_ticks * tick,
                core.ledger.position_base,
                core.pnl_quote(),
                core.sigma(),
            )
        )

    def on_fill(self, fill: OwnFill) -> None:
        """A fill the core has just received."""
        self._fills.append(
            (
                fill.ts_ns,
                int(fill.side),
                fill.price_ticks * self._tick,
                fill.qty_lots * self._lot,
                fill.fee_quote,
                fill.liquidity is Liquidity.MAKER,
            )
        )

    def on_event(self, event: object, now_ns: int) -> None:
        """The core has just handled ``event`` at ``now_ns`` (a live runner's ``observer``)."""
        if isinstance(event, BookSnapshot):
            self.on_book(now_ns)
        elif isinstance(event, OwnFill):
            self.on_fill(event)

    @property
    def decisions(self) -> int:
        return len(self._stats.trace_decisions)

    def build(self, *, symbol: str, start_ns: int, end_ns: int) -> RunTrace:
        s = np.array(self._samples, np.float64).reshape(-1, 8).T.copy()
        fills = self._fills
        decisions = self._stats.trace_decisions
        stats = self.core.stats
        return RunTrace(
            ts_ns=np.array(self._sample_ts, np.int64),
            mid=s[0],
            best_bid=s[1],
            best_ask=s[2],
            bid_quote=s[3],
            ask_quote=s[4],
            position_base=s[5],
            pnl_quote=s[6],
            sigma=s[7],
            fill_ts_ns=np.array([f[0] for f in fills], np.int64),
            fill_side=np.array([f[1] for f in fills], np.int64),
            fill_price=np.array([f[2] for f in fills], np.float64),
            fill_qty_base=np.array([f[3] for f in fills], np.float64),
            fill_fee_quote=np.array([f[4] for f in fills], np.float64),
            fill_maker=np.array([f[5] for f in fills], np.bool_),
            decision_ts_ns=np.array([t for t, _ in decisions], np.int64),
            decision_side=np.array([int(d.side) for _, d in decisions], np.int64),
            decision_action=[d.action.value for _, d in decisions],
            decision_reason=[d.reason.value for _, d in decisions],
            quotes_sent=stats.quotes_sent,
            cancels_sent=stats.cancels_sent,
            symbol=symbol,
            strategy=self.core.params.quote.kind,
            start_ns=start_ns,
            end_ns=end_ns,
            tick_size=self._tick,
            lot_size=self._lot,
        )
