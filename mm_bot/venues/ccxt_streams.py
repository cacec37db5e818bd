"""The ccxt client states that need a reset to recover (``StreamHealth``, in ``streams``, says when
to announce a disconnect and a reconnect). The two client checks work around ccxt 4.5.90 behaviour
on Binance's WebSocket API, where a user-data stream can stop for good without a closed socket:

- a refused subscribe leaves its ``authenticate:*`` future pending, and every later subscribe on
  that client waits on it (``wedged_clients``);
- a subscription the venue ended (``eventStreamTerminated``) is dropped by ccxt (it is keyed by the
  market type, ``spot``) while the watchers keep waiting (``ended_user_clients``).

Closing such a client cancels its futures: the watchers fail and subscribe again on a fresh one.
"""

from __future__ import annotations

from typing import Any

_USER_FUTURES = ("orders", "myTrades")


def wedged_clients(exchange: Any) -> list[tuple[str, Any]]:
    """WebSocket clients whose user-data subscribe can never complete."""
    return [
        (url, client)
        for url, client in exchange.clients.items()
        if any(str(key).startswith("authenticate") for key in client.futures)
    ]


def ended_user_clients(exchange: Any, market_type: str) -> list[tuple[str, Any]]:
    """WebSocket clients whose user-data watchers wait on a subscription the venue ended."""
    return [
        (url, client)
        for url, client in exchange.clients.items()
        if any(str(key).startswith(_USER_FUTURES) for key in client.futures)
        and market_type not in client.subscriptions
    ]
