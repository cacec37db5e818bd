"""Our orders and trades as Binance reports them, per account: the registry behind GET order,
openOrders and myTrades.

An order enters the registry when the simulator accepts it and stays there (open or finished) for
the life of the emulator: a client order id is unique among OPEN orders of a symbol, and a lookup by
client id finds the latest order with it. ``quote_ticklots`` sums price_ticks * qty_lots over the
fills, so ``cummulativeQuoteQty`` is exact. Fees are the simulator's (floats, quote asset).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from sim.events import OrderType, Side

__all__ = ["AccountOrders", "BnOrder", "Fill"]

OPEN_STATUSES: Final = frozenset({"NEW", "PARTIALLY_FILLED"})
SIM_TYPES: Final = {
    ("LIMIT", "GTC"): OrderType.LIMIT,
    ("LIMIT", "IOC"): OrderType.IOC,
    ("LIMIT_MAKER", "GTC"): OrderType.POST_ONLY,
    ("MARKET", "GTC"): OrderType.MARKET,
}


@dataclass(frozen=True, slots=True)
class Fill:
    """One trade of ours (a myTrades row)."""

    trade_id: int
    order_id: int
    symbol_id: str
    side: Side
    price_ticks: int
    qty_lots: int
    fee: float  # in fee_asset, the base or the quote asset
    fee_asset: str
    maker: bool
    time_ms: int


@dataclass(slots=True, eq=False)
class BnOrder:
    """One order. ``order_type`` LIMIT | LIMIT_MAKER | MARKET; ``time_in_force`` GTC | IOC (MARKET and
    LIMIT_MAKER report GTC); ``price_ticks`` 0 for MARKET. ``status`` NEW, PARTIALLY_FILLED, FILLED,
    CANCELED (by a cancel) or EXPIRED (an IOC or market remainder)."""

    order_id: int
    account: str
    symbol_id: str
    client_order_id: str
    side: Side
    order_type: str
    time_in_force: str
    price_ticks: int
    qty_lots: int
    create_ms: int
    update_ms: int
    status: str = "NEW"
    filled_lots: int = 0
    quote_ticklots: int = 0
    fills: list[Fill] = field(default_factory=list)
    cancel_client_order_id: str = ""  # the id of the cancel that ended it

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def sim_type(self) -> OrderType:
        return SIM_TYPES[(self.order_type, self.time_in_force)]

    def apply_fill(self, fill: Fill) -> None:
        self.fills.append(fill)
        self.filled_lots += fill.qty_lots
        self.quote_ticklots += fill.price_ticks * fill.qty_lots
        self.update_ms = fill.time_ms
        self.status = "FILLED" if self.filled_lots >= self.qty_lots else "PARTIALLY_FILLED"


class AccountOrders:
    """The registry of one account, all symbols."""

    def __init__(self) -> None:
        self._by_id: dict[int, BnOrder] = {}
        self._latest: dict[tuple[str, str], BnOrder] = {}  # (symbol id, client id) -> latest order
        self._open: dict[tuple[str, str], BnOrder] = {}  # in placement order
        self._trades: dict[str, list[Fill]] = {}  # by symbol id, in trade order

    def add(self, order: BnOrder) -> None:
        key = (order.symbol_id, order.client_order_id)
        self._by_id[order.order_id] = order
        self._latest[key] = order
        if order.is_open:
            self._open[key] = order

    def open_order(self, symbol_id: str, client_order_id: str) -> BnOrder | None:
        return self._open.get((symbol_id, client_order_id))

    def find(self, symbol_id: str, order_id: int | None, client_order_id: str | None) -> BnOrder | None:
        """By order id if given (it must be of ``symbol_id``), else the latest with the client id."""
        if order_id is not None:
            order = self._by_id.get(order_id)
            return order if order is not None and order.symbol_id == symbol_id else None
        if client_order_id is not None:
            return self._latest.get((symbol_id, client_order_id))
        return None

    def closed(self, order: BnOrder) -> None:
        """``order`` is no longer open."""
        self._open.pop((order.symbol_id, order.client_order_id), None)

    def add_fill(self, fill: Fill) -> None:
        self._trades.setdefault(fill.symbol_id, []).append(fill)

    def open_orders(self, symbol_id: str | None = None) -> list[BnOrder]:
        return [o for o in self._open.values() if symbol_id is None or o.symbol_id == symbol_id]

    def orders(self) -> list[BnOrder]:
        """Every order the venue took, in placement order (an order refused at once is not one)."""
        return list(self._by_id.values())

    def trades(self, symbol_id: str | None = None) -> list[Fill]:
        if symbol_id is not None:
            return list(self._trades.get(symbol_id, ()))
        every = [f for fills in self._trades.values() for f in fills]
        return sorted(every, key=lambda f: (f.time_ms, f.trade_id))
