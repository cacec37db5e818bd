"""The types at ``SimExchange``'s boundary: its configuration, commands in, events out, query results.

Units: prices are integer ticks, quantities integer lots, times integer nanoseconds, balances and
fees floats in asset units (fees in the quote asset, or in the base asset a buy brings in when
``ExchangeConfig.fee_asset`` is ``"received"``, as Binance spot charges without BNB). Every event
carries ``ts_ns``, when it is delivered to the caller, and ``exchange_ts_ns``, when it happened at the
matching engine; private events (those with an ``account``) are delivered ``order_latency_ns`` after
they happen, public ones (``PublicTrade``, ``BookSnapshot``) ``md_latency_ns`` after.

Machine-readable reasons:
- ``OrderRejected.reason``: ``post_only_would_cross``, ``duplicate_client_order_id`` (the id belongs
  to an OPEN order of the account; a finished order's id may be reused), ``insufficient_funds``,
  ``invalid_order`` (non-positive quantity, non-positive limit price, empty client order id).
- ``OrderCancelled.reason``: ``user`` (CancelOrder/CancelAll), ``ioc_remainder``,
  ``market_remainder``.
- ``CancelRejected.reason``: ``unknown_order`` (never placed, already cancelled, or filled before the
  cancel reached the engine: a fill races a cancel).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, Literal

from sim.book import Side

__all__ = [
    "BACKGROUND",
    "AssetBalance",
    "BookSnapshot",
    "CancelAll",
    "CancelOrder",
    "CancelReason",
    "CancelRejected",
    "Command",
    "Event",
    "ExchangeConfig",
    "Instrument",
    "Liquidity",
    "OpenOrder",
    "OrderAccepted",
    "OrderCancelled",
    "OrderRecord",
    "OrderRejected",
    "OrderType",
    "OwnFill",
    "PlaceOrder",
    "PublicTrade",
    "RejectReason",
    "Side",
]

BACKGROUND: Final = "__background__"
"""The account of the synthetic (or externally replayed) background liquidity; it gets no events."""

RejectReason = Literal[
    "post_only_would_cross", "duplicate_client_order_id", "insufficient_funds", "invalid_order"
]
CancelReason = Literal["user", "ioc_remainder", "market_remainder"]
Liquidity = Literal["maker", "taker"]
FeeAsset = Literal["quote", "received"]
Level = tuple[int, int]  # (price_ticks, qty_lots)


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


class OrderType(StrEnum):
    LIMIT = "limit"  # GTC: trades what it can, rests the rest
    POST_ONLY = "post_only"  # rejected whole if any part would trade on arrival
    IOC = "ioc"  # trades what it can at its limit, cancels the rest
    MARKET = "market"  # IOC at the exchange's protection band from the touch (see sim.exchange)


# ------------------------------------------------------------------------------------- configuration
@dataclass(frozen=True, slots=True)
class Instrument:
    """The exchange's one instrument. Defaults: BTC/USDT, 0.001 BTC lots and a 1.0 USDT tick, coarser
    than spot venues' 0.01 so that a synthetic book a few ticks deep needs ~150 orders, not thousands."""

    base: str = "BTC"
    quote: str = "USDT"
    tick_size: float = 1.0
    lot_size: float = 0.001

    def __post_init__(self) -> None:
        _require(
            bool(self.base) and bool(self.quote) and self.base != self.quote,
            f"base and quote must be distinct asset names, got {self.base!r}, {self.quote!r}",
        )
        for name in ("tick_size", "lot_size"):
            value = getattr(self, name)
            _require(math.isfinite(value) and value > 0, f"{name} must be > 0, got {value!r}")

    @property
    def symbol(self) -> str:
        return f"{self.base}/{self.quote}"


