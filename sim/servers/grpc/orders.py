"""Our accounts' orders and fills as the gRPC venue reports them: the registry behind Place's
deduplication, OrderStatus, OpenOrders, FillsSince and the state file. No IO.

An order enters when the simulator accepts it and stays (open or finished) for the life of the
process, so a client order id is taken at most once per account over all symbols: Place answers a
retry DUPLICATE. A Place refused with a well-formed client id is remembered as that id's latest
rejection (OrderStatus says REJECTED); a rejection does not take the id, so the same id may be sent
again once the cause is gone (the proto's "taken" is accepted). Fills are kept per symbol in the order
they happened, which is also exchange-time order, so FillsSince is a binary search.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Literal

from sim.events import CancelReason, Liquidity, OrderType, Side

__all__ = ["AccountOrders", "GwFill", "GwOrder", "Rejection"]

OrderState = Literal["open", "filled", "cancelled"]


@dataclass(slots=True, eq=False)
class GwOrder:
    """One taken order; ``price_ticks`` 0 for MARKET. Times are exchange nanoseconds."""

    symbol: str
    client_order_id: str
    side: Side
    order_type: OrderType
    price_ticks: int
    qty_lots: int
    create_ns: int
    update_ns: int
    state: OrderState = "open"
    filled_lots: int = 0
    cancel_reason: CancelReason | None = None

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    @property
    def remaining_lots(self) -> int:
        return self.qty_lots - self.filled_lots

    def fill(self, qty_lots: int, ts_ns: int) -> None:
        self.filled_lots += qty_lots
        self.update_ns = ts_ns
        if self.filled_lots >= self.qty_lots:
            self.state = "filled"

    def cancel(self, reason: CancelReason, ts_ns: int) -> None:
        self.state = "cancelled"
        self.cancel_reason = reason
        self.update_ns = ts_ns


@dataclass(frozen=True, slots=True)
class GwFill:
    """One trade of ours. ``fee`` is in ``fee_asset`` (< 0: a rebate); ``trade_id`` is the public
    trade's."""

    symbol: str
    trade_id: str
    client_order_id: str
    side: Side
    price_ticks: int
    qty_lots: int
    liquidity: Liquidity
    fee: float
    fee_asset: str
    exchange_ts_ns: int
    remaining_lots: int


@dataclass(frozen=True, slots=True)
class Rejection:
    """A refused Place as it was asked (``side`` and ``order_type`` are the proto's numbers, which may
    be invalid) and why."""

    symbol: str
    client_order_id: str
    side: int
    order_type: int
    price_ticks: int
    qty_lots: int
    reason: str


class AccountOrders:
    """The registry of one account, all symbols."""

    def __init__(self) -> None:
        self._orders: dict[str, GwOrder] = {}  # client id -> order, in placement order
        self._open: dict[str, GwOrder] = {}
        self._rejections: dict[str, Rejection] = {}
        self._fills: dict[str, list[GwFill]] = {}  # by symbol, in trade order

    def add(self, order: GwOrder) -> None:
        assert order.client_order_id not in self._orders, f"{order.client_order_id!r} is taken"
        self._orders[order.client_order_id] = order
        self._open[order.client_order_id] = order
        self._rejections.pop(order.client_order_id, None)

    def get(self, client_order_id: str) -> GwOrder | None:
        """The order that took this id, open or finished."""
        return self._orders.get(client_order_id)

    def closed(self, order: GwOrder) -> None:
        self._open.pop(order.client_order_id, None)

    def reject(self, rejection: Rejection) -> None:
        self._rejections[rejection.client_order_id] = rejection

    def rejection(self, client_order_id: str) -> Rejection | None:
        return self._rejections.get(client_order_id)

    def open_orders(self, symbol: str | None = None) -> list[GwOrder]:
        """Open orders in placement order."""
        return [o for o in self._open.values() if symbol is None or o.symbol == symbol]

    def orders(self) -> list[GwOrder]:
        """Every order taken, in placement order."""
        return list(self._orders.values())

    def add_fill(self, fill: GwFill) -> None:
        self._fills.setdefault(fill.symbol, []).append(fill)

    def fills_since(self, symbol: str, since_ns: int) -> list[GwFill]:
        """The symbol's fills at or after exchange time ``since_ns``, oldest first."""
        fills = self._fills.get(symbol, [])
        return fills[bisect.bisect_left(fills, since_ns, key=lambda f: f.exchange_ts_ns) :]

    def fills(self) -> list[GwFill]:
        """Every fill, all symbols, by exchange time."""
        every = [f for fills in self._fills.values() for f in fills]
        return sorted(every, key=lambda f: f.exchange_ts_ns)
