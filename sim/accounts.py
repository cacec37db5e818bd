"""Per-account bookkeeping of ``SimExchange``: balances, open orders, the funds they lock, the fees
a fill is charged, and the history of finished orders and fills that ``order_status`` and ``fills``
answer from.

Units: prices are integer ticks, quantities integer lots, balances floats in asset units. The funds
rule (stated with the others in ``sim.exchange``): ``available = total - locked``; an open buy locks
price*qty*tick_size*lot_size*(1 + max(maker, taker, 0) bps) of quote, an open sell locks its base
quantity qty*lot_size. Nothing here reads a clock or emits events.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from sim.book import Side
from sim.events import AssetBalance, FeeAsset, OpenOrder, OrderRecord, OwnFill, PlaceOrder

HISTORY: Final = 100_000  # finished orders and fills kept per account for order_status / fills


class Order:
    """One of our orders from acceptance until it is filled or cancelled."""

    __slots__ = ("account", "cid", "oid", "order_type", "price", "qty", "remaining", "side")

    def __init__(self, account: Account, cid: str, oid: int, cmd: PlaceOrder, price: int) -> None:
        self.account = account
        self.cid = cid
        self.oid = oid
        self.side = cmd.side
        self.price = price  # the limit price (for market orders: the protection price)
        self.qty = cmd.qty_lots
        self.remaining = cmd.qty_lots
        self.order_type = cmd.order_type


class Account:
    """``owner`` is the account's owner id in the book (0: BACKGROUND)."""

    __slots__ = ("balances", "done", "fills", "name", "open", "owner")

    def __init__(self, name: str, owner: int, balances: Mapping[str, float]) -> None:
        self.name = name
        self.owner = owner
        self.balances = {asset: float(amount) for asset, amount in balances.items()}
        self.open: dict[str, Order] = {}  # client order id -> order, in placement order
        self.done: OrderedDict[str, OrderRecord] = OrderedDict()  # the last HISTORY finished orders
        self.fills: deque[OwnFill] = deque(maxlen=HISTORY)

    def open_orders(self) -> list[OpenOrder]:
        """The open orders in placement order."""
        return [
            OpenOrder(o.cid, o.side, o.price, o.qty, o.remaining, o.order_type) for o in self.open.values()
        ]

    def order_status(self, client_order_id: str) -> OrderRecord | None:
        """The order with this id: open, or how it ended (the last ``HISTORY`` finished orders)."""
        o = self.open.get(client_order_id)
        if o is not None:
            return OrderRecord(o.cid, o.side, o.price, o.qty, o.qty - o.remaining, o.order_type, "open")
        return self.done.get(client_order_id)

    def close(self, order: Order, state: Literal["filled", "cancelled"]) -> None:
        """Move ``order`` from the open orders to the finished ones, ended as ``state``."""
        del self.open[order.cid]
        filled = order.qty - order.remaining
        self.finish(
            OrderRecord(order.cid, order.side, order.price, order.qty, filled, order.order_type, state)
        )

    def finish(self, record: OrderRecord) -> None:
        """Keep ``record`` as the latest finished order with its id (at most ``HISTORY`` are kept)."""
        self.done[record.client_order_id] = record
        self.done.move_to_end(record.client_order_id)
        if len(self.done) > HISTORY:
            self.done.popitem(last=False)


@dataclass(frozen=True, slots=True)
class Funds:
    """The funds rule of one instrument (see the module docstring)."""

    base: str
    quote: str
    lot_size: float  # base units per lot
    tick_lot: float  # quote units per tick x lot: tick_size * lot_size
    buy_lock: float  # 1 + max(maker, taker, 0) bps / 1e4

    def buy_lock_quote(self, price_ticks: int, qty_lots: int) -> float:
        """Quote that a buy of ``qty_lots`` at ``price_ticks`` locks."""
        return price_ticks * qty_lots * self.tick_lot * self.buy_lock

    def locked(self, acct: Account) -> tuple[float, float]:
        """(base, quote) locked by ``acct``'s open orders."""
        base = quote = 0.0
        for o in acct.open.values():
            if o.side > 0:
                quote += self.buy_lock_quote(o.price, o.remaining)
            else:
                base += o.remaining * self.lot_size
        return base, quote

    def short_of_funds(self, acct: Account, side: Side, price_ticks: int | None, qty_lots: int) -> bool:
        """True if a new order needs more than ``acct`` has available; a buy without a price (a
        market buy on an empty book) needs nothing."""
        locked_base, locked_quote = self.locked(acct)
        if side > 0:
            need = 0.0 if price_ticks is None else self.buy_lock_quote(price_ticks, qty_lots)
            return need > acct.balances[self.quote] - locked_quote
        return qty_lots * self.lot_size > acct.balances[self.base] - locked_base

    def balances(self, acct: Account) -> dict[str, AssetBalance]:
        """``acct``'s balances by asset: total and what open orders lock."""
        locked_base, locked_quote = self.locked(acct)
        locks = {self.base: locked_base, self.quote: locked_quote}
        return {a: AssetBalance(total, locks.get(a, 0.0)) for a, total in acct.balances.items()}


@dataclass(frozen=True, slots=True)
class Fees:
    """What one fill of an account is charged: the maker or taker rate, on the base a buy receives
    (``fee_asset="received"``) or else on the quote notional, rounded as the venue reports it
    (``fee_decimals``)."""

    maker: float  # a fraction of the notional: bps / 1e4
    taker: float
    in_base_on_buys: bool
    decimals: int | None

    @classmethod
    def of(cls, maker_bps: float, taker_bps: float, fee_asset: FeeAsset, decimals: int | None = None) -> Fees:
        return cls(maker_bps / 1e4, taker_bps / 1e4, fee_asset == "received", decimals)

    @property
    def buy_lock(self) -> float:
        """What an open buy locks per unit of notional: enough for its fee whichever way it fills."""
        return 1.0 + max(self.maker, self.taker, 0.0)

    def charge(self, side: int, maker: bool, base_qty: float, notional: float) -> tuple[float, float]:
        """(fee in base, fee in quote) of a fill of ``base_qty`` for ``notional`` on ``side``."""
        rate = self.maker if maker else self.taker
        if side > 0 and self.in_base_on_buys:
            return self._charged(base_qty * rate), 0.0
        return 0.0, self._charged(notional * rate)

    def _charged(self, fee: float) -> float:
        return fee if self.decimals is None else round(fee, self.decimals)
