"""The venue behind the emulator: one ``SimExchange`` per symbol, our accounts' orders and trades in
Binance's terms, and the stream messages the simulator's events become. No IO: the caller passes a
clock and two callbacks that take the market-stream and user-data messages.

Every exchange runs with zero order and market-data latency, so a command is matched when it is
submitted and its outcome is known before the request is answered. Each event batch the simulator
returns (from a command or from ``advance``) is turned, in order, into depth updates, trades and
executionReports, then one ``outboundAccountPosition`` per account that had private events, listing
that symbol's two assets.

Funds (a simplification): each symbol's exchange holds its own copy of an account's starting
balances of its two assets. An account's balance of an asset is its starting balance plus the change
in every exchange that holds the asset; what is locked is the sum of what each exchange locks. So
with BTC/USDT and ETH/USDT the USDT an order may use is checked per symbol, not across them.

MARKET orders: minNotional is checked at the touch (Binance uses a 5-minute average price); a
``quoteOrderQty`` is turned into a quantity at the touch before the order is sent.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Final

from sim.events import (
    BookSnapshot,
    CancelAll,
    CancelOrder,
    Event,
    FeeAsset,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OwnFill,
    PlaceOrder,
    PublicTrade,
    RejectReason,
    Side,
)
from sim.flow import MarketParams
from sim.servers.binance import errors, wire
from sim.servers.binance.errors import BinanceError
from sim.servers.binance.market import SymbolMarket
from sim.servers.binance.orders import AccountOrders, BnOrder, Fill
from sim.servers.binance.params import PlaceRequest, qty_lots_of
from sim.servers.binance.wire import AMOUNT_DECIMALS, Json
from sim.servers.symbols import SymbolSpec, account_balances, symbol_exchange

__all__ = ["Venue"]

MarketSink = Callable[[str, Json], None]  # (stream name, message)
UserSink = Callable[[str, Json], None]  # (account, event)

_REJECTS: Final[Mapping[RejectReason, Callable[[], BinanceError]]] = {
    "post_only_would_cross": errors.would_take,
    "duplicate_client_order_id": errors.duplicate_order,
    "insufficient_funds": errors.insufficient_balance,
    "invalid_order": lambda: errors.BinanceError(-1013, "Invalid quantity."),
}


class Venue:
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
        on_user: UserSink,
    ) -> None:
        self._clock = clock_ns
        self._on_market, self._on_user = on_market, on_user
        self.maker_fee_bps, self.taker_fee_bps = maker_fee_bps, taker_fee_bps
        self._fee_asset = fee_asset
        self.starting_balances = dict(starting_balances)
        self.assets = sorted(set(starting_balances) | {a for s in specs for a in (s.base, s.quote)})
        self._orders = {name: AccountOrders() for name in accounts}
        now = clock_ns()
        self._markets: dict[str, SymbolMarket] = {}
        for index, spec in enumerate(specs):
            exchange = symbol_exchange(
                spec, markets[spec.symbol], starting_balances, accounts, seed=seed + index, now_ns=now,
                maker_fee_bps=maker_fee_bps, taker_fee_bps=taker_fee_bps, fee_asset=fee_asset,
                fee_decimals=AMOUNT_DECIMALS,  # the balance moves by the commission it reports
            )  # fmt: skip
            self._markets[spec.id] = SymbolMarket(spec, exchange, index, len(specs))
        self.specs = {sid: m.spec for sid, m in self._markets.items()}  # by Binance symbol id
        self._pending: dict[tuple[str, str, str], BnOrder] = {}  # placed, not yet accepted
        self._rejected: dict[tuple[str, str, str], RejectReason] = {}
        self._next_order_id = 1
        self._next_client_id = 1

    def _fee_asset_of(self, spec: SymbolSpec, side: Side) -> str:
        """The asset a fill's commission is charged in, zero or not: a buy pays in the base it receives
        with ``fee_asset="received"``; otherwise the quote."""
        return spec.base if self._fee_asset == "received" and side is Side.BUY else spec.quote

    # ---------------------------------------------------------------------------------------- queries
    def market(self, symbol_id: str) -> SymbolMarket:
        market = self._markets.get(symbol_id)
        if market is None:
            raise errors.invalid_symbol()
        return market

    def accounts(self) -> list[str]:
        return list(self._orders)

    def find(self, account: str, symbol_id: str, order_id: int | None, client_id: str | None) -> BnOrder:
        self.market(symbol_id)
        order = self._orders[account].find(symbol_id, order_id, client_id)
        if order is None:
            raise errors.no_such_order()
        return order

    def open_orders(self, account: str, symbol_id: str | None = None) -> list[BnOrder]:
        if symbol_id is not None:
            self.market(symbol_id)
        return self._orders[account].open_orders(symbol_id)

    def orders(self, account: str) -> list[BnOrder]:
        return self._orders[account].orders()

    def trades(self, account: str, symbol_id: str | None = None) -> list[Fill]:
        return self._orders[account].trades(symbol_id)

    def balances(self, account: str) -> dict[str, tuple[float, float]]:
        """Asset -> (free, locked); see the module docstring for how symbols share an asset."""
        exchanges = (m.exchange for m in self._markets.values())
        return account_balances(exchanges, account, self.starting_balances, self.assets)

    # ---------------------------------------------------------------------------------------- commands
    def place(self, account: str, req: PlaceRequest) -> BnOrder:
        """Place ``req`` (checked by ``params.parse_place``); the order as it stands once matched."""
        market = self.market(req.spec.id)
        cid = req.client_order_id or self._new_client_id()
        if self._orders[account].open_order(req.spec.id, cid) is not None:
            raise errors.duplicate_order()
        qty_lots = self._market_qty(market, req) if req.order_type == "MARKET" else req.qty_lots
        now = self._clock()
        ms = now // 1_000_000
        order = BnOrder(
            self._next_order_id, account, req.spec.id, cid, req.side, req.order_type, req.time_in_force,
            req.price_ticks, qty_lots, ms, ms,
        )  # fmt: skip
        self._next_order_id += 1
        key = (account, req.spec.id, cid)
        self._pending[key] = order
        command = PlaceOrder(account, cid, req.side, req.price_ticks, qty_lots, order.sim_type)
        try:
            self._run(market, market.exchange.submit(command, now))
            self._run(market, market.exchange.advance(now))
        finally:
            self._pending.pop(key, None)
            reason = self._rejected.pop(key, None)
        if reason is not None:
            raise _REJECTS[reason]()
        return order

    def cancel(
        self, account: str, symbol_id: str, order_id: int | None, client_id: str | None, cancel_id: str | None
    ) -> BnOrder:
        """Cancel an open order (-2011 if it is not open); the order as cancelled."""
        market = self.market(symbol_id)
        order = self._orders[account].find(symbol_id, order_id, client_id)
        if order is None or not order.is_open:
            raise errors.unknown_order()
        order.cancel_client_order_id = cancel_id or self._new_client_id()
        now = self._clock()
        self._run(market, market.exchange.submit(CancelOrder(account, order.client_order_id), now))
        self._run(market, market.exchange.advance(now))
        if order.status != "CANCELED":  # it filled before the cancel reached the engine
            raise errors.unknown_order()
        return order

    def cancel_all(self, account: str, symbol_id: str) -> list[BnOrder]:
        """Cancel every open order of the symbol; -2011 if there is none (as Binance answers)."""
        market = self.market(symbol_id)
        orders = self._orders[account].open_orders(symbol_id)
        if not orders:
            raise errors.unknown_order()
        for order in orders:
            order.cancel_client_order_id = self._new_client_id()
        now = self._clock()
        self._run(market, market.exchange.submit(CancelAll(account), now))
        self._run(market, market.exchange.advance(now))
        return [o for o in orders if o.status == "CANCELED"]

    def advance(self) -> None:
        """Run every exchange up to now and publish what happened."""
        now = self._clock()
        for market in self._markets.values():
            self._run(market, market.exchange.advance(now))

    def next_event_time_ns(self) -> int | None:
        times = [t for m in self._markets.values() if (t := m.exchange.next_event_time_ns()) is not None]
        return min(times) if times else None

    def skip_depth_ids(self, n: int) -> None:
        for market in self._markets.values():
            market.skip_ids(n)

    def price_spike(self) -> None:
        ms = self._clock() // 1_000_000
        for market in self._markets.values():
            for stream, message in market.spike(ms):
                self._on_market(stream, message)

    # -------------------------------------------------------------------------------------- internals
    def _new_client_id(self) -> str:
        n = self._next_client_id
        self._next_client_id += 1
        return f"emulator{n:014d}"

    def _market_qty(self, market: SymbolMarket, req: PlaceRequest) -> int:
        """A market order's quantity in lots, its notional checked at the touch."""
        bid, ask = market.exchange.best_bid_ask()
        touch = ask if req.side is Side.BUY else bid
        price_ticks = touch if touch is not None else market.exchange.mid_ticks() or 0.0
        price = Decimal(str(price_ticks)) * req.spec.tick
        if req.quote_qty is not None:
            if req.quote_qty < req.spec.min_notional:
                raise errors.filter_failure("NOTIONAL")
            if price <= 0:
                raise errors.filter_failure("LOT_SIZE")
            lots = math.floor(req.quote_qty / price / req.spec.lot)
            return qty_lots_of(req.spec, lots * req.spec.lot)
        if req.qty_lots * req.spec.lot * price < req.spec.min_notional:
            raise errors.filter_failure("NOTIONAL")
        return req.qty_lots

    def _run(self, market: SymbolMarket, events: list[Event]) -> None:
        spec = market.spec
        touched: dict[str, int] = {}  # account -> time of its last private event (ms)
        for ev in events:
            ms = ev.ts_ns // 1_000_000
            if isinstance(ev, BookSnapshot):
                for stream, message in market.on_snapshot(ev, ms):
                    self._on_market(stream, message)
            elif isinstance(ev, PublicTrade):
                tid = market.trade_id(ev.trade_id)
                message = wire.trade(spec, ms, tid, ev.price_ticks, ev.qty_lots, ev.aggressor_side)
                self._on_market(market.trade_stream, message)
            elif isinstance(ev, OrderRejected):
                self._rejected[(ev.account, spec.id, ev.client_order_id)] = ev.reason
            elif isinstance(ev, OrderAccepted | OwnFill | OrderCancelled):
                self._private(market, ev, ms)
                touched[ev.account] = ms
        for account, ms in touched.items():
            position = wire.account_position(self.balances(account), (spec.base, spec.quote), ms)
            self._on_user(account, position)

    def _private(self, market: SymbolMarket, ev: OrderAccepted | OwnFill | OrderCancelled, ms: int) -> None:
        spec, registry = market.spec, self._orders[ev.account]
        if isinstance(ev, OrderAccepted):
            order = self._pending.pop((ev.account, spec.id, ev.client_order_id))
            registry.add(order)
            self._on_user(ev.account, wire.execution_report(spec, order, "NEW", ms, None))
            return
        found = registry.open_order(spec.id, ev.client_order_id)
        assert found is not None, f"{ev!r} for an order that is not open"
        order = found
        if isinstance(ev, OwnFill):
            fill = Fill(
                market.trade_id(ev.trade_id), order.order_id, spec.id, order.side, ev.price_ticks,
                ev.qty_lots, ev.fee_base or ev.fee_quote, self._fee_asset_of(spec, order.side),
                ev.liquidity == "maker", ev.exchange_ts_ns // 1_000_000,
            )  # fmt: skip
            order.apply_fill(fill)
            registry.add_fill(fill)
            execution = "TRADE"
            report_fill: Fill | None = fill
        else:
            order.status = "CANCELED" if ev.reason == "user" else "EXPIRED"
            order.update_ms = ms
            execution, report_fill = order.status, None
        if not order.is_open:
            registry.closed(order)
        self._on_user(ev.account, wire.execution_report(spec, order, execution, ms, report_fill))
