"""What each Binance endpoint does, shared by REST and the WebSocket API: decoded parameters in,
Binance JSON out, refusals raised as ``BinanceError``. No IO.

Faults applied here: ``clock_skew`` (-1021 once a signed request's key and signature are good) and
``reject`` (-2010 insufficient balance for a well-formed order, which is then not placed). The
transports apply the others.

myTrades: ``fromId`` gives the first ``limit`` trades with id >= fromId; else ``startTime`` /
``endTime`` give the first ``limit`` trades in that window; else the last ``limit`` trades
(default 500, at most 1000). ``orderId`` narrows any of these to one order.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from sim.servers.binance import auth, errors, wire
from sim.servers.binance.faults import Faults
from sim.servers.binance.orders import Fill
from sim.servers.binance.params import optional_int, order_ref, parse_place, symbol_of
from sim.servers.binance.venue import Venue
from sim.servers.binance.wire import Json

__all__ = ["Endpoints"]

Params = Mapping[str, str]
DEFAULT_DEPTH: Final = 100
MAX_DEPTH: Final = 5_000
DEFAULT_TRADES: Final = 500
MAX_TRADES: Final = 1_000
TRADES_WINDOW_MS: Final = 24 * 3_600_000  # myTrades by time: at most a day per request


class Endpoints:
    def __init__(
        self,
        venue: Venue,
        faults: Faults,
        secrets: Mapping[str, str],
        account_of_key: Mapping[str, str],
        clock_ns: Callable[[], int],
    ) -> None:
        self._venue = venue
        self._faults = faults
        self._secrets = secrets
        self._account_of_key = account_of_key
        self._clock = clock_ns

    def now_ms(self) -> int:
        return self._clock() // 1_000_000

    # -------------------------------------------------------------------------------------- signing
    def authenticate_rest(self, api_key: str | None, raw_query: str, raw_body: str, params: Params) -> str:
        """The account of a signed REST request."""
        key = auth.verify_rest(api_key, raw_query, raw_body, params, self._secrets, self.now_ms())
        return self._after_auth(key)

    def authenticate_ws(self, params: Mapping[str, object]) -> str:
        """The account of a signed WebSocket API request."""
        return self._after_auth(auth.verify_ws(params, self._secrets, self.now_ms()))

    def _after_auth(self, key: str) -> str:
        if self._faults.request_hit("clock_skew"):
            raise errors.outside_recv_window()
        return self._account_of_key[key]

    # --------------------------------------------------------------------------------------- public
    def server_time(self) -> Json:
        return {"serverTime": self.now_ms()}

    def exchange_info(self, params: Params) -> Json:
        specs = self._venue.specs
        wanted: list[str] | None = None
        if params.get("symbol"):
            wanted = [params["symbol"]]
        elif params.get("symbols"):
            try:
                names: Any = json.loads(params["symbols"])
            except ValueError:
                raise errors.illegal_value("symbols") from None
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise errors.illegal_value("symbols")
            wanted = names
        if wanted is not None and not all(name in specs for name in wanted):
            raise errors.invalid_symbol()
        chosen = specs.values() if wanted is None else [specs[name] for name in wanted]
        return wire.exchange_info(chosen, self.now_ms())

    def depth(self, params: Params) -> Json:
        spec = symbol_of(params, self._venue.specs)
        limit = optional_int(params, "limit") or DEFAULT_DEPTH
        if limit > MAX_DEPTH:
            raise errors.illegal_value("limit")
        return self._venue.market(spec.id).depth(limit)

    # --------------------------------------------------------------------------------------- orders
    def place(self, account: str, params: Params) -> Json:
        req = parse_place(params, self._venue.specs)
        if self._faults.request_hit("reject"):
            raise errors.insufficient_balance()
        order = self._venue.place(account, req)
        if req.response_type == "ACK":
            return wire.order_ack(order)
        if req.response_type == "RESULT":
            return wire.order_result(req.spec, order)
        return wire.order_full(req.spec, order)

    def test_order(self, params: Params) -> Json:
        """POST /api/v3/order/test: check the order, place nothing."""
        parse_place(params, self._venue.specs)
        return {}

    def cancel(self, account: str, params: Params) -> Json:
        spec = symbol_of(params, self._venue.specs)
        order_id, client_id = order_ref(params)
        cancel_id = params.get("newClientOrderId") or None
        order = self._venue.cancel(account, spec.id, order_id, client_id, cancel_id)
        return wire.order_cancelled(spec, order)

    def cancel_all(self, account: str, params: Params) -> list[Json]:
        spec = symbol_of(params, self._venue.specs)
        return [wire.order_cancelled(spec, o) for o in self._venue.cancel_all(account, spec.id)]

    def query(self, account: str, params: Params) -> Json:
        spec = symbol_of(params, self._venue.specs)
        order_id, client_id = order_ref(params)
        return wire.order_query(spec, self._venue.find(account, spec.id, order_id, client_id))

    def open_orders(self, account: str, params: Params) -> list[Json]:
        specs = self._venue.specs
        symbol_id = symbol_of(params, specs).id if params.get("symbol") else None
        orders = self._venue.open_orders(account, symbol_id)
        return [wire.order_query(specs[o.symbol_id], o) for o in orders]

    # ------------------------------------------------------------------------------------- account
    def my_trades(self, account: str, params: Params) -> list[Json]:
        spec = symbol_of(params, self._venue.specs)
        limit = min(optional_int(params, "limit") or DEFAULT_TRADES, MAX_TRADES)
        trades = _select_trades(
            self._venue.trades(account, spec.id),
            from_id=optional_int(params, "fromId"),
            start_ms=optional_int(params, "startTime"),
            end_ms=optional_int(params, "endTime"),
            order_id=optional_int(params, "orderId"),
            limit=limit,
        )
        return [wire.my_trade(spec, f) for f in trades]

    def account(self, account: str) -> Json:
        venue = self._venue
        return wire.account(venue.balances(account), self.now_ms(), venue.maker_fee_bps, venue.taker_fee_bps)


def _select_trades(
    trades: list[Fill],
    *,
    from_id: int | None,
    start_ms: int | None,
    end_ms: int | None,
    order_id: int | None,
    limit: int,
) -> list[Fill]:
    if order_id is not None:
        trades = [f for f in trades if f.order_id == order_id]
    if from_id is not None:
        return [f for f in trades if f.trade_id >= from_id][:limit]
    # Binance: at most 24 hours between startTime and endTime; one of them alone spans 24 hours
    if start_ms is not None and end_ms is not None:
        if end_ms - start_ms > TRADES_WINDOW_MS:
            raise errors.window_too_long()
        lo, hi = start_ms, end_ms
    elif start_ms is not None:
        lo, hi = start_ms, start_ms + TRADES_WINDOW_MS
    elif end_ms is not None:
        lo, hi = end_ms - TRADES_WINDOW_MS, end_ms
    else:
        return trades[-limit:]
    return [f for f in trades if lo <= f.time_ms <= hi][:limit]
