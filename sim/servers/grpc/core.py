"""The gRPC venue's gateway core: one ``SimExchange`` per symbol, our accounts' orders and fills, and
the proto messages the simulator's events become. No IO: the caller passes a clock and two sinks, one
for market events (by symbol) and one for order messages (by account and symbol).

Every exchange runs with zero order and market-data latency, so a command is matched when it is
submitted and its outcome is known before the call is answered; the exchange is brought up to now
before it acts. Each event batch (from a command or from ``advance``) is published in order:
``BookSnapshot`` -> a ``PublishedBook`` (when it differs from the last), ``PublicTrade`` -> a trade
message, our ``OrderAccepted`` / ``OwnFill`` / ``OrderCancelled`` -> Ack / Fill / Cancelled. Trade ids
are the simulator's, interleaved across symbols (``sim_id * n_symbols + index``, as text) so they are
unique over the venue; a Fill has its public trade's id.

Place, in order: a malformed client id (1..36 of ``[A-Za-z0-9._:-]``) is ``invalid_order``; an id
the account has taken (``sim.servers.grpc.orders``) is DUPLICATE with that order as it stands; then
``unknown_symbol``; then ``invalid_order`` for an unspecified side or type, a quantity below the
minimum or above the maximum, a limit price outside the symbol's range or (MARKET: at the touch, if
there is one) a notional below the minimum; then the simulator's ``insufficient_funds``,
``post_only_would_cross`` or ``invalid_order``. A refusal is only in the reply, never an event.

Funds (the Binance emulator's simplification): each symbol's exchange holds its own copy of an
account's starting balances of its two assets; an account's total of an asset is its starting
balance plus the change in every exchange that holds it, and what is locked is the sum of the locks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

import sim.servers.grpc.wire as wire
from sim.events import (
    BookSnapshot,
    CancelAll,
    CancelOrder,
    Event,
    FeeAsset,
    Level,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderType,
    OwnFill,
    PlaceOrder,
    PublicTrade,
    Side,
)
from sim.exchange import SimExchange
from sim.flow import MarketParams
from sim.servers.grpc.orders import AccountOrders, GwFill, GwOrder, Rejection
from sim.servers.grpc.proto import venue_pb2 as pb
from sim.servers.symbols import SNAPSHOT_LEVELS, SymbolSpec, account_balances, symbol_exchange

__all__ = ["SNAPSHOT_LEVELS", "GatewayCore", "MarketEvent", "PublishedBook", "UnknownSymbol"]

_CLIENT_ID: Final = re.compile(r"[A-Za-z0-9._:-]{1,36}")


class UnknownSymbol(LookupError):
    def __init__(self, symbol: str) -> None:
        super().__init__(f"unknown symbol {symbol!r}")
        self.symbol = symbol


@dataclass(frozen=True, slots=True)
class PublishedBook:
    """A symbol's book as the market streams show it: best first, as of ``exchange_ts_ns``."""

    exchange_ts_ns: int
    bids: tuple[Level, ...] = ()
    asks: tuple[Level, ...] = ()


MarketEvent = PublishedBook | pb.MarketMessage  # a new book, or a trade message
MarketSink = Callable[[str, MarketEvent], None]  # (symbol, event)
OrderSink = Callable[[str, str, pb.OrderMessage], None]  # (account, symbol, message)


class _Market:
    def __init__(self, spec: SymbolSpec, exchange: SimExchange, index: int, now_ns: int) -> None:
        self.spec = spec
        self.exchange = exchange
        self.index = index
        self.book = PublishedBook(now_ns)


