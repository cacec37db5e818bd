"""ccxt's errors in the bot's error tree, mapped once, and the small helpers ``CcxtVenue`` needs.

The rule for a place: refused before the venue took it (post-only would cross, funds, a bad order, a
rate limit, a timestamp outside the receive window) is ``OrderRejected``; anything whose fate is
unknown (a timeout, a network error, a 5xx, a duplicate client id that may be our own order) is
``TransientVenueError``: the core looks the order up, nothing is resent.
"""

from __future__ import annotations

from typing import Any

import ccxt.pro as ccxtpro

from mm_bot.errors import (
    CredentialsRefused,
    InsufficientFunds,
    OrderRejected,
    PostOnlyWouldCross,
    RateLimited,
    TransientVenueError,
    UnknownOrder,
    VenueError,
    VenueMismatch,
)

__all__ = ["CredentialsRefused", "VenueMismatch", "retry_after_s", "venue_error"]

DEFAULT_RETRY_AFTER_S = 1.0  # when a rate-limit reply names no Retry-After


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
