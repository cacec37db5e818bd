"""Shared value types of the bot: instruments, book data, order requests and venue events.

Prices and sizes are integer ticks and lots here, as at every venue boundary; ``Instrument``
converts to and from decimal strings for the wire and floats for the strategy math. Times are
integer nanoseconds (``*_ns``): ``exchange_ts_ns`` is when the venue says it happened,
``ts_ns`` when we received it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import IntEnum, StrEnum


class Side(IntEnum):
    """The sign is the inventory change of a fill: a buy adds, a sell removes."""

    BUY = 1
    SELL = -1

    @property
    def label(self) -> str:
        return "bid" if self is Side.BUY else "ask"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    LIMIT = "limit"  # GTC
    POST_ONLY = "post_only"
    IOC = "ioc"
    MARKET = "market"


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


@dataclass(frozen=True, slots=True)
class Instrument:
    """One tradable market. ``tick_size`` and ``lot_size`` are in quote and base units."""

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    lot_size: Decimal
    min_qty_lots: int = 1

    def price_of(self, ticks: int) -> float:
        return ticks * float(self.tick_size)

    def qty_of(self, lots: int) -> float:
        return lots * float(self.lot_size)

    def price_str(self, ticks: int) -> str:
        return str(ticks * self.tick_size)

    def qty_str(self, lots: int) -> str:
        return str(lots * self.lot_size)

    def ticks_of(self, price: str | Decimal | float) -> int:
        """Exact conversion of a price on the tick grid; raises ValueError off the grid."""
        value = Decimal(str(price)) / self.tick_size
        if value != value.to_integral_value():
            raise ValueError(f"price {price} is not a multiple of tick {self.tick_size}")
        return int(value)

    def lots_of(self, qty: str | Decimal | float) -> int:
        value = Decimal(str(qty)) / self.lot_size
        if value != value.to_integral_value():
            raise ValueError(f"quantity {qty} is not a multiple of lot {self.lot_size}")
        return int(value)


@dataclass(frozen=True, slots=True)
class VenueCapabilities:
    """What a venue can do, as data (never ``if venue == "binance"``)."""

    post_only: bool = True
    batch_cancel: bool = False
    cancel_all: bool = True
    amend: bool = False
    public_trades: bool = True


# ------------------------------------------------------------------------------- market data
@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """Top levels of the book, best first. ``seq`` increases by venue rules (gaps mean resync)."""

    ts_ns: int
    exchange_ts_ns: int
    seq: int
    bids: tuple[tuple[int, int], ...]
    asks: tuple[tuple[int, int], ...]

    @property
    def best_bid(self) -> int | None:
        return self.bids[0][0] if self.bids else None

    @property
    def best_ask(self) -> int | None:
        return self.asks[0][0] if self.asks else None


@dataclass(frozen=True, slots=True)
class PublicTrade:
    ts_ns: int
    exchange_ts_ns: int
    price_ticks: int
    qty_lots: int
    aggressor: Side


# ------------------------------------------------------------------------------- own orders
@dataclass(frozen=True, slots=True)
class OrderRequest:
    """One order to send, with our own client order id."""

    client_order_id: str
    side: Side
    price_ticks: int
    qty_lots: int
    order_type: OrderType = OrderType.POST_ONLY


@dataclass(frozen=True, slots=True)
class OrderAccepted:
    ts_ns: int
    client_order_id: str


@dataclass(frozen=True, slots=True)
class OrderRejected:
    """``reason`` is machine-readable: post_only_would_cross, insufficient_funds, duplicate_client_order_id,
    invalid_order, rate_limited, unknown."""

    ts_ns: int
    client_order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    """The order is gone; ``reason``: user, ioc_remainder, market_remainder, expired, venue."""

    ts_ns: int
    client_order_id: str
    reason: str = "user"


@dataclass(frozen=True, slots=True)
class CancelRejected:
    """The cancel did not apply, typically because the order already filled (a fill racing a cancel)."""

    ts_ns: int
    client_order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class OwnFill:
    ts_ns: int
    client_order_id: str
    side: Side
    price_ticks: int
    qty_lots: int
    liquidity: Liquidity
    fee_quote: float  # the fee charged in the quote asset; positive is paid, negative a rebate
    trade_id: str = ""
    fee_base: float = 0.0  # the fee charged in the base asset (Binance spot's default on a buy)
    fee_other: float = 0.0  # a fee charged in a third asset (e.g. BNB), not valued in quote
    fee_other_asset: str = ""


@dataclass(frozen=True, slots=True)
class Heartbeat:
    ts_ns: int


# ------------------------------------------------------------------------------- connection
@dataclass(frozen=True, slots=True)
class Connected:
    """The venue's streams are (re)connected. Events may have been missed before this: reconcile."""

    ts_ns: int


@dataclass(frozen=True, slots=True)
class Disconnected:
    """A stream dropped; until ``Connected`` the book is unknown and own events may be missed."""

    ts_ns: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Resynced:
    """Market data restarted after a gap (sequence gap, new venue session): the next snapshot is a
    fresh start, so sequence numbers may begin again."""

    ts_ns: int


@dataclass(frozen=True, slots=True)
class Throttled:
    """The venue limits our request rate (HTTP 429) or has banned us for a while (418): quote nothing
    new until ``until_ns`` (our clock)."""

    ts_ns: int
    until_ns: int
    reason: str = ""


MarketEvent = BookSnapshot | PublicTrade
OrderEvent = OrderAccepted | OrderRejected | OrderCancelled | CancelRejected | OwnFill
ConnectionEvent = Connected | Disconnected | Resynced | Throttled
VenueEvent = (
    BookSnapshot
    | PublicTrade
    | OrderAccepted
    | OrderRejected
    | OrderCancelled
    | CancelRejected
    | OwnFill
    | Heartbeat
    | Connected
    | Disconnected
    | Resynced
    | Throttled
)


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """An open order as the venue reports it, for reconciliation."""

    client_order_id: str
    side: Side
    price_ticks: int
    qty_lots: int
    remaining_lots: int


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """Balances by asset (total, including what open orders lock)."""

    balances: dict[str, float] = field(default_factory=dict)


class OrderStatus(StrEnum):
    OPEN = "open"  # resting (possibly partly filled)
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    NOT_FOUND = "not_found"  # the venue has no order with this client id


@dataclass(frozen=True, slots=True)
class OrderReport:
    """One order as the venue reports it when asked by client order id (``Venue.order_status``)."""

    client_order_id: str
    status: OrderStatus
    side: Side | None = None
    price_ticks: int = 0
    qty_lots: int = 0
    filled_lots: int = 0


@dataclass(frozen=True, slots=True)
class VenueReport:
    """The venue's side of a reconciliation, fetched by the runner: its open orders, our fills since
    a point, and balances (None if the venue does not report them). ``requested_ns`` is when the
    fetch began (our clock): anything we did after it may be missing from the report."""

    requested_ns: int
    open_orders: tuple[OpenOrder, ...]
    fills: tuple[OwnFill, ...]
    balances: Mapping[str, float] | None = None
