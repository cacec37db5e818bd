"""Request parameters read and checked the way Binance checks them, into plain values (pure).

Order filters, each failure the -1013 Binance would answer: PRICE_FILTER (a limit price within
[minPrice, maxPrice] and a multiple of tickSize), LOT_SIZE (a quantity within [minQty, maxQty] and a
multiple of stepSize), NOTIONAL (price * quantity within [minNotional, maxNotional] for limit orders;
market orders are checked against minNotional by the venue, at the touch). Unknown parameters are
ignored (ccxt's WebSocket API requests carry a few).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from sim.events import Side
from sim.servers.binance import errors
from sim.servers.binance.errors import BinanceError
from sim.servers.symbols import SymbolSpec

__all__ = ["PlaceRequest", "order_ref", "parse_place", "symbol_of"]

_NUMBER: Final = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?")
_CLIENT_ID: Final = re.compile(r"[.A-Z:/a-z0-9_-]{1,36}")
_SIDES: Final = {"BUY": Side.BUY, "SELL": Side.SELL}
_TYPES: Final = ("LIMIT", "LIMIT_MAKER", "MARKET")
_RESPONSE_TYPES: Final = ("ACK", "RESULT", "FULL")


@dataclass(frozen=True, slots=True)
class PlaceRequest:
    """A checked new order. ``price_ticks`` is 0 for MARKET; a MARKET order gives either
    ``qty_lots`` (> 0) or ``quote_qty`` (quoteOrderQty, and ``qty_lots`` 0)."""

    spec: SymbolSpec
    client_order_id: str | None
    side: Side
    order_type: str
    time_in_force: str
    price_ticks: int
    qty_lots: int
    quote_qty: Decimal | None
    response_type: str


def symbol_of(params: Mapping[str, str], specs: Mapping[str, SymbolSpec]) -> SymbolSpec:
    name = _required(params, "symbol")
    spec = specs.get(name)
    if spec is None:
        raise errors.invalid_symbol()
    return spec


def order_ref(params: Mapping[str, str]) -> tuple[int | None, str | None]:
    """(orderId, origClientOrderId) of a query or cancel; at least one is given."""
    order_id = optional_int(params, "orderId")
    client_id = params.get("origClientOrderId") or None
    if order_id is None and client_id is None:
        raise BinanceError(
            -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
        )
    return order_id, client_id


def optional_int(params: Mapping[str, str], name: str) -> int | None:
    text = params.get(name)
    if text is None or text == "":
        return None
    if not (text.isascii() and text.isdigit()):
        raise errors.illegal_value(name)
    return int(text)


def parse_place(params: Mapping[str, str], specs: Mapping[str, SymbolSpec]) -> PlaceRequest:
    spec = symbol_of(params, specs)
    side = _SIDES.get(_required(params, "side"))
    if side is None:
        raise errors.invalid_side()
    order_type = _required(params, "type")
    if order_type not in _TYPES:
        raise errors.invalid_order_type()
    client_id = params.get("newClientOrderId") or None
    if client_id is not None and not _CLIENT_ID.fullmatch(client_id):
        raise errors.illegal_value("newClientOrderId")
    response_type = params.get("newOrderRespType") or "FULL"
    if response_type not in _RESPONSE_TYPES:
        raise errors.illegal_value("newOrderRespType")
    if order_type == "MARKET":
        qty_lots, quote_qty = _market_size(params, spec)
        return PlaceRequest(spec, client_id, side, order_type, "GTC", 0, qty_lots, quote_qty, response_type)
    tif = "GTC"
    if order_type == "LIMIT":
        tif = _required(params, "timeInForce")
        if tif not in ("GTC", "IOC"):
            raise errors.invalid_tif()
    price = _decimal(params, "price")
    qty = _decimal(params, "quantity")
    price_ticks = _price_ticks(spec, price)
    qty_lots = qty_lots_of(spec, qty)
    if not spec.min_notional <= price * qty <= spec.max_notional:
        raise errors.filter_failure("NOTIONAL")
    return PlaceRequest(spec, client_id, side, order_type, tif, price_ticks, qty_lots, None, response_type)


def qty_lots_of(spec: SymbolSpec, qty: Decimal) -> int:
    """``qty`` in lots; LOT_SIZE failure unless within [minQty, maxQty] and a multiple of the lot."""
    lots = qty / spec.lot
    if not (spec.min_qty <= qty <= spec.max_qty and lots == lots.to_integral_value()):
        raise errors.filter_failure("LOT_SIZE")
    return int(lots)


def _price_ticks(spec: SymbolSpec, price: Decimal) -> int:
    ticks = price / spec.tick
    if not (spec.min_price <= price <= spec.max_price and ticks == ticks.to_integral_value()):
        raise errors.filter_failure("PRICE_FILTER")
    return int(ticks)


def _market_size(params: Mapping[str, str], spec: SymbolSpec) -> tuple[int, Decimal | None]:
    if params.get("quantity"):
        return qty_lots_of(spec, _decimal(params, "quantity")), None
    if params.get("quoteOrderQty"):
        quote = _decimal(params, "quoteOrderQty")
        if quote <= 0:
            raise errors.filter_failure("NOTIONAL")
        return 0, quote
    raise BinanceError(-1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!")


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise errors.mandatory(name)
    return value


def _decimal(params: Mapping[str, str], name: str) -> Decimal:
    text = _required(params, name)
    if not _NUMBER.fullmatch(text):
        raise errors.illegal_number(name)
    return Decimal(text)
