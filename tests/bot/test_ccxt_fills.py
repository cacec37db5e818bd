"""The day windows a reconciliation asks a venue's trade history for: contiguous, capped at 90 days,
and a long catch-up that times out goes on where it stopped (review finding: after weeks without a
fill every start-up reconciliation timed out on the same days, so the bot never quoted)."""

from __future__ import annotations

import asyncio

import pytest

from mm_bot.model import Liquidity, OwnFill, Side
from mm_bot.venues.ccxt_fills import CLOCK_SLACK_MS, FILLS_HISTORY_MS, WINDOW_MS, FillHistory

DAY_MS = 86_400_000
NOW_NS = 1_800_000_000_000 * 1_000_000


class History:
    """A venue's trade history with one fill a day; ``budget`` windows answered, then a timeout."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.asked: list[tuple[int, int]] = []

    async def fetch(self, start_ms: int, end_ms: int) -> list[OwnFill]:
        if self.budget == 0:
            raise TimeoutError("the reconciliation's deadline")
        self.budget -= 1
        self.asked.append((start_ms, end_ms))
        first = -(-start_ms // DAY_MS) * DAY_MS + 1  # one fill a day, 1 ms after midnight
        return [OwnFill(t * 1_000_000, "mbx1", Side.BUY, 1, 1, Liquidity.MAKER, 0.0, str(t))
                for t in range(first, end_ms + 1, DAY_MS)]  # fmt: skip


async def test_windows_are_contiguous_days_up_to_now() -> None:
    venue = History(budget=100)
    fills = await FillHistory("BTC/USDT").since(NOW_NS - 3 * DAY_MS * 1_000_000, NOW_NS, venue.fetch)
    now_ms = NOW_NS // 1_000_000 + CLOCK_SLACK_MS
    assert venue.asked[0][0] == NOW_NS // 1_000_000 - 3 * DAY_MS and venue.asked[-1][1] == now_ms
    assert all(b[0] == a[1] + 1 for a, b in zip(venue.asked, venue.asked[1:], strict=False))
    assert all(end - start <= WINDOW_MS for start, end in venue.asked)
    assert len({f.trade_id for f in fills}) == len(fills) == 3


async def test_a_catch_up_that_times_out_goes_on_where_it_stopped() -> None:
    history, since = FillHistory("BTC/USDT"), NOW_NS - 40 * DAY_MS * 1_000_000
    first = History(budget=25)
    with pytest.raises(TimeoutError):
        await history.since(since, NOW_NS, first.fetch)
    second = History(budget=25)
    fills = await history.since(since, NOW_NS + 6_000_000_000, second.fetch)  # the retry, 6 s later
    assert len(second.asked) == 41 - 25  # the settled days are not asked for again
    assert len(fills) == 40 and len({f.trade_id for f in fills}) == 40


async def test_history_is_capped_at_90_days() -> None:
    venue = History(budget=200)
    await FillHistory("BTC/USDT").since(0, NOW_NS, venue.fetch)
    assert venue.asked[0][0] == NOW_NS // 1_000_000 + CLOCK_SLACK_MS - FILLS_HISTORY_MS
    assert len(venue.asked) == 91


def test_a_since_in_the_future_asks_nothing() -> None:
    assert asyncio.run(FillHistory("X").since(NOW_NS + 10**15, NOW_NS, History(0).fetch)) == []
