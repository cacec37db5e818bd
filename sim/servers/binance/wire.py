"""Binance spot JSON shapes, built from integer ticks and lots (pure functions, no state).

Every decimal is a string with 8 places, as Binance writes them ("60000.01000000"); prices are
``ticks * tick``, quantities ``lots * lot`` and quote amounts ``ticks * lots * tick * lot``, exact.
Fees and balances are the simulator's floats, rounded to 8 places. Times are milliseconds. Shapes
follow what ccxt 4.5.90 reads (docs/ccxt_binance_spot.md); ``myTrades`` rows carry no ``m``
or ``isBuyerMaker`` key (ccxt would read the side from it, reversed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from sim.events import Side
from sim.servers.binance.orders import BnOrder, Fill
from sim.servers.symbols import SymbolSpec

Json = dict[str, Any]
Level = tuple[int, int]  # (price_ticks, qty_lots)
Balances = Mapping[str, tuple[float, float]]  # asset -> (free, locked)

AMOUNT_DECIMALS: Final = 8  # Binance's amounts (commissions, balances) carry 8 decimals
_PLACES: Final = Decimal("0.00000001")
_ZERO: Final = "0.00000000"


# --------------------------------------------------------------------------------------------- numbers
def decimal_text(value: Decimal) -> str:
    q = value.quantize(_PLACES)
    return format(abs(q) if q.is_zero() else q, "f")


def price_text(spec: SymbolSpec, ticks: int) -> str:
    return decimal_text(ticks * spec.tick)


def qty_text(spec: SymbolSpec, lots: int) -> str:
    return decimal_text(lots * spec.lot)


def quote_text(spec: SymbolSpec, ticklots: int) -> str:
    return decimal_text(ticklots * spec.tick * spec.lot)


def amount_text(value: float) -> str:
    text = f"{value:.{AMOUNT_DECIMALS}f}"
    return _ZERO if text == "-" + _ZERO else text


def side_text(side: Side) -> str:
    return "BUY" if side is Side.BUY else "SELL"


# ----------------------------------------------------------------------------------------- market data
def exchange_info(specs: Iterable[SymbolSpec], server_ms: int) -> Json:
    return {
        "timezone": "UTC",
        "serverTime": server_ms,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
        ],
        "exchangeFilters": [],
        "symbols": [_symbol_info(spec) for spec in specs],
    }


def _symbol_info(spec: SymbolSpec) -> Json:
    return {
        "symbol": spec.id,
        "status": "TRADING",
        "baseAsset": spec.base,
        "baseAssetPrecision": 8,
        "quoteAsset": spec.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
        "icebergAllowed": False,
        "ocoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": decimal_text(spec.min_price),
                "maxPrice": decimal_text(spec.max_price),
                "tickSize": decimal_text(spec.tick),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": decimal_text(spec.min_qty),
                "maxQty": decimal_text(spec.max_qty),
                "stepSize": decimal_text(spec.lot),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": decimal_text(spec.min_notional),
                "applyMinToMarket": True,
                "maxNotional": decimal_text(spec.max_notional),
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "NONE",
        "allowedSelfTradePreventionModes": ["NONE"],
    }


def levels(spec: SymbolSpec, book: Iterable[Level]) -> list[list[str]]:
    return [[price_text(spec, p), qty_text(spec, q)] for p, q in book]


def depth(spec: SymbolSpec, update_id: int, bids: Iterable[Level], asks: Iterable[Level]) -> Json:
    return {"lastUpdateId": update_id, "bids": levels(spec, bids), "asks": levels(spec, asks)}


def depth_update(
    spec: SymbolSpec, event_ms: int, first_id: int, last_id: int, bids: Iterable[Level], asks: Iterable[Level]
) -> Json:
    return {
        "e": "depthUpdate",
        "E": event_ms,
        "s": spec.id,
        "U": first_id,
        "u": last_id,
        "b": levels(spec, bids),
        "a": levels(spec, asks),
    }


def trade(spec: SymbolSpec, event_ms: int, trade_id: int, price: int, qty: int, aggressor: Side) -> Json:
    """A ``<symbol>@trade`` message; ``m`` (buyer is maker) is true when a sell took."""
    return {
        "e": "trade",
        "E": event_ms,
        "s": spec.id,
        "t": trade_id,
        "p": price_text(spec, price),
        "q": qty_text(spec, qty),
        "T": event_ms,
        "m": aggressor is Side.SELL,
        "M": True,
    }


# ---------------------------------------------------------------------------------------------- orders
def _order_core(spec: SymbolSpec, o: BnOrder) -> Json:
    return {
        "symbol": o.symbol_id,
        "orderId": o.order_id,
        "orderListId": -1,
        "clientOrderId": o.client_order_id,
        "price": price_text(spec, o.price_ticks),
        "origQty": qty_text(spec, o.qty_lots),
        "executedQty": qty_text(spec, o.filled_lots),
        "cummulativeQuoteQty": quote_text(spec, o.quote_ticklots),
        "status": o.status,
        "timeInForce": o.time_in_force,
        "type": o.order_type,
        "side": side_text(o.side),
    }


def order_ack(o: BnOrder) -> Json:
    """``newOrderRespType=ACK``."""
    return {
        "symbol": o.symbol_id,
        "orderId": o.order_id,
        "orderListId": -1,
        "clientOrderId": o.client_order_id,
        "transactTime": o.create_ms,
    }


def order_result(spec: SymbolSpec, o: BnOrder) -> Json:
    """``newOrderRespType=RESULT``."""
    out = _order_core(spec, o)
    out["transactTime"] = o.create_ms
    out["workingTime"] = o.create_ms
    out["selfTradePreventionMode"] = "NONE"
    return out


def order_full(spec: SymbolSpec, o: BnOrder) -> Json:
    """``newOrderRespType=FULL``: RESULT with the fills of the placement."""
    out = order_result(spec, o)
    out["fills"] = [
        {
            "price": price_text(spec, f.price_ticks),
            "qty": qty_text(spec, f.qty_lots),
            "commission": amount_text(f.fee),
            "commissionAsset": f.fee_asset,
            "tradeId": f.trade_id,
        }
        for f in o.fills
    ]
    return out


def order_query(spec: SymbolSpec, o: BnOrder) -> Json:
    """GET /api/v3/order and the rows of openOrders."""
    out = _order_core(spec, o)
    out.update(
        stopPrice=_ZERO,
        icebergQty=_ZERO,
        time=o.create_ms,
        updateTime=o.update_ms,
        isWorking=o.is_open,
        workingTime=o.create_ms,
        origQuoteOrderQty=_ZERO,
        selfTradePreventionMode="NONE",
    )
    return out


def order_cancelled(spec: SymbolSpec, o: BnOrder) -> Json:
    """DELETE /api/v3/order: ``clientOrderId`` is the cancel's id, ``origClientOrderId`` the order's."""
    out = _order_core(spec, o)
    out["clientOrderId"] = o.cancel_client_order_id
    out["origClientOrderId"] = o.client_order_id
    out["transactTime"] = o.update_ms
    out["selfTradePreventionMode"] = "NONE"
    return out


def execution_report(spec: SymbolSpec, o: BnOrder, execution: str, event_ms: int, fill: Fill | None) -> Json:
    """An ``executionReport`` for ``execution`` NEW | TRADE | CANCELED | EXPIRED; on CANCELED ``c``
    is the cancel's id and ``C`` the order's, otherwise ``C`` is empty."""
    cancelled = execution == "CANCELED"
    return {
        "e": "executionReport",
        "E": event_ms,
        "s": o.symbol_id,
        "c": o.cancel_client_order_id if cancelled else o.client_order_id,
        "S": side_text(o.side),
        "o": o.order_type,
        "f": o.time_in_force,
        "q": qty_text(spec, o.qty_lots),
        "p": price_text(spec, o.price_ticks),
        "P": _ZERO,
        "F": _ZERO,
        "g": -1,
        "C": o.client_order_id if cancelled else "",
        "x": execution,
        "X": o.status,
        "r": "NONE",
        "i": o.order_id,
        "l": qty_text(spec, fill.qty_lots if fill else 0),
        "z": qty_text(spec, o.filled_lots),
        "L": price_text(spec, fill.price_ticks if fill else 0),
        "n": amount_text(fill.fee) if fill else "0",
        "N": fill.fee_asset if fill else None,
        "T": fill.time_ms if fill else o.update_ms,
        "t": fill.trade_id if fill else -1,
        "I": 0,
        "w": o.is_open,
        "m": fill.maker if fill else False,
        "M": False,
        "O": o.create_ms,
        "Z": quote_text(spec, o.quote_ticklots),
        "Y": quote_text(spec, fill.price_ticks * fill.qty_lots if fill else 0),
        "Q": _ZERO,
        "W": o.create_ms,
        "V": "NONE",
    }


def my_trade(spec: SymbolSpec, f: Fill) -> Json:
    return {
        "symbol": f.symbol_id,
        "id": f.trade_id,
        "orderId": f.order_id,
        "orderListId": -1,
        "price": price_text(spec, f.price_ticks),
        "qty": qty_text(spec, f.qty_lots),
        "quoteQty": quote_text(spec, f.price_ticks * f.qty_lots),
        "commission": amount_text(f.fee),
        "commissionAsset": f.fee_asset,
        "time": f.time_ms,
        "isBuyer": f.side is Side.BUY,
        "isMaker": f.maker,
        "isBestMatch": True,
    }


# --------------------------------------------------------------------------------------------- account
def balance_rows(balances: Balances, assets: Sequence[str] | None = None) -> list[Json]:
    names = sorted(balances) if assets is None else assets
    return [
        {"asset": a, "free": amount_text(balances[a][0]), "locked": amount_text(balances[a][1])}
        for a in names
    ]


def account(balances: Balances, now_ms: int, maker_bps: float, taker_bps: float) -> Json:
    """GET /api/v3/account. Commissions in Binance's units (bps / 100 as integers, rates as text)."""
    rates = {
        "maker": amount_text(maker_bps / 1e4),
        "taker": amount_text(taker_bps / 1e4),
        "buyer": _ZERO,
        "seller": _ZERO,
    }
    return {
        "makerCommission": round(maker_bps),
        "takerCommission": round(taker_bps),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": rates,
        "canTrade": True,
        "canWithdraw": False,
        "canDeposit": False,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": now_ms,
        "accountType": "SPOT",
        "balances": balance_rows(balances),
        "permissions": ["SPOT"],
    }


def account_position(balances: Balances, assets: Sequence[str], event_ms: int) -> Json:
    """An ``outboundAccountPosition`` listing ``assets``."""
    rows = balance_rows(balances, assets)
    return {
        "e": "outboundAccountPosition",
        "E": event_ms,
        "u": event_ms,
        "B": [{"a": r["asset"], "f": r["free"], "l": r["locked"]} for r in rows],
    }
