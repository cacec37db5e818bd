"""The Venue port: the one interface the runner talks to, whatever is behind it.

Contract:
- ``events()`` yields market data (book snapshots, public trades) and our own order events in the
  order the venue delivered them. It ends only when the venue is closed.
- ``place`` sends an order with our client order id and returns once the request is handed to
  the venue; acceptance, rejection and fills arrive as events. A ``TransientVenueError`` from
  ``place`` means the order's fate is unknown: look it up by client id (``open_orders``), never
  resend blindly.
- ``cancel`` / ``cancel_all`` likewise return when the request is sent; ``OrderCancelled`` or
  ``CancelRejected`` events follow.
- ``open_orders`` and ``account`` are for reconciliation at start and after reconnects.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from mm_bot.model import AccountSnapshot, Instrument, OpenOrder, OrderRequest, VenueCapabilities, VenueEvent


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

    async def account(self) -> AccountSnapshot: ...
