"""What every network venue adapter (CCXT, gRPC) shares.

``StreamHealth`` says when to announce ``Disconnected`` (the first stream to fail after all were up)
and ``Connected`` (the last one back). ``Recent`` remembers the last keys seen (client ids acked or
ended, trade ids filled), so each piece of news from a reply and from a stream is passed on once.
``retried`` makes a start-up call again after transient failures; ``cancel_ours`` is ``cancel_all``
by our tag. ``BadVenueData``: the venue sent
something we must not trade on (the adapters' translators raise it; the data is dropped and counted).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from mm_bot.errors import RateLimited, TransientVenueError, UnknownOrder
from mm_bot.model import OpenOrder

__all__ = ["BadVenueData", "Recent", "StreamHealth", "cancel_ours", "retried"]


class BadVenueData(ValueError):
    """A value from the venue that does not fit the instrument (off the grid, not finite, missing)."""


class StreamHealth:
    def __init__(self, streams: set[str]) -> None:
        self.down: set[str] = set(streams)  # not (yet) delivering; at start nothing is announced
        self._announced = False  # a Disconnected went out and no Connected since

    def failed(self, stream: str) -> bool:
        """``stream`` failed; whether to announce ``Disconnected`` now."""
        self.down.add(stream)
        announce = not self._announced
        self._announced = True
        return announce

    def delivered(self, stream: str) -> bool:
        """``stream`` delivers again; whether to announce ``Connected`` now (every stream is back)."""
        if stream not in self.down:
            return False
        self.down.discard(stream)
        if self.down or not self._announced:
            return False
        self._announced = False
        return True


class Recent:
    """The last ``size`` keys seen: ``add`` says whether a key is new."""

    def __init__(self, size: int = 10_000) -> None:
        self._keys: OrderedDict[Hashable, None] = OrderedDict()
        self._size = size

    def add(self, key: Hashable) -> bool:
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._size:
            self._keys.popitem(last=False)
        return True


async def retried(
    attempt: Callable[[], Awaitable[Any]],
    timeout_s: float,
    delay_s: float,
    on_retry: Callable[[Exception, float], None],
) -> Any:
    """``attempt()``, made again after each transient failure (a busy venue, a rate limit: waited out
    by its Retry-After) until ``timeout_s`` has passed; a refusal is raised at once."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        try:
            return await attempt()
        except TransientVenueError as exc:
            wait_s = exc.retry_after_s if isinstance(exc, RateLimited) else delay_s
            if loop.time() + wait_s > deadline:
                raise
            on_retry(exc, wait_s)
            await asyncio.sleep(wait_s)
            delay_s = min(delay_s * 2, 5.0)


async def cancel_ours(
    open_orders: list[OpenOrder], tag: str, cancel: Callable[[str], Awaitable[None]]
) -> None:
    """Cancel the open orders whose client id starts with ``tag``, all at once; others' orders are
    left alone. One that is already gone (``UnknownOrder``) is fine; any other failure is raised as
    ``TransientVenueError`` once every cancel has been tried."""
    ours = [o.client_order_id for o in open_orders if o.client_order_id.startswith(tag)]
    results = await asyncio.gather(*(cancel(cid) for cid in ours), return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException) and not isinstance(r, UnknownOrder)]
    if failed:
        raise TransientVenueError(f"cancel_all: {len(failed)} of {len(ours)} cancels failed: {failed[0]}")
