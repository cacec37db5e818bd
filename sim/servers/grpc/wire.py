"""The gRPC venue's messages (``proto/venue.proto``) and its state-file rows, built from the registry and
the simulator's events. No IO.

Stream messages are built without ``session_id`` and ``seq``: those belong to one subscription and
are stamped when it sends them (``sim.servers.grpc.hub``). Amounts (balances, fees) are decimal
strings of the simulator's float to ``AMOUNT_DIGITS`` significant digits, never in exponent form. Prices
and quantities in the state file are decimal strings of the instrument's tick and lot.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Final

from sim.events import Level, OrderType, Side
from sim.servers.grpc.orders import GwFill, GwOrder, Rejection
from sim.servers.grpc.proto import venue_pb2 as pb
from sim.servers.symbols import SymbolSpec

__all__ = [
    "ORDER_TYPES",
    "ack",
    "amount_text",
    "cancelled",
    "fill",
    "fill_message",
    "instrument",
    "levels",
    "not_found",
    "open_order",
    "order_json",
    "rejected_report",
    "report",
    "side_of",
    "trade",
    "trade_json",
]

ORDER_TYPES: Final[dict[int, OrderType]] = {
    pb.LIMIT: OrderType.LIMIT,
    pb.POST_ONLY: OrderType.POST_ONLY,
    pb.IOC: OrderType.IOC,
    pb.MARKET: OrderType.MARKET,
}
_PB_TYPES: Final = {sim: pb.OrderType.Name(proto) for proto, sim in ORDER_TYPES.items()}
_SIDES: Final[dict[int, Side]] = {pb.BUY: Side.BUY, pb.SELL: Side.SELL}
_STATES: Final = {
    "open": pb.OrderReport.OPEN,
    "filled": pb.OrderReport.FILLED,
    "cancelled": pb.OrderReport.CANCELLED,
}
AMOUNT_DIGITS: Final = 15  # significant digits: every float has them right; sums' rounding is past them
Json = dict[str, Any]


def amount_text(value: float) -> str:
    """``1e-05`` -> ``"0.00001"``, ``0.0012000000000000003`` -> ``"0.0012"``, ``-0.0`` -> ``"0"``."""
    if value == 0:
        return "0"
    return format(Decimal(format(value, f".{AMOUNT_DIGITS}g")), "f")


def side_of(side: int) -> Side | None:
    """The simulator's side of a proto side (None: unspecified or unknown)."""
    return _SIDES.get(side)


def _pb_side(side: Side) -> pb.Side:
    return pb.BUY if side is Side.BUY else pb.SELL


# ------------------------------------------------------------------------------------ reference data
def instrument(spec: SymbolSpec) -> pb.Instrument:
    return pb.Instrument(
        symbol=spec.symbol,
        base=spec.base,
        quote=spec.quote,
        tick_size=str(spec.tick),
        lot_size=str(spec.lot),
        min_qty_lots=int(spec.min_qty / spec.lot),
        min_notional=str(spec.min_notional),
    )


def levels(book: Iterable[Level]) -> list[pb.Level]:
    return [pb.Level(price_ticks=p, qty_lots=q) for p, q in book]


# ---------------------------------------------------------------------------------------- own orders
def open_order(o: GwOrder) -> pb.OpenOrder:
    return pb.OpenOrder(
        client_order_id=o.client_order_id,
        side=_pb_side(o.side),
        price_ticks=o.price_ticks,
        qty_lots=o.qty_lots,
        remaining_lots=o.remaining_lots,
    )


def report(o: GwOrder) -> pb.OrderReport:
    return pb.OrderReport(
        client_order_id=o.client_order_id,
        status=_STATES[o.state],
        side=_pb_side(o.side),
        price_ticks=o.price_ticks,
        qty_lots=o.qty_lots,
        filled_lots=o.filled_lots,
    )


def rejected_report(r: Rejection) -> pb.OrderReport:
    return pb.OrderReport(
        client_order_id=r.client_order_id,
        status=pb.OrderReport.REJECTED,
        side=_pb_side(side) if (side := side_of(r.side)) is not None else pb.SIDE_UNSPECIFIED,
        price_ticks=r.price_ticks,
        qty_lots=r.qty_lots,
    )


def not_found(client_order_id: str) -> pb.OrderReport:
    return pb.OrderReport(client_order_id=client_order_id, status=pb.OrderReport.NOT_FOUND)


def fill(f: GwFill) -> pb.Fill:
    return pb.Fill(
        trade_id=f.trade_id,
        client_order_id=f.client_order_id,
        side=_pb_side(f.side),
        price_ticks=f.price_ticks,
        qty_lots=f.qty_lots,
        liquidity=pb.MAKER if f.liquidity == "maker" else pb.TAKER,
        fee=amount_text(f.fee),
        fee_asset=f.fee_asset,
        exchange_ts_ns=f.exchange_ts_ns,
        remaining_lots=f.remaining_lots,
    )


# ----------------------------------------------------------------------------- stream message bodies
def trade(
    exchange_ts_ns: int, trade_id: str, price_ticks: int, qty_lots: int, aggressor: Side
) -> pb.MarketMessage:
    body = pb.PublicTrade(
        trade_id=trade_id, price_ticks=price_ticks, qty_lots=qty_lots, aggressor=_pb_side(aggressor)
    )
    return pb.MarketMessage(exchange_ts_ns=exchange_ts_ns, trade=body)


def ack(exchange_ts_ns: int, client_order_id: str) -> pb.OrderMessage:
    return pb.OrderMessage(exchange_ts_ns=exchange_ts_ns, ack=pb.Ack(client_order_id=client_order_id))


def cancelled(exchange_ts_ns: int, client_order_id: str, reason: str) -> pb.OrderMessage:
    body = pb.Cancelled(client_order_id=client_order_id, reason=reason)
    return pb.OrderMessage(exchange_ts_ns=exchange_ts_ns, cancelled=body)


def fill_message(f: GwFill) -> pb.OrderMessage:
    return pb.OrderMessage(exchange_ts_ns=f.exchange_ts_ns, fill=fill(f))


# --------------------------------------------------------------------------------------- state file
def _price_text(spec: SymbolSpec, price_ticks: int) -> str:
    return str(Decimal(price_ticks) * spec.tick)


def _qty_text(spec: SymbolSpec, qty_lots: int) -> str:
    return str(Decimal(qty_lots) * spec.lot)


def order_json(spec: SymbolSpec, o: GwOrder) -> Json:
    return {
        "symbol": o.symbol,
        "client_order_id": o.client_order_id,
        "side": pb.Side.Name(_pb_side(o.side)),
        "type": _PB_TYPES[o.order_type],
        "price": _price_text(spec, o.price_ticks),
        "qty": _qty_text(spec, o.qty_lots),
        "filled_qty": _qty_text(spec, o.filled_lots),
        "status": pb.OrderReport.Status.Name(_STATES[o.state]),
        "cancel_reason": o.cancel_reason,
        "time": o.create_ns,
        "update_time": o.update_ns,
    }


def trade_json(spec: SymbolSpec, f: GwFill) -> Json:
    return {
        "symbol": f.symbol,
        "trade_id": f.trade_id,
        "client_order_id": f.client_order_id,
        "side": pb.Side.Name(_pb_side(f.side)),
        "price": _price_text(spec, f.price_ticks),
        "qty": _qty_text(spec, f.qty_lots),
        "liquidity": f.liquidity,
        "fee": amount_text(f.fee),
        "fee_asset": f.fee_asset,
        "time": f.exchange_ts_ns,
    }
