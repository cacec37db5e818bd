"""The ccxt client the bot trades through: every option it relies on is set here, and nowhere else.

``live.endpoint`` points the client at another server (our emulator, a testnet) by URL overrides
only: every REST and WebSocket URL of the exchange keeps its path and gets the endpoint's scheme,
host and port. ccxt itself is used unmodified.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import ccxt.pro as ccxtpro

OPTIONS: dict[str, Any] = {
    # Spot markets only: no futures/margin endpoints at load, no currency list (a signed call).
    "fetchMarkets": {"types": ["spot"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
    # Never resend a request by itself: an order whose reply was lost is looked up, not sent again.
    "maxRetriesOnFailure": 0,
    # A market order is sent by quantity, never turned into a quote-quantity order.
    "createOrder": {"quoteOrderQty": False},
    # The server's clock, measured once at load, so signed requests fall inside its receive window.
    "adjustForTimeDifference": True,
    # One book snapshot request per (re)subscription: ccxt would send 3 back to back on any error, a
    # 418 ban included; CcxtVenue's stream loop waits out Retry-After before it tries again.
    "watchOrderBook": {"maxRetries": 1},
    # Open orders are always fetched for one symbol; ccxt need not warn.
    "warnOnFetchOpenOrdersWithoutSymbol": False,
}


def rebase(url: str, endpoint: str) -> str:
    """``url`` with the scheme, host and port of ``endpoint`` (ws/wss for WebSocket URLs)."""
    target = urlsplit(endpoint)
    parts = urlsplit(url)
    secure = target.scheme == "https"
    scheme = ("wss" if secure else "ws") if parts.scheme in ("ws", "wss") else target.scheme
    prefix = target.path.rstrip("/")
    return urlunsplit((scheme, target.netloc, prefix + parts.path, parts.query, parts.fragment))


def _rebase_all(urls: Any, endpoint: str) -> Any:
    if isinstance(urls, str):
        return rebase(urls, endpoint) if "://" in urls else urls
    if isinstance(urls, dict):
        return {k: _rebase_all(v, endpoint) for k, v in urls.items()}
    return urls


def receive_window_ms(timeout_ms: int) -> int:
    """The ``recvWindow`` our signed requests carry: the venue refuses a request older than this, so it
    must end inside the request timeout. After one timeout the order manager takes "not found" as
    "never took effect" (``engine.order_manager``); ccxt's own 10 s would let a place held up in the
    network open an order after that. The margin (a fifth of the timeout, at most 1 s) covers the
    time between the order's emission and its signing, and drift of the clock offset ccxt measured."""
    return max(1, timeout_ms - min(timeout_ms // 5, 1000))


def make_exchange(
    exchange_id: str,
    *,
    api_key: str,
    api_secret: str,
    password: str | None = None,
    endpoint: str | None = None,
    sandbox: bool = False,
    timeout_ms: int = 5000,
    rate_limit: bool = False,
) -> Any:
    """A ccxt pro client for ``exchange_id``; KeyError if ccxt has no such exchange."""
    cls = getattr(ccxtpro, exchange_id, None)
    if cls is None or not isinstance(cls, type):
        raise KeyError(exchange_id)
    config: dict[str, Any] = {
        "apiKey": api_key,
        "secret": api_secret,
        "timeout": timeout_ms,
        "enableRateLimit": rate_limit,
        "options": {**OPTIONS, "recvWindow": receive_window_ms(timeout_ms)},
    }
    if password is not None:
        config["password"] = password
    exchange = cls(config)
    if endpoint is not None:
        exchange.urls["api"] = _rebase_all(exchange.urls["api"], endpoint)
    elif sandbox:
        exchange.set_sandbox_mode(True)
    return exchange
