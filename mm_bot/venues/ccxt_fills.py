"""Which spans of trade history a reconciliation asks the venue for (``CcxtVenue.fills_since``).

Binance answers a ``myTrades`` time query for 24 hours at most (``startTime`` alone: the day after
it), so the span from ``since`` to now is asked for a day window at a time, for at most
``FILLS_HISTORY_MS`` back. A window that ended more than ``SETTLED_MS`` ago cannot change any more
and is kept: a catch-up over weeks of history that runs out of its request timeout goes on where it
stopped at the next attempt, instead of asking for the same days and failing the same way for good.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog

from mm_bot.model import OwnFill

log = structlog.get_logger("mm_bot.venues.ccxt")

WINDOW_MS = 24 * 3_600_000 - 1  # both ends inclusive: one day
CLOCK_SLACK_MS = 60_000  # the venue's clock may run ahead of ours: ask a little past our now
FILLS_HISTORY_MS = 90 * 24 * 3_600_000  # fills older than this are not asked for
SETTLED_MS = 600_000

FetchWindow = Callable[[int, int], Awaitable[list[OwnFill]]]  # (start_ms, end_ms), both inclusive


class FillHistory:
    def __init__(self, symbol: str) -> None:
        self._symbol = symbol
        self._settled: dict[tuple[int, int], list[OwnFill]] = {}

    async def since(self, since_ns: int, now_ns: int, fetch: FetchWindow) -> list[OwnFill]:
        """Our fills at or after ``since_ns`` up to now, window by window, oldest first."""
        start_ms, now_ms = since_ns // 1_000_000, now_ns // 1_000_000 + CLOCK_SLACK_MS
        if start_ms < now_ms - FILLS_HISTORY_MS:
            log.warning("fills_history_capped", market=self._symbol, asked_since_ms=start_ms, days=90)
            start_ms = now_ms - FILLS_HISTORY_MS
        self._settled = {w: f for w, f in self._settled.items() if w[0] >= now_ms - FILLS_HISTORY_MS}
        out: list[OwnFill] = []
        while start_ms <= now_ms:
            end_ms = min(start_ms + WINDOW_MS, now_ms)
            window = self._settled.get((start_ms, end_ms))
            if window is None:
                window = await fetch(start_ms, end_ms)
                if end_ms < now_ms - CLOCK_SLACK_MS - SETTLED_MS:
                    self._settled[(start_ms, end_ms)] = window
            out += window
            start_ms = end_ms + 1
        return out
