"""A price-time priority limit order book for one instrument, in integer ticks and lots.

Fill rules
----------
- An incoming order matches against the opposite side while its limit price reaches the best
  opposite price (a market order has no limit). It trades at the *resting* order's price.
- Within a price level, resting orders fill strictly first-in first-out (time priority); a partial
  fill keeps the order at the head of its queue. Levels fill best price first (price priority).
- GTC: whatever does not trade rests at its limit price, at the back of that level's queue.
  IOC: whatever does not trade immediately is cancelled. POST_ONLY: rejected whole
  (``PostOnlyWouldCross``) if any part would trade on arrival; otherwise rests like GTC.
  MARKET: trades what the opposite side offers; the unfilled rest is cancelled.
- Self-trade is allowed (both orders are ours or both are someone else's): the book does not
  know accounts beyond the ``owner`` tag. The exchange layer decides what to do about it.
- Cancel removes the remaining quantity; a filled or unknown order cannot be cancelled.

Invariants (checked by ``check_invariants`` and by the Hypothesis tests)
- The resting book is never crossed: best bid < best ask whenever both exist.
- Every fill takes the same quantity from the maker and from the taker.
- Resting quantity == added - filled (counted once per fill, on the maker) - cancelled.

Not modelled here: latency, fees, balances, hidden/iceberg orders, amendments (cancel + new),
lot/tick validation beyond positive integers. ``sim/exchange.py`` adds latency, fees and balances.

Implementation notes: each side keeps a sorted list of price keys (bids ascending, asks by negated
price ascending) so the best level is always the last element and removing it is ``list.pop()``.
Cancelled orders are removed lazily: their quantity is zeroed and the level's live quantity is
reduced at once (so depth queries stay exact), and the dead entry is dropped when the queue head
reaches it or the level empties. The hot paths are written flat on purpose: one function call per
order, no per-fill helper calls.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from enum import IntEnum
from typing import Final


class Side(IntEnum):
    BUY = 1
    SELL = -1


class TimeInForce(IntEnum):
    GTC = 0
    IOC = 1
    POST_ONLY = 2


class BookError(ValueError):
    """An order the book cannot accept (bad quantity or price, duplicate id)."""


class PostOnlyWouldCross(BookError):
    """A post-only order would have traded on arrival; nothing was placed."""


class DuplicateOrderId(BookError):
    pass


class UnknownOrderId(BookError):
    pass


class Order:
    """A resting order. ``qty`` is what remains; zero means filled or cancelled."""

    __slots__ = ("oid", "owner", "price", "qty", "side")

    def __init__(self, oid: int, side: int, price: int, qty: int, owner: int) -> None:
        self.oid = oid
        self.side = side
        self.price = price
        self.qty = qty
        self.owner = owner

    def __repr__(self) -> str:
        return (
            f"Order(oid={self.oid}, side={self.side}, price={self.price}, qty={self.qty}, owner={self.owner})"
        )


class Fill:
    """One match. ``price`` is the maker's price; ``maker_remaining`` is what is left of the maker."""

    __slots__ = (
        "aggressor",
        "maker_oid",
        "maker_owner",
        "maker_remaining",
        "price",
        "qty",
        "taker_oid",
        "taker_owner",
    )

    def __init__(
        self,
        maker_oid: int,
        taker_oid: int,
        price: int,
        qty: int,
        aggressor: int,
        maker_owner: int,
        taker_owner: int,
        maker_remaining: int,
    ) -> None:
        self.maker_oid = maker_oid
        self.taker_oid = taker_oid
        self.price = price
        self.qty = qty
        self.aggressor = aggressor
        self.maker_owner = maker_owner
        self.taker_owner = taker_owner
        self.maker_remaining = maker_remaining

    def as_tuple(self) -> tuple[int, int, int, int, int, int, int, int]:
        return (
            self.maker_oid,
            self.taker_oid,
            self.price,
            self.qty,
            self.aggressor,
            self.maker_owner,
            self.taker_owner,
            self.maker_remaining,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Fill) and self.as_tuple() == other.as_tuple()

    def __hash__(self) -> int:
        return hash(self.as_tuple())

    def __repr__(self) -> str:
        return (
            f"Fill(maker={self.maker_oid}, taker={self.taker_oid}, price={self.price}, qty={self.qty}, "
            f"aggressor={self.aggressor}, maker_remaining={self.maker_remaining})"
        )


class Level:
    """One price level: live quantity and a FIFO queue (which may hold cancelled, zero-qty orders)."""

    __slots__ = ("price", "qty", "queue")

    def __init__(self, price: int) -> None:
        self.price = price
        self.qty = 0
        self.queue: deque[Order] = deque()


_NO_FILLS: Final[list[Fill]] = []  # never mutated; returned when nothing traded to save an allocation


