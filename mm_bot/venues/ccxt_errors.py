"""ccxt's errors in the bot's error tree, mapped once, and the small helpers ``CcxtVenue`` needs.

The rule for a place: refused before the venue took it (post-only would cross, funds, a bad order, a
rate limit, a timestamp outside the receive window) is ``OrderRejected``; anything whose fate is
unknown (a timeout, a network error, a 5xx, a duplicate client id that may be our own order) is
``TransientVenueError``: the core looks the order up, nothing is resent.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import ccxt.pro as ccxtpro

from mm_bot.errors import (
    InsufficientFunds,
    OrderRejected,
    PostOnlyWouldCross,
    RateLimited,
    TransientVenueError,
    UnknownOrder,
    VenueError,
)

DEFAULT_RETRY_AFTER_S = 1.0  # when a rate-limit reply names no Retry-After


class VenueMismatch(VenueError):
    """The venue's market does not match the configured instrument (tick, lot, symbol)."""


class CredentialsRefused(VenueError):
    """The venue refused our API key or signature."""


def venue_error(exc: Exception, *, placing: bool, retry_after_s: float) -> VenueError:
    """ccxt's ``exc`` as ours; ``placing``: it answered a place."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, ccxtpro.DDoSProtection | ccxtpro.RateLimitExceeded):
        if placing:
            return OrderRejected(text, reason="rate_limited")
        return RateLimited(text, retry_after_s)
    if isinstance(exc, ccxtpro.OrderImmediatelyFillable):
        return PostOnlyWouldCross(text)
    if isinstance(exc, ccxtpro.InsufficientFunds):
        return InsufficientFunds(text)
    if isinstance(exc, ccxtpro.OrderNotFound):
        return UnknownOrder(text)
    if isinstance(exc, ccxtpro.InvalidNonce) and placing:
        return OrderRejected(text, reason="clock_skew")  # refused by its timestamp, not taken
    if isinstance(exc, ccxtpro.InvalidOrder) and "Duplicate" not in text:
        return OrderRejected(text, reason="invalid_order")
    if isinstance(exc, ccxtpro.BadRequest) and placing:
        return OrderRejected(text, reason="invalid_order")  # a filter or parameter refusal: not taken
    if isinstance(exc, ccxtpro.AuthenticationError | ccxtpro.PermissionDenied):
        return CredentialsRefused(f"the venue refused our credentials: {text}")
    return TransientVenueError(text)


def retry_after_s(exchange: Any) -> float:
    """The ``Retry-After`` of the exchange's last reply, in seconds (a default if it named none)."""
    headers = getattr(exchange, "last_response_headers", None) or {}
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        return max(float(value), 0.0) if value is not None else DEFAULT_RETRY_AFTER_S
    except ValueError:
        return DEFAULT_RETRY_AFTER_S


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


class Recent:
    """The last ``size`` keys seen: ``add`` says whether a key is new."""

    def __init__(self, size: int = 10_000) -> None:
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def add(self, key: str) -> bool:
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._size:
            self._keys.popitem(last=False)
        return True
