"""The gRPC Venue service's messages (``sim/servers/grpc/proto/venue.proto``) to and from our types.

Pure. Prices and sizes are integer ticks and lots on both sides; every value from the wire is checked
(an unknown enum, a negative or zero price or size, a fee that is not a finite decimal) and refused
with ``BadVenueData`` rather than traded on.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation

from mm_bot.model import (
    Instrument,
    Liquidity,
    OpenOrder,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OrderType,
    OwnFill,
    PublicTrade,
    Side,
)
from mm_bot.venues.network import BadVenueData
from sim.servers.grpc.proto import venue_pb2 as pb

__all__ = [
    "balances",
    "grid_problems",
    "levels",
    "open_order",
    "order_report",
    "own_fill",
    "place_request",
    "public_trade",
]

_TYPES = {
    OrderType.LIMIT: pb.LIMIT,
    OrderType.POST_ONLY: pb.POST_ONLY,
    OrderType.IOC: pb.IOC,
    OrderType.MARKET: pb.MARKET,
}
_STATUS = {
    pb.OrderReport.OPEN: OrderStatus.OPEN,
    pb.OrderReport.FILLED: OrderStatus.FILLED,
    pb.OrderReport.CANCELLED: OrderStatus.CANCELLED,
    pb.OrderReport.REJECTED: OrderStatus.REJECTED,
    pb.OrderReport.NOT_FOUND: OrderStatus.NOT_FOUND,
}


def side_of(value: int) -> Side:
    if value == pb.BUY:
        return Side.BUY
    if value == pb.SELL:
        return Side.SELL
    raise BadVenueData(f"unknown side {value}")


def side_to_wire(side: Side) -> pb.Side:
    return pb.BUY if side is Side.BUY else pb.SELL


def place_request(symbol: str, request: OrderRequest) -> pb.PlaceRequest:
    return pb.PlaceRequest(
        symbol=symbol,
        client_order_id=request.client_order_id,
        side=side_to_wire(request.side),
        order_type=_TYPES[request.order_type],
        price_ticks=request.price_ticks,
        qty_lots=request.qty_lots,
    )


def grid_problems(listed: pb.Instrument, inst: Instrument) -> list[str]:
    """How the venue's instrument differs from the configured one (empty: they match)."""
    problems = []
    for name, venue, configured in (
        ("tick_size", listed.tick_size, inst.tick_size),
        ("lot_size", listed.lot_size, inst.lot_size),
    ):
        try:
            same = Decimal(venue) == configured
        except InvalidOperation:
            same = False
        if not same:
            problems.append(f"{name} is {configured} but the venue's {inst.symbol} has {venue or '?'}")
    return problems


def levels(rows: Iterable[pb.Level], *, diff: bool) -> list[tuple[int, int]]:
    """(price ticks, lots) of each level; a diff may carry 0 lots (the level is gone)."""
    out = []
    for row in rows:
        if row.price_ticks <= 0 or row.qty_lots < 0 or (row.qty_lots == 0 and not diff):
            raise BadVenueData(f"book level {row.price_ticks} x {row.qty_lots}")
        out.append((row.price_ticks, row.qty_lots))
    return out


def public_trade(trade: pb.PublicTrade, exchange_ts_ns: int, now_ns: int) -> PublicTrade:
    if trade.price_ticks <= 0 or trade.qty_lots <= 0:
        raise BadVenueData(f"trade {trade.price_ticks} x {trade.qty_lots}")
    return PublicTrade(now_ns, exchange_ts_ns, trade.price_ticks, trade.qty_lots, side_of(trade.aggressor))


def own_fill(inst: Instrument, fill: pb.Fill, now_ns: int) -> OwnFill:
    """Our fill; its fee is booked by asset: the quote's in ``fee_quote``, the base's in ``fee_base``,
    any other in ``fee_other``."""
    if fill.price_ticks <= 0 or fill.qty_lots <= 0 or not fill.trade_id or not fill.client_order_id:
        raise BadVenueData(f"fill {fill.trade_id!r} of {fill.client_order_id!r}")
    liquidity = {pb.MAKER: Liquidity.MAKER, pb.TAKER: Liquidity.TAKER}.get(fill.liquidity)
    if liquidity is None:
        raise BadVenueData(f"fill {fill.trade_id}: unknown liquidity {fill.liquidity}")
    fee = _decimal(fill.fee or "0", "fee")
    quote, base, other = 0.0, 0.0, 0.0
    if fill.fee_asset in ("", inst.quote):
        quote = fee
    elif fill.fee_asset == inst.base:
        base = fee
    else:
        other = fee
    return OwnFill(
        ts_ns=now_ns,
        client_order_id=fill.client_order_id,
        side=side_of(fill.side),
        price_ticks=fill.price_ticks,
        qty_lots=fill.qty_lots,
        liquidity=liquidity,
        fee_quote=quote,
        trade_id=fill.trade_id,
        fee_base=base,
        fee_other=other,
        fee_other_asset=fill.fee_asset if other else "",
    )


def open_order(order: pb.OpenOrder) -> OpenOrder:
    if order.price_ticks <= 0 or order.qty_lots <= 0 or not 0 <= order.remaining_lots <= order.qty_lots:
        raise BadVenueData(f"open order {order.client_order_id!r}")
    side = side_of(order.side)
    return OpenOrder(order.client_order_id, side, order.price_ticks, order.qty_lots, order.remaining_lots)


def order_report(report: pb.OrderReport, client_order_id: str) -> OrderReport:
    status = _STATUS.get(report.status)
    if status is None:
        raise BadVenueData(f"order {client_order_id}: unknown status {report.status}")
    if status is OrderStatus.NOT_FOUND:
        return OrderReport(client_order_id, status)
    if report.client_order_id != client_order_id or report.filled_lots < 0:
        raise BadVenueData(f"order {client_order_id}: a report of {report.client_order_id!r}")
    return OrderReport(
        client_order_id,
        status,
        side_of(report.side),
        report.price_ticks,
        report.qty_lots,
        report.filled_lots,
    )


def balances(values: Mapping[str, str], assets: Iterable[str]) -> dict[str, float]:
    """The balances of ``assets`` (0 for one the venue does not list)."""
    return {asset: _decimal(values.get(asset, "0"), f"balance of {asset}") for asset in assets}


def _decimal(text: str, what: str) -> float:
    try:
        value = float(Decimal(text))
    except (InvalidOperation, ValueError):
        raise BadVenueData(f"{what} is not a decimal: {text!r}") from None
    if not math.isfinite(value):
        raise BadVenueData(f"{what} is not finite: {text!r}")
    return value