class OrderBook:
    """The book. All prices are integer ticks, all quantities integer lots (both > 0)."""

    def __init__(self) -> None:
        self._orders: dict[int, Order] = {}
        self._bids: dict[int, Level] = {}
        self._asks: dict[int, Level] = {}
        self._bid_keys: list[int] = []  # ascending prices; best bid is [-1]
        self._ask_keys: list[int] = []  # ascending negated prices; best ask is -[-1]
        self.added_qty = 0
        self.filled_qty = 0
        self.cancelled_qty = 0

    # ----------------------------------------------------------------- orders
    def limit(
        self, oid: int, side: int, price: int, qty: int, owner: int = 0, tif: int = TimeInForce.GTC
    ) -> list[Fill]:
        """Submit a limit order; return its fills (possibly none). The rest rests (GTC, POST_ONLY)
        or is dropped (IOC). Raises ``PostOnlyWouldCross`` without side effects for a post-only
        order that would trade. The returned list must not be mutated when empty."""
        if qty <= 0 or price <= 0:
            raise BookError(f"order {oid}: qty and price must be positive (qty={qty}, price={price})")
        orders = self._orders
        if oid in orders:
            raise DuplicateOrderId(f"order id {oid} is already resting")
        fills = _NO_FILLS
        if side > 0:
            keys = self._ask_keys
            if keys and -keys[-1] <= price:
                if tif == TimeInForce.POST_ONLY:
                    raise PostOnlyWouldCross(f"post-only buy {oid} at {price} would take ask {-keys[-1]}")
                fills, qty = self._take(oid, 1, price, qty, owner, keys, self._asks)
            if qty and tif != TimeInForce.IOC:
                self.added_qty += qty
                order = Order(oid, 1, price, qty, owner)
                orders[oid] = order
                level = self._bids.get(price)
                if level is None:
                    level = Level(price)
                    self._bids[price] = level
                    bkeys = self._bid_keys
                    if not bkeys or price > bkeys[-1]:
                        bkeys.append(price)
                    else:
                        insort(bkeys, price)
                level.qty += qty
                level.queue.append(order)
        else:
            keys = self._bid_keys
            if keys and keys[-1] >= price:
                if tif == TimeInForce.POST_ONLY:
                    raise PostOnlyWouldCross(f"post-only sell {oid} at {price} would take bid {keys[-1]}")
                fills, qty = self._take(oid, -1, -price, qty, owner, keys, self._bids)
            if qty and tif != TimeInForce.IOC:
                self.added_qty += qty
                order = Order(oid, -1, price, qty, owner)
                orders[oid] = order
                level = self._asks.get(price)
                if level is None:
                    level = Level(price)
                    self._asks[price] = level
                    akeys = self._ask_keys
                    if not akeys or -price > akeys[-1]:
                        akeys.append(-price)
                    else:
                        insort(akeys, -price)
                level.qty += qty
                level.queue.append(order)
        return fills

    def market(self, oid: int, side: int, qty: int, owner: int = 0) -> list[Fill]:
        """Submit a market order: trade against the opposite side; the unfilled rest is cancelled."""
        if qty <= 0:
            raise BookError(f"order {oid}: qty must be positive (qty={qty})")
        if oid in self._orders:
            raise DuplicateOrderId(f"order id {oid} is already resting")
        if side > 0:
            if not self._ask_keys:
                return _NO_FILLS
            return self._take(oid, 1, 1 << 62, qty, owner, self._ask_keys, self._asks)[0]
        if not self._bid_keys:
            return _NO_FILLS
        return self._take(oid, -1, 1 << 62, qty, owner, self._bid_keys, self._bids)[0]

    def _take(
        self,
        oid: int,
        side: int,
        key_limit: int,
        qty: int,
        owner: int,
        keys: list[int],
        levels: dict[int, Level],
    ) -> tuple[list[Fill], int]:
        """Match ``qty`` of a taker on ``side`` against the opposite side (``keys``/``levels``);
        return the fills and the unfilled quantity. ``key_limit`` is the limit price for a buy
        and the negated limit price for a sell, so one test ``-key <= key_limit`` serves both."""
        fills: list[Fill] = []
        orders = self._orders
        filled = 0
        # Buy taker: keys are -ask, and ask <= limit reads -key <= limit.
        # Sell taker: keys are bids, and bid >= limit reads -key <= -limit.
        while qty and keys and -keys[-1] <= key_limit:
            key = keys[-1]
            price = key if side < 0 else -key
            level = levels[price]
            queue = level.queue
            while qty and queue:
                maker = queue[0]
                mqty = maker.qty
                if mqty == 0:  # cancelled earlier, removed lazily
                    queue.popleft()
                    continue
                if qty >= mqty:
                    trade = mqty
                    maker.qty = 0
                    queue.popleft()
                    del orders[maker.oid]
                else:
                    trade = qty
                    maker.qty = mqty - qty
                qty -= trade
                level.qty -= trade
                filled += trade
                fills.append(Fill(maker.oid, oid, price, trade, side, maker.owner, owner, maker.qty))
            if level.qty == 0:
                keys.pop()
                del levels[price]
        self.filled_qty += filled
        return fills, qty

    def cancel(self, oid: int) -> int:
        """Cancel a resting order; return the quantity removed. Raises ``UnknownOrderId``."""
        order = self._orders.pop(oid, None)
        if order is None:
            raise UnknownOrderId(f"order {oid} is not resting (filled, cancelled or never placed)")
        qty = order.qty
        order.qty = 0
        self.cancelled_qty += qty
        price = order.price
        if order.side > 0:
            level = self._bids[price]
            level.qty -= qty
            if level.qty == 0:
                del self._bids[price]
                _remove_key(self._bid_keys, price)
        else:
            level = self._asks[price]
            level.qty -= qty
            if level.qty == 0:
                del self._asks[price]
                _remove_key(self._ask_keys, -price)
        return qty

    def reduce(self, oid: int, qty: int) -> int:
        """Take ``qty`` off a resting order, which keeps its place in the queue (a partial cancel); all
        of it cancels the order. Returns the quantity removed. Raises ``UnknownOrderId``."""
        order = self._orders.get(oid)
        if order is None:
            raise UnknownOrderId(f"order {oid} is not resting (filled, cancelled or never placed)")
        if qty >= order.qty:
            return self.cancel(oid)
        if qty <= 0:
            return 0
        order.qty -= qty
        (self._bids if order.side > 0 else self._asks)[order.price].qty -= qty
        self.cancelled_qty += qty
        return qty

    def cancel_all(self, owner: int) -> list[int]:
        """Cancel every resting order of ``owner``; return their ids in time order."""
        oids = [o.oid for o in self._orders.values() if o.owner == owner]
        for oid in oids:
            self.cancel(oid)
        return oids

    # ---------------------------------------------------------------- queries
    def best_bid(self) -> int | None:
        return self._bid_keys[-1] if self._bid_keys else None

    def best_ask(self) -> int | None:
        return -self._ask_keys[-1] if self._ask_keys else None

    def depth(self, side: int, levels: int) -> list[tuple[int, int]]:
        """Top ``levels`` price levels of one side as ``(price, qty)``, best first."""
        if side > 0:
            return [(p, self._bids[p].qty) for p in self._bid_keys[: -levels - 1 : -1]]
        return [(-k, self._asks[-k].qty) for k in self._ask_keys[: -levels - 1 : -1]]

    def order(self, oid: int) -> Order | None:
        """The resting order with this id, or None when it is not resting."""
        return self._orders.get(oid)

    def level_orders(self, side: int, price: int) -> list[Order]:
        """Live orders resting at one price level of one side, in time priority (empty if none)."""
        level = (self._bids if side > 0 else self._asks).get(price)
        return [] if level is None else [o for o in level.queue if o.qty > 0]

    def queue_ahead(self, oid: int) -> int:
        """Live quantity resting ahead of order ``oid`` at its price level (time priority)."""
        order = self._orders.get(oid)
        if order is None:
            raise UnknownOrderId(f"order {oid} is not resting")
        level = (self._bids if order.side > 0 else self._asks)[order.price]
        ahead = 0
        for other in level.queue:
            if other is order:
                return ahead
            ahead += other.qty
        raise AssertionError(f"order {oid} missing from its level queue")  # pragma: no cover

    def open_orders(self, owner: int | None = None) -> list[Order]:
        """Resting orders in time order, optionally only one owner's."""
        if owner is None:
            return list(self._orders.values())
        return [o for o in self._orders.values() if o.owner == owner]

    def resting_qty(self) -> int:
        return sum(level.qty for level in self._bids.values()) + sum(
            level.qty for level in self._asks.values()
        )

    def __len__(self) -> int:
        return len(self._orders)

    def check_invariants(self) -> None:
        """Raise AssertionError if the book's structure is inconsistent (for tests and debugging)."""
        bb, ba = self.best_bid(), self.best_ask()
        assert bb is None or ba is None or bb < ba, f"crossed book: bid {bb} >= ask {ba}"
        assert self._bid_keys == sorted(self._bids), "bid keys out of sync"
        assert self._ask_keys == sorted(-p for p in self._asks), "ask keys out of sync"
        for levels, side in ((self._bids, 1), (self._asks, -1)):
            for price, level in levels.items():
                live = [o for o in level.queue if o.qty > 0]
                assert live, f"empty level {price} kept"
                assert level.qty == sum(o.qty for o in live), f"level {price} qty out of sync"
                for o in live:
                    assert o.side == side and o.price == price and self._orders.get(o.oid) is o
        assert len(self._orders) == sum(
            1 for lv in (*self._bids.values(), *self._asks.values()) for o in lv.queue if o.qty > 0
        ), "order index out of sync"
        assert self.resting_qty() == self.added_qty - self.filled_qty - self.cancelled_qty, (
            "qty not conserved"
        )


def _remove_key(keys: list[int], key: int) -> None:
    """Remove ``key`` from the sorted list ``keys``; levels near the touch are found fastest."""
    if keys[-1] == key:
        keys.pop()
        return
    keys.pop(bisect_left(keys, key))
