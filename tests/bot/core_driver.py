"""A small driver for ``MarketCore`` tests: one core, its book sequence counter, and the decision
reasons counted by the last event."""

from __future__ import annotations

from collections import Counter

from mm_bot.engine.market import Command, MarketCore, MarketParams, Tick
from mm_bot.engine.orders import ClientOrderIds
from mm_bot.model import BookSnapshot, VenueEvent

BID, ASK = 5_999_990, 6_000_010  # best bid / ask in ticks of 0.01: mid 60000.00


class CoreDriver:
    def __init__(self, p: MarketParams, start_ns: int, position_lots: int = 0, prefix: str = "t") -> None:
        self.core = MarketCore(p, ClientOrderIds(prefix), start_ns)
        if position_lots:
            self.core.restore(position_lots, 0.0, 0.0, 0, 0)
        self.seq = 0
        self.reasons: Counter[str] = Counter()

    def feed(self, event: VenueEvent | Tick) -> list[Command]:
        before = Counter(self.core.stats.decision_reasons)
        out = self.core.on_event(event, event.ts_ns)
        self.reasons = self.core.stats.decision_reasons - before
        return out

    def snapshot(self, ts_ns: int, seq: int, bid: int, ask: int) -> BookSnapshot:
        """The book ``book`` feeds: one level a side (override for more depth)."""
        return BookSnapshot(ts_ns, ts_ns, seq, ((bid, 5),), ((ask, 5),))

    def book(self, ts_ns: int, bid: int = BID, ask: int = ASK) -> list[Command]:
        self.seq += 1
        return self.feed(self.snapshot(ts_ns, self.seq, bid, ask))