class GatewayCore:
    def __init__(
        self,
        specs: Sequence[SymbolSpec],
        markets: Mapping[str, MarketParams | None],
        starting_balances: Mapping[str, float],
        accounts: Sequence[str],
        *,
        seed: int,
        clock_ns: Callable[[], int],
        maker_fee_bps: float,
        taker_fee_bps: float,
        fee_asset: FeeAsset,
        on_market: MarketSink,
        on_orders: OrderSink,
    ) -> None:
        self._clock = clock_ns
        self._on_market, self._on_orders = on_market, on_orders
        self._fee_in_base = fee_asset == "received"
        self.starting_balances = dict(starting_balances)
        self.assets = sorted(set(starting_balances) | {a for s in specs for a in (s.base, s.quote)})
        self._orders = {name: AccountOrders() for name in accounts}
        now = clock_ns()
        self._markets: dict[str, _Market] = {}
        for index, spec in enumerate(specs):
            exchange = symbol_exchange(
                spec, markets[spec.symbol], starting_balances, accounts, seed=seed + index, now_ns=now,
                maker_fee_bps=maker_fee_bps, taker_fee_bps=taker_fee_bps, fee_asset=fee_asset,
            )  # fmt: skip
            self._markets[spec.symbol] = _Market(spec, exchange, index, now)
        self._rejected: dict[tuple[str, str], str] = {}  # (account, client id) -> reason, during a Place

    # ---------------------------------------------------------------------------------------- queries
    @property
    def specs(self) -> dict[str, SymbolSpec]:
        return {symbol: m.spec for symbol, m in self._markets.items()}

    def accounts(self) -> list[str]:
        return list(self._orders)

    def has_symbol(self, symbol: str) -> bool:
        return symbol in self._markets

    def exchange(self, symbol: str) -> SimExchange:
        return self._market(symbol).exchange

    def book(self, symbol: str) -> PublishedBook:
        return self._market(symbol).book

    def instruments(self) -> list[pb.Instrument]:
        return [wire.instrument(m.spec) for m in self._markets.values()]

    def registry(self, account: str) -> AccountOrders:
        return self._orders[account]

    def open_orders(self, account: str, symbol: str) -> list[pb.OpenOrder]:
        self._market(symbol)
        return [wire.open_order(o) for o in self._orders[account].open_orders(symbol)]

    def order_status(self, account: str, symbol: str, client_order_id: str) -> pb.OrderReport:
        self._market(symbol)
        registry = self._orders[account]
        order = registry.get(client_order_id)
        if order is not None and order.symbol == symbol:
            return wire.report(order)
        rejection = registry.rejection(client_order_id)
        if rejection is not None and rejection.symbol == symbol:
            return wire.rejected_report(rejection)
        return wire.not_found(client_order_id)

    def fills_since(self, account: str, symbol: str, since_ns: int) -> list[pb.Fill]:
        self._market(symbol)
        return [wire.fill(f) for f in self._orders[account].fills_since(symbol, since_ns)]

    def balances(self, account: str) -> dict[str, tuple[float, float]]:
        """Asset -> (free, locked); see the module docstring for how symbols share an asset."""
        exchanges = (m.exchange for m in self._markets.values())
        return account_balances(exchanges, account, self.starting_balances, self.assets)

    def account_reply(self, account: str) -> pb.AccountReply:
        balances = {
            a: wire.amount_text(free + locked) for a, (free, locked) in self.balances(account).items()
        }
        return pb.AccountReply(balances=balances)

    # ---------------------------------------------------------------------------------------- commands
    def place(self, account: str, req: pb.PlaceRequest) -> pb.PlaceReply:
        """Place ``req`` for ``account`` (see the module docstring for the checks, in order)."""
        cid, registry = req.client_order_id, self._orders[account]
        if not _CLIENT_ID.fullmatch(cid):
            return pb.PlaceReply(status=pb.PlaceReply.REJECTED, reject_reason="invalid_order")
        taken = registry.get(cid)
        if taken is not None:
            return pb.PlaceReply(status=pb.PlaceReply.DUPLICATE, order=wire.report(taken))
        market = self._markets.get(req.symbol)
        reason = "unknown_symbol" if market is None else _invalid(market, req)
        if market is not None and reason is None:
            side, order_type = wire.side_of(req.side), wire.ORDER_TYPES[req.order_type]
            assert side is not None  # checked by _invalid
            price = 0 if order_type is OrderType.MARKET else req.price_ticks
            command = PlaceOrder(account, cid, side, price, req.qty_lots, order_type)
            now = self._clock()
            self._run(market, market.exchange.submit(command, now))
            self._run(market, market.exchange.advance(now))
            order = registry.get(cid)
            if order is not None:
                return pb.PlaceReply(status=pb.PlaceReply.ACCEPTED, order=wire.report(order))
            reason = self._rejected.pop((account, cid))
        assert reason is not None
        rejection = Rejection(
            req.symbol, cid, req.side, req.order_type, req.price_ticks, req.qty_lots, reason
        )
        registry.reject(rejection)
        return pb.PlaceReply(
            status=pb.PlaceReply.REJECTED, reject_reason=reason, order=wire.rejected_report(rejection)
        )

    def cancel(self, account: str, symbol: str, client_order_id: str) -> bool:
        """Cancel an open order; False if it is not open (filled, cancelled before, or never taken)."""
        market = self._market(symbol)
        order = self._orders[account].get(client_order_id)
        if order is None or not order.is_open or order.symbol != symbol:
            return False
        now = self._clock()
        self._run(market, market.exchange.submit(CancelOrder(account, client_order_id), now))
        self._run(market, market.exchange.advance(now))
        return order.cancel_reason == "user"  # else it filled before the cancel reached the engine

    def cancel_all(self, account: str, symbol: str) -> int:
        """Cancel every open order of the symbol; how many were cancelled."""
        market = self._market(symbol)
        orders = self._orders[account].open_orders(symbol)
        if not orders:
            return 0
        now = self._clock()
        self._run(market, market.exchange.submit(CancelAll(account), now))
        self._run(market, market.exchange.advance(now))
        return sum(o.cancel_reason == "user" for o in orders)

    def advance(self) -> None:
        """Run every exchange up to now and publish what happened."""
        now = self._clock()
        for market in self._markets.values():
            self._run(market, market.exchange.advance(now))

    def next_event_time_ns(self) -> int | None:
        times = [t for m in self._markets.values() if (t := m.exchange.next_event_time_ns()) is not None]
        return min(times) if times else None

    # -------------------------------------------------------------------------------------- internals
    def _market(self, symbol: str) -> _Market:
        market = self._markets.get(symbol)
        if market is None:
            raise UnknownSymbol(symbol)
        return market

    def _trade_id(self, market: _Market, sim_trade_id: int) -> str:
        return str(sim_trade_id * len(self._markets) + market.index)

    def _run(self, market: _Market, events: list[Event]) -> None:
        symbol = market.spec.symbol
        for ev in events:
            if isinstance(ev, BookSnapshot):
                if (ev.bids, ev.asks) != (market.book.bids, market.book.asks):
                    market.book = PublishedBook(ev.exchange_ts_ns, ev.bids, ev.asks)
                    self._on_market(symbol, market.book)
            elif isinstance(ev, PublicTrade):
                tid = self._trade_id(market, ev.trade_id)
                message = wire.trade(ev.exchange_ts_ns, tid, ev.price_ticks, ev.qty_lots, ev.aggressor_side)
                self._on_market(symbol, message)
            elif isinstance(ev, OrderRejected):
                self._rejected[(ev.account, ev.client_order_id)] = ev.reason
            elif isinstance(ev, OrderAccepted | OwnFill | OrderCancelled):
                self._on_orders(ev.account, symbol, self._private(market, ev))

    def _private(self, market: _Market, ev: OrderAccepted | OwnFill | OrderCancelled) -> pb.OrderMessage:
        spec, registry, ts = market.spec, self._orders[ev.account], ev.exchange_ts_ns
        if isinstance(ev, OrderAccepted):
            order = GwOrder(
                spec.symbol, ev.client_order_id, ev.side, ev.order_type, ev.price_ticks, ev.qty_lots, ts, ts
            )
            registry.add(order)
            return wire.ack(ts, ev.client_order_id)
        found = registry.get(ev.client_order_id)
        assert found is not None and found.is_open, f"{ev!r} for an order that is not open"
        order = found
        if isinstance(ev, OwnFill):
            order.fill(ev.qty_lots, ts)
            in_base = self._fee_in_base and ev.side is Side.BUY
            fill = GwFill(
                spec.symbol, self._trade_id(market, ev.trade_id), ev.client_order_id, ev.side,
                ev.price_ticks, ev.qty_lots, ev.liquidity, ev.fee_base if in_base else ev.fee_quote,
                spec.base if in_base else spec.quote, ts, ev.remaining_lots,
            )  # fmt: skip
            registry.add_fill(fill)
            message = wire.fill_message(fill)
        else:
            order.cancel(ev.reason, ts)
            message = wire.cancelled(ts, ev.client_order_id, ev.reason)
        if not order.is_open:
            registry.closed(order)
        return message


def _invalid(market: _Market, req: pb.PlaceRequest) -> str | None:
    """``invalid_order`` if the request breaks the symbol's rules (see the module docstring)."""
    spec = market.spec
    if wire.side_of(req.side) is None or req.order_type not in wire.ORDER_TYPES:
        return "invalid_order"
    qty = Decimal(req.qty_lots) * spec.lot
    if not spec.min_qty <= qty <= spec.max_qty:
        return "invalid_order"
    if req.order_type == pb.MARKET:
        bid, ask = market.exchange.best_bid_ask()
        touch = ask if req.side == pb.BUY else bid
        price = None if touch is None else Decimal(touch) * spec.tick
    else:
        price = Decimal(req.price_ticks) * spec.tick
        if not spec.min_price <= price <= spec.max_price:
            return "invalid_order"
    if price is not None and price * qty < spec.min_notional:
        return "invalid_order"
    return None
