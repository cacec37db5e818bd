"""Translation between the simulator's types (``sim.events``) and the bot's (``mm_bot.model``), both
ways: the one place that knows both vocabularies. Pure; used by ``SimVenue`` (paper trading) and by
``mm_bot.backtest.driver`` (virtual-time runs and backtests)."""

from __future__ import annotations

from decimal import Decimal

from mm_bot.engine.core_types import Cancel, Place
from mm_bot.model import (
    BookSnapshot,
    CancelRejected,
    Instrument,
    Liquidity,
    OpenOrder,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OwnFill,
    PublicTrade,
    Side,
    VenueEvent,
)
from sim import events as sev
from sim.exchange import SimExchange


def instrument_for(exchange: SimExchange, symbol: str) -> Instrument:
    """The bot's view of the exchange's instrument (exact decimal tick and lot)."""
    inst = exchange.config.instrument
    return Instrument(
        symbol, inst.base, inst.quote, Decimal(repr(inst.tick_size)), Decimal(repr(inst.lot_size))
    )


def to_sim_order(request: OrderRequest, account: str) -> sev.PlaceOrder:
    return sev.PlaceOrder(
        account,
        request.client_order_id,
        sev.Side(int(request.side)),
        request.price_ticks,
        request.qty_lots,
        sev.OrderType(request.order_type.value),
    )


def to_sim_command(command: Place | Cancel, account: str) -> sev.PlaceOrder | sev.CancelOrder:
    if isinstance(command, Cancel):
        return sev.CancelOrder(account, command.client_order_id)
    return to_sim_order(command.request, account)


def to_model_event(e: sev.Event, account: str) -> VenueEvent | None:
    """A sim event as the bot sees it; None for events of other accounts."""
    if isinstance(e, sev.BookSnapshot):
        return BookSnapshot(e.ts_ns, e.exchange_ts_ns, e.seq, e.bids, e.asks)
    if isinstance(e, sev.PublicTrade):
        return PublicTrade(e.ts_ns, e.exchange_ts_ns, e.price_ticks, e.qty_lots, Side(int(e.aggressor_side)))
    if getattr(e, "account", None) != account:
        return None
    if isinstance(e, sev.OwnFill):
        liquidity = Liquidity.MAKER if e.liquidity == "maker" else Liquidity.TAKER
        return OwnFill(
            e.ts_ns,
            e.client_order_id,
            Side(int(e.side)),
            e.price_ticks,
            e.qty_lots,
            liquidity,
            e.fee_quote,
            str(e.trade_id),
            fee_base=e.fee_base,
        )
    if isinstance(e, sev.OrderAccepted):
        return OrderAccepted(e.ts_ns, e.client_order_id)
    if isinstance(e, sev.OrderRejected):
        return OrderRejected(e.ts_ns, e.client_order_id, str(e.reason))
    if isinstance(e, sev.OrderCancelled):
        return OrderCancelled(e.ts_ns, e.client_order_id, str(e.reason))
    return CancelRejected(e.ts_ns, e.client_order_id, str(e.reason))


def order_report(exchange: SimExchange, account: str, client_order_id: str) -> OrderReport:
    """The order as the exchange knows it now (``Venue.order_status``)."""
    record = exchange.order_status(account, client_order_id)
    if record is None:
        return OrderReport(client_order_id, OrderStatus.NOT_FOUND)
    side = Side(int(record.side))
    status = OrderStatus(record.state)
    return OrderReport(client_order_id, status, side, record.price_ticks, record.qty_lots, record.filled_lots)


def open_orders(exchange: SimExchange, account: str) -> list[OpenOrder]:
    return [
        OpenOrder(o.client_order_id, Side(int(o.side)), o.price_ticks, o.qty_lots, o.remaining_lots)
        for o in exchange.open_orders(account)
    ]


def fills_since(exchange: SimExchange, account: str, since_ns: int) -> list[OwnFill]:
    fills = (to_model_event(f, account) for f in exchange.fills(account, since_ns))
    return [f for f in fills if isinstance(f, OwnFill)]


def balances(exchange: SimExchange, account: str) -> dict[str, float]:
    return {asset: b.total for asset, b in exchange.account(account).items()}