@dataclass(frozen=True, slots=True)
class ExchangeConfig:
    """Venue parameters; fees in basis points of notional (negative maker fee: rebate)."""

    instrument: Instrument = field(default_factory=Instrument)
    order_latency_ns: int = 5_000_000
    md_latency_ns: int = 2_000_000
    snapshot_interval_ns: int | None = 100_000_000  # None: no snapshots
    snapshot_levels: int = 20
    maker_fee_bps: float = 2.0
    taker_fee_bps: float = 5.0
    market_protection_bps: float = 500.0
    fee_asset: FeeAsset = "quote"  # "received": a buy pays in the base it receives, a sell in quote
    fee_decimals: int | None = None  # each fill's fee rounded to this many decimals, as charged (Binance: 8)

    def __post_init__(self) -> None:
        _require(self.order_latency_ns >= 0, f"order_latency_ns must be >= 0, got {self.order_latency_ns}")
        _require(self.md_latency_ns >= 0, f"md_latency_ns must be >= 0, got {self.md_latency_ns}")
        _require(
            self.snapshot_interval_ns is None or self.snapshot_interval_ns > 0,
            f"snapshot_interval_ns must be > 0 or None, got {self.snapshot_interval_ns}",
        )
        _require(self.snapshot_levels >= 1, f"snapshot_levels must be >= 1, got {self.snapshot_levels}")
        for name in ("maker_fee_bps", "taker_fee_bps"):
            value = getattr(self, name)
            _require(
                math.isfinite(value) and -1e4 < value < 1e4, f"{name} must be in (-1e4, 1e4), got {value}"
            )
        _require(
            self.fee_decimals is None or 0 <= self.fee_decimals <= 15,
            f"fee_decimals must be None or in [0, 15], got {self.fee_decimals}",
        )
        _require(
            self.fee_asset in ("quote", "received"),
            f"fee_asset must be quote or received, got {self.fee_asset!r}",
        )
        _require(
            0 < self.market_protection_bps < 1e4,
            f"market_protection_bps must be in (0, 1e4), got {self.market_protection_bps}",
        )


# ------------------------------------------------------------------------------------------ commands
@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """Place an order. ``price_ticks`` is ignored for MARKET orders (pass 0)."""

    account: str
    client_order_id: str
    side: Side
    price_ticks: int
    qty_lots: int
    order_type: OrderType = OrderType.LIMIT


@dataclass(frozen=True, slots=True)
class CancelOrder:
    account: str
    client_order_id: str


@dataclass(frozen=True, slots=True)
class CancelAll:
    account: str


Command = PlaceOrder | CancelOrder | CancelAll


# -------------------------------------------------------------------------------------------- events
@dataclass(frozen=True, slots=True)
class OrderAccepted:
    ts_ns: int
    exchange_ts_ns: int
    account: str
    client_order_id: str
    side: Side
    price_ticks: int
    qty_lots: int
    order_type: OrderType


@dataclass(frozen=True, slots=True)
class OrderRejected:
    ts_ns: int
    exchange_ts_ns: int
    account: str
    client_order_id: str
    reason: RejectReason


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    ts_ns: int
    exchange_ts_ns: int
    account: str
    client_order_id: str
    cancelled_qty_lots: int
    reason: CancelReason


@dataclass(frozen=True, slots=True)
class CancelRejected:
    ts_ns: int
    exchange_ts_ns: int
    account: str
    client_order_id: str
    reason: Literal["unknown_order"]


@dataclass(frozen=True, slots=True)
class OwnFill:
    """One match of our order. Its fee is ``fee_quote`` (quote asset) or ``fee_base`` (base asset,
    with ``fee_asset="received"`` on a buy); < 0 is a rebate. ``remaining_lots`` == 0 means done
    (for IOC/market orders an ``OrderCancelled`` follows if a remainder was not filled)."""

    ts_ns: int
    exchange_ts_ns: int
    account: str
    client_order_id: str
    side: Side
    price_ticks: int
    qty_lots: int
    liquidity: Liquidity
    fee_quote: float
    remaining_lots: int
    trade_id: int
    fee_base: float = 0.0


@dataclass(frozen=True, slots=True)
class PublicTrade:
    """Every trade on the book, ours included; ``trade_id`` matches the ``OwnFill``(s) of the trade."""

    ts_ns: int
    exchange_ts_ns: int
    trade_id: int
    price_ticks: int
    qty_lots: int
    aggressor_side: Side


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """Top levels of the book, best first, as of ``exchange_ts_ns``; ``seq`` increases by one."""

    ts_ns: int
    exchange_ts_ns: int
    seq: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


Event = OrderAccepted | OrderRejected | OrderCancelled | CancelRejected | OwnFill | PublicTrade | BookSnapshot


# ----------------------------------------------------------------------------------- query results
@dataclass(frozen=True, slots=True)
class OpenOrder:
    client_order_id: str
    side: Side
    price_ticks: int
    qty_lots: int
    remaining_lots: int
    order_type: OrderType


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """An order of one account as the engine knows it now (``SimExchange.order_status``): ``state``
    ``open`` while it rests, else how it ended. An order still travelling to the engine is unknown."""

    client_order_id: str
    side: Side
    price_ticks: int
    qty_lots: int
    filled_lots: int
    order_type: OrderType
    state: Literal["open", "filled", "cancelled", "rejected"]


@dataclass(frozen=True, slots=True)
class AssetBalance:
    """``locked`` is what open orders reserve; ``available = total - locked`` is what new orders may use."""

    total: float
    locked: float

    @property
    def available(self) -> float:
        return self.total - self.locked
