"""Our orders in the replayed book: placement, cancels, the fill rules, fees and balances.

The rules (stated with the rest in ``sim/replay/__init__.py``):

- an arriving order is checked by ``sim.admission``, as in ``SimExchange``: in the same order, with the same
  reasons (``invalid_order``, ``duplicate_client_order_id``, ``insufficient_funds``,
  ``post_only_would_cross``); a marketable LIMIT, IOC or MARKET order takes the recorded depth
  best price first, each level at its own price and at most its quantity, as taker; IOC and MARKET
  remainders are cancelled (``ioc_remainder``, ``market_remainder``), a LIMIT remainder rests.
  MARKET is an IOC at ``market_protection_bps`` from the touch. Taking does not change the recorded
  book (the replay cannot know how the market would have answered), so a LIMIT remainder resting
  where the recorded book still shows the liquidity it took is filled by the next diff (book
  through): a crossing LIMIT order fills in full, as in hftbacktest (which fills a crossing GTC
  order's remainder at its limit);
- a resting order joins the back of its level (the queue model's ``arrive``) and fills, at its own
  price as maker: by a trade at its price, by what the trade takes beyond the quantity ahead
  (partially, by the queue model); by a trade beyond its price, fully (hftbacktest's rule); by the
  opposite best reaching its price after a diff, fully ("book through");
- while the book is unknown nothing fills and an arriving order is not checked against the book: a
  LIMIT or POST_ONLY order rests, an IOC or MARKET order is cancelled unfilled. When a snapshot
  brings the book back, every resting order goes to the back of its level again, then the book
  through rule applies;
- fees: ``notional * bps / 1e4`` per fill, notional = price_ticks * qty_lots * tick * lot, in the
  quote asset (``fee_asset="received"``: a buy pays in the base it receives), as ``SimExchange``;
  balances and the funds an open order locks are ``sim.accounts``'.

A fill the recorded trades include carries that trade's id; the others (book through, taking
liquidity) carry negative ids of their own. Our fills add nothing to the public trades, and each of
our orders meets a trade on its own: two of ours at one price each see the whole trade.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sim.accounts import Account, Fees, Funds, Order
from sim.admission import market_limit, reject_reason, rejected
from sim.book import Side
from sim.events import (
    CancelReason,
    CancelRejected,
    Event,
    Instrument,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderType,
    OwnFill,
    PlaceOrder,
)
from sim.replay.depth import SideBook
from sim.replay.queue import QueueModel, QueuePosition, arrive, filled

__all__ = ["OwnOrders", "Resting"]

Push = Callable[[int, Event], None]


class Resting:
    """One of our orders in the book: its key on its own side (``-price`` for a buy, ``price`` for a
    sell), the level quantity it last saw there, and its queue position (None while the book is
    unknown)."""

    __slots__ = ("key", "level", "order", "pos", "price")

    def __init__(self, order: Order, key: int, level: int, pos: QueuePosition | None) -> None:
        self.order = order
        self.price = order.price
        self.key = key
        self.level = level
        self.pos = pos


class OwnOrders:
    def __init__(
        self,
        instrument: Instrument,
        queue: QueueModel,
        accounts: Mapping[str, Mapping[str, float]],
        push: Push,
        *,
        fees: Fees,
        market_protection_bps: float,
    ) -> None:
        self.queue = queue
        self._push = push
        self._base, self._quote = instrument.base, instrument.quote
        self._lot = instrument.lot_size
        self._tick_lot = tick_lot = instrument.tick_size * instrument.lot_size
        self.funds = Funds(instrument.base, instrument.quote, instrument.lot_size, tick_lot, fees.buy_lock)
        self._fees = fees
        self._band = market_protection_bps / 1e4
        self.accounts: dict[str, Account] = {}
        for name, balances in accounts.items():
            if not name or name in self.accounts:
                raise ValueError(f"invalid or duplicate account {name!r}")
            acct = Account(name, len(self.accounts) + 1, balances)
            acct.balances.setdefault(self._base, 0.0)
            acct.balances.setdefault(self._quote, 0.0)
            self.accounts[name] = acct
        self.buys: list[Resting] = []
        self.sells: list[Resting] = []
        self._next_oid = 1
        self._own_trade_id = 0

    # ------------------------------------------------------------------------------ commands
    def place(
        self, acct: Account, cmd: PlaceOrder, t: int, ts: int, bids: SideBook, asks: SideBook, known: bool
    ) -> None:
        """``cmd`` reaches the venue at ``t``; its answers are delivered at ``ts``."""
        buy = cmd.side == Side.BUY
        opposite = asks if buy else bids
        best_key = opposite.best() if known else None
        best = None if best_key is None else (best_key if buy else -best_key)  # its price, in ticks
        price = (
            market_limit(cmd.side, best, self._band)
            if cmd.order_type is OrderType.MARKET
            else cmd.price_ticks
        )
        reason = reject_reason(acct, cmd, price, self.funds, best)
        cid = cmd.client_order_id
        if reason is not None:
            self._push(ts, OrderRejected(ts, t, acct.name, cid, reason))
            if reason != "duplicate_client_order_id":  # the open order with that id is untouched
                acct.finish(rejected(cmd))
            return
        self._push(
            ts, OrderAccepted(ts, t, acct.name, cid, cmd.side, cmd.price_ticks, cmd.qty_lots, cmd.order_type)
        )
        oid, self._next_oid = self._next_oid, self._next_oid + 1
        order = Order(acct, cid, oid, cmd, price or 0)
        acct.open[cid] = order
        if known and price is not None:
            self._take(order, opposite, price if buy else -price, t, ts)
        taker = cmd.order_type is OrderType.IOC or cmd.order_type is OrderType.MARKET
        if order.remaining and taker:
            why: CancelReason = "market_remainder" if cmd.order_type is OrderType.MARKET else "ioc_remainder"
            acct.close(order, "cancelled")
            self._push(ts, OrderCancelled(ts, t, acct.name, cid, order.remaining, why))
        elif order.remaining:
            own = bids if buy else asks
            key = -order.price if buy else order.price
            level = own.lots_at(key)
            (self.buys if buy else self.sells).append(
                Resting(order, key, level, arrive(level) if known else None)
            )

    def cancel(self, acct: Account, cid: str, t: int, ts: int) -> None:
        order = acct.open.get(cid)
        if order is None:
            self._push(ts, CancelRejected(ts, t, acct.name, cid, "unknown_order"))
            return
        resting = self.buys if order.side == Side.BUY else self.sells
        resting[:] = [r for r in resting if r.order is not order]
        acct.close(order, "cancelled")
        self._push(ts, OrderCancelled(ts, t, acct.name, cid, order.remaining, "user"))

    def _take(self, order: Order, opposite: SideBook, limit_key: int, t: int, ts: int) -> None:
        """Fill ``order`` as taker from the recorded levels with key <= ``limit_key``, best first."""
        sign = 1 if order.side == Side.BUY else -1  # key -> price on the opposite side
        for key, lots in opposite.walk():
            if key > limit_key or not order.remaining:
                break
            self._fill(order, sign * key, min(lots, order.remaining), False, self._own_id(), t, ts)

    # ------------------------------------------------------------------------------ the market
    def on_depth(self, bids: SideBook, asks: SideBook, t: int, ts: int) -> None:
        """After a diff: queue positions at our prices, then the book through rule."""
        queue = self.queue
        for resting, own, opposite in ((self.buys, bids, asks), (self.sells, asks, bids)):
            if not resting:
                continue
            levels = own.levels
            for r in resting:
                new = levels.get(r.key, 0)
                if new != r.level:
                    if r.pos is not None:
                        queue.on_depth(r.pos, r.level, new)
                    r.level = new
            self._through(resting, opposite, t, ts)

    def _through(self, resting: list[Resting], opposite: SideBook, t: int, ts: int) -> None:
        best = opposite.best()
        if best is None:
            return
        for r in [r for r in resting if best <= -r.key]:  # the opposite best reached our price
            self._fill(r.order, r.price, r.order.remaining, True, self._own_id(), t, ts)

    def on_trade(self, price: int, lots: int, aggressor: int, trade_id: int, t: int, ts: int) -> None:
        """A recorded trade: the orders it reaches on the side it hit."""
        if aggressor > 0:
            resting, sign = self.sells, 1  # a buy takes asks at and below its price
        else:
            resting, sign = self.buys, -1
        for r in [r for r in resting if (price - r.price) * sign >= 0]:
            order = r.order
            if r.price != price:  # traded through our price
                self._fill(order, r.price, order.remaining, True, trade_id, t, ts)
            elif r.pos is not None:
                self.queue.on_trade(r.pos, lots)
                lots_filled = filled(r.pos)
                if lots_filled:
                    self._fill(order, r.price, min(lots_filled, order.remaining), True, trade_id, t, ts)

    def on_known(self, bids: SideBook, asks: SideBook, t: int, ts: int) -> None:
        """A snapshot brought the book back: every order to the back of its level, then book through."""
        for resting, own, opposite in ((self.buys, bids, asks), (self.sells, asks, bids)):
            for r in resting:
                r.level = own.lots_at(r.key)
                r.pos = arrive(r.level)
            if resting:
                self._through(resting, opposite, t, ts)

    # ------------------------------------------------------------------------------ fills
    def _own_id(self) -> int:
        self._own_trade_id -= 1
        return self._own_trade_id

    def _fill(self, order: Order, price: int, lots: int, maker: bool, trade_id: int, t: int, ts: int) -> None:
        acct = order.account
        bal = acct.balances
        side = order.side
        notional = price * lots * self._tick_lot
        base_qty = lots * self._lot
        fee_base, fee = self._fees.charge(side, maker, base_qty, notional)
        bal[self._base] += side * base_qty - fee_base
        bal[self._quote] -= side * notional + fee
        order.remaining -= lots
        fill = OwnFill(
            ts, t, acct.name, order.cid, side, price, lots, "maker" if maker else "taker", fee,
            order.remaining, trade_id, fee_base,
        )  # fmt: skip
        acct.fills.append(fill)
        self._push(ts, fill)
        if order.remaining == 0:
            resting = self.buys if side > 0 else self.sells
            if any(r.order is order for r in resting):
                resting[:] = [r for r in resting if r.order is not order]
            acct.close(order, "filled")
