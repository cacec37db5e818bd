"""Translation from ccxt's unified structures (plain dicts of floats and strings) to the bot's types.

Pure: no ccxt import, no IO. ccxt parses the venue's decimal strings to floats; prices and sizes
come back to integer ticks and lots here by rounding to the nearest grid point, and a value further
than ``GRID_TOLERANCE`` of a step from the grid (or not finite, or not positive) is refused with
``BadVenueData``: the venue sent something we must not trade on. Times are milliseconds at ccxt
and integer nanoseconds here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from mm_bot.model import (
    BookSnapshot,
    Instrument,
    Liquidity,
    OpenOrder,
    OrderReport,
    OrderStatus,
    OwnFill,
    PublicTrade,
    Side,
)
from mm_bot.venues.network import BadVenueData

GRID_TOLERANCE = 1e-6  # of a tick or lot (or 1e-12 of the value in steps): float noise, not off the grid
MS = 1_000_000

# ccxt's unified order statuses -> ours (``expired``: an IOC/market remainder or a venue expiry)
_STATUS = {
    "open": OrderStatus.OPEN,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "expired": OrderStatus.CANCELLED,
    "rejected": OrderStatus.REJECTED,
}


def _steps(value: Any, step: float, what: str) -> int:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise BadVenueData(f"{what} is not a finite number: {value!r}")
    x = value / step
    n = round(x)
    if abs(x - n) > max(GRID_TOLERANCE, abs(x) * 1e-12):  # float noise grows with the number of steps
        raise BadVenueData(f"{what} {value!r} is off the grid of {step!r}")
    return n


def ticks(instrument: Instrument, price: Any) -> int:
    n = _steps(price, float(instrument.tick_size), "price")
    if n <= 0:
        raise BadVenueData(f"price {price!r} is not positive")
    return n


def lots(instrument: Instrument, qty: Any, *, allow_zero: bool = False) -> int:
    n = _steps(qty, float(instrument.lot_size), "quantity")
    if n < 0 or (n == 0 and not allow_zero):
        raise BadVenueData(f"quantity {qty!r} is not positive")
    return n


def ms_to_ns(ms: Any, default_ns: int) -> int:
    return int(ms) * MS if isinstance(ms, int | float) and math.isfinite(ms) and ms > 0 else default_ns


def side_of(value: Any) -> Side:
    if value == "buy":
        return Side.BUY
    if value == "sell":
        return Side.SELL
    raise BadVenueData(f"side {value!r} is neither buy nor sell")


# ------------------------------------------------------------------------------------ market data
def book_snapshot(instrument: Instrument, book: Mapping[str, Any], levels: int, now_ns: int) -> BookSnapshot:
    """The top ``levels`` of a ccxt order book (``bids``/``asks`` as [price, amount], best first)."""
    seq = book.get("nonce")
    return BookSnapshot(
        ts_ns=now_ns,
        exchange_ts_ns=ms_to_ns(book.get("timestamp"), now_ns),
        seq=int(seq) if isinstance(seq, int) else 0,
        bids=tuple((ticks(instrument, p), lots(instrument, q)) for p, q, *_ in book["bids"][:levels]),
        asks=tuple((ticks(instrument, p), lots(instrument, q)) for p, q, *_ in book["asks"][:levels]),
    )


def public_trade(instrument: Instrument, trade: Mapping[str, Any], now_ns: int) -> PublicTrade:
    return PublicTrade(
        ts_ns=now_ns,
        exchange_ts_ns=ms_to_ns(trade.get("timestamp"), now_ns),
        price_ticks=ticks(instrument, trade.get("price")),
        qty_lots=lots(instrument, trade.get("amount")),
        aggressor=side_of(trade.get("side")),
    )


# ------------------------------------------------------------------------------------ own orders
def client_id_of(order: Mapping[str, Any]) -> str | None:
    """Our client order id of a ccxt order. Binance's cancel replies carry the cancel's own id as
    ``clientOrderId`` and the order's as ``origClientOrderId``: the original wins where present."""
    info = order.get("info") or {}
    for candidate in (info.get("origClientOrderId"), info.get("C"), order.get("clientOrderId")):
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


def order_status(order: Mapping[str, Any]) -> OrderStatus:
    status = _STATUS.get(order.get("status") or "")
    if status is None:
        raise BadVenueData(f"order status {order.get('status')!r} is not one we know")
    return status


def order_report(instrument: Instrument, order: Mapping[str, Any], client_order_id: str) -> OrderReport:
    return OrderReport(
        client_order_id=client_order_id,
        status=order_status(order),
        side=side_of(order.get("side")),
        price_ticks=ticks(instrument, order.get("price")),
        qty_lots=lots(instrument, order.get("amount")),
        filled_lots=lots(instrument, order.get("filled") or 0.0, allow_zero=True),
    )


def open_order(instrument: Instrument, order: Mapping[str, Any]) -> OpenOrder | None:
    """An open order as reconciliation sees it; None without a client id (not placed by a bot)."""
    cid = client_id_of(order)
    if cid is None:
        return None
    qty = lots(instrument, order.get("amount"))
    filled = lots(instrument, order.get("filled") or 0.0, allow_zero=True)
    return OpenOrder(
        cid, side_of(order.get("side")), ticks(instrument, order.get("price")), qty, max(qty - filled, 0)
    )


def own_fill(instrument: Instrument, trade: Mapping[str, Any], client_order_id: str, now_ns: int) -> OwnFill:
    """One of our trades, its fee kept in the asset the venue charged it in (positive paid, negative
    a rebate): quote, base (Binance spot charges a buy in the asset it brings in) or a third asset."""
    fee = trade.get("fee") or {}
    try:
        cost = float(fee.get("cost") or 0.0)
    except (TypeError, ValueError):
        cost = math.nan
    if not math.isfinite(cost):
        raise BadVenueData(f"fee {fee.get('cost')!r} is not a number")
    currency = fee.get("currency") or instrument.quote
    in_quote = in_base = other = 0.0
    if currency == instrument.quote:
        in_quote = cost
    elif currency == instrument.base:
        in_base = cost
    else:
        other = cost
    return OwnFill(
        ts_ns=now_ns,
        client_order_id=client_order_id,
        side=side_of(trade.get("side")),
        price_ticks=ticks(instrument, trade.get("price")),
        qty_lots=lots(instrument, trade.get("amount")),
        liquidity=Liquidity.MAKER if trade.get("takerOrMaker") == "maker" else Liquidity.TAKER,
        fee_quote=in_quote,
        trade_id=str(trade.get("id") or ""),
        fee_base=in_base,
        fee_other=other,
        fee_other_asset=str(currency) if other else "",
    )


def trade_client_id(trade: Mapping[str, Any]) -> str | None:
    """The client order id on a streamed trade (Binance's executionReport carries it as ``c``)."""
    info = trade.get("info") or {}
    for candidate in (info.get("C"), info.get("c"), trade.get("clientOrderId")):
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


def balances(balance: Mapping[str, Any], assets: Sequence[str]) -> dict[str, float]:
    """Total balance of each of ``assets`` (free plus what orders lock); 0.0 for an asset not listed."""
    totals = balance.get("total") or {}
    return {a: float(totals.get(a) or 0.0) for a in assets}
