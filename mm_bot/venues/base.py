"""The Venue port: the one interface the runner talks to, whatever is behind it.

Contract:
- ``events()`` yields market data (book snapshots, public trades), our own order events (acks,
  rejects, cancels, fills with the venue's trade id) and connection events (``Connected``,
  ``Disconnected``, ``Resynced``) in the order the venue delivered them. An adapter reconnects by
  itself and says so with these events; the stream ends only when the venue is closed.
- ``place`` sends an order with our client order id. It returns once the venue has the request;
  acceptance, rejection and fills may arrive as events (an adapter whose reply carries the ack
  also emits it as an event). ``OrderRejected`` means the venue refused it: never retry unchanged.
  ``TransientVenueError`` (or a timeout) means its fate is unknown: look it up by client id with
  ``order_status``, never resend blindly.
- ``cancel`` likewise; ``UnknownOrder`` means the venue does not have the order open (it filled,
  was cancelled, or never arrived): look it up. ``cancel_all`` cancels every open order of ours.
- For reconciliation: ``open_orders`` (ours on this market), ``order_status(client_id)``,
  ``fills_since(since_ns)`` (our fills at or after a venue time; more is fine, fills are
  deduplicated by trade id) and ``account`` (balances).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from mm_bot.model import (
    AccountSnapshot,
    Instrument,
    OpenOrder,
    OrderReport,
    OrderRequest,
    OwnFill,
    VenueCapabilities,
    VenueEvent,
)


@runtime_checkable
class Venue(Protocol):
    @property
    def instrument(self) -> Instrument: ...

    @property
    def capabilities(self) -> VenueCapabilities: ...

    async def start(self) -> None:
        """Connect and subscribe; after this ``events()`` yields."""

    async def close(self) -> None:
        """Disconnect; ``events()`` ends."""

    def events(self) -> AsyncIterator[VenueEvent]: ...

    async def place(self, request: OrderRequest) -> None: ...

    async def cancel(self, client_order_id: str) -> None: ...

    async def cancel_all(self) -> None: ...

    async def open_orders(self) -> list[OpenOrder]: ...

    async def order_status(self, client_order_id: str) -> OrderReport: ...

    async def fills_since(self, since_ns: int) -> list[OwnFill]: ...

    async def account(self) -> AccountSnapshot: ...
