"""``SimExchange``: a sans-IO simulated venue for one instrument (book, latency, fees, balances, flow).

Clock: the caller passes integer-nanosecond times to ``submit``, ``advance`` and ``apply_background``;
they must never decrease (``TimeWentBackwards``). Nothing reads a clock, sleeps or logs. Work at the
matching engine happens in engine time, in order of (time, kind); at one instant: the synthetic market
(mid step, then flow event), our commands (in submission order), the snapshot. Calls return the events
whose delivery time is <= the time passed, ordered by (delivery time, creation order).

Latency (constant): our command reaches the engine ``order_latency_ns`` after ``submit``; the
private events it causes (accept, reject, fills, cancels) and the fills of our resting orders are
delivered ``order_latency_ns`` after they happen, so an ack is seen 2 x order latency after submit.
Public events (``PublicTrade``, ``BookSnapshot``) are delivered ``md_latency_ns`` after they happen.
Queries (``best_bid_ask``, ``open_orders``, ``account`` ...) show the engine's state now, without
latency: they are for reconciliation, tests and dashboards.

Fill rules (``sim.book``): price-time priority; a resting order fills when an incoming order reaches
its price and everything ahead of it in the queue (and at better prices) has traded; it trades at its
own price. MARKET orders are IOC limits at the protection band ``market_protection_bps`` from the
touch at arrival (like most venues' price protection); an empty opposite side fills nothing. IOC and
market remainders are cancelled (``ioc_remainder`` / ``market_remainder``). POST_ONLY is rejected
whole (``post_only_would_cross``) if it would trade on arrival. Self-trades are NOT prevented: an
account's taker order may fill its own resting order; both sides are reported and charged.

Funds (per account and asset, floats in asset units; kept by ``sim.accounts``):
``available = total - locked``; an open buy locks price*qty*(1 + max(maker, taker, 0) bps) of quote,
an open sell locks its base quantity. A new order must fit in what is available or it is rejected
``insufficient_funds`` (a market buy is checked at its protection price). Fees are charged in the
quote asset on every fill: notional * bps / 1e4, notional = price_ticks*qty_lots*tick_size*lot_size;
a negative maker fee is a rebate. Balances are floats: sums carry float rounding (~1e-12 relative),
reconcile with a tolerance.

Background liquidity belongs to the ``BACKGROUND`` account: it pays no fees, is not funds-checked (its
balances go negative), and gets no events. With ``market=None`` there is no synthetic market; an
external driver (a replay) feeds background orders through ``apply_background``, applied at once.

Queue position is exact: the book holds every order (L3). A replay driving the book from L2 data
decides itself where at a level its background orders go; there is no probabilistic queue model here.

Not modelled: exchange outages, rate limits, order amendments, random or queueing latency, latency on
queries, self-trade prevention, hidden/iceberg orders, partial post-only acceptance, fees in other
assets than quote, funding/margin, more than one instrument per exchange.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Mapping
from typing import Final, Literal

from sim.accounts import Account, Fees, Funds, Order
from sim.admission import market_limit, reject_reason, rejected
from sim.book import Fill, OrderBook, Side, TimeInForce
from sim.events import (
    BACKGROUND,
    AssetBalance,
    BookSnapshot,
    CancelAll,
    CancelOrder,
    CancelReason,
    CancelRejected,
    Command,
    Event,
    ExchangeConfig,
    Instrument,
    OpenOrder,
    OrderAccepted,
    OrderCancelled,
    OrderRecord,
    OrderRejected,
    OrderType,
    OwnFill,
    PlaceOrder,
    PublicTrade,
)
from sim.flow import NEVER_NS, BookCommand, BookLimit, BookMarket, MarketParams, SyntheticMarket

__all__ = ["BACKGROUND", "ExchangeConfig", "Instrument", "MarketParams", "SimExchange", "TimeWentBackwards"]

_TIF: Final = {
    OrderType.LIMIT: TimeInForce.GTC,
    OrderType.POST_ONLY: TimeInForce.POST_ONLY,
    OrderType.IOC: TimeInForce.IOC,
    OrderType.MARKET: TimeInForce.IOC,
}


class TimeWentBackwards(ValueError):
    """A call passed a time earlier than a previous call's."""


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


class SimExchange:
    """The simulated venue; see the module docstring for its rules and what it does not model."""

    def __init__(
        self,
        config: ExchangeConfig,
        market: MarketParams | None,
        *,
        seed: int,
        accounts: Mapping[str, Mapping[str, float]] | None = None,
        start_ns: int = 0,
    ) -> None:
        _require(seed >= 0, f"seed must be a non-negative integer, got {seed!r}")
        self.config = config
        inst = config.instrument
        self._base, self._quote, self._tick = inst.base, inst.quote, inst.tick_size
        self._tick_lot = inst.tick_size * inst.lot_size
        self._lot = inst.lot_size
        self._ol, self._ml = config.order_latency_ns, config.md_latency_ns
        fees = Fees.of(config.maker_fee_bps, config.taker_fee_bps, config.fee_asset, config.fee_decimals)
        self._funds = Funds(inst.base, inst.quote, inst.lot_size, self._tick_lot, fees.buy_lock)
        self._fees = fees
        self.book = OrderBook()
        self._accounts: dict[str, Account] = {BACKGROUND: Account(BACKGROUND, 0, {})}
        for name, balances in (accounts or {}).items():
            _require(name not in self._accounts and bool(name), f"invalid or duplicate account {name!r}")
            self._accounts[name] = Account(name, len(self._accounts), balances)
        for acct in self._accounts.values():
            acct.balances.setdefault(self._base, 0.0)
            acct.balances.setdefault(self._quote, 0.0)
        self._by_owner = list(self._accounts.values())
        self._orders: dict[int, Order] = {}  # our (non-background) orders by book id
        self._bg_oid: dict[str, int] = {}  # externally applied background orders resting in the book
        self._bg_cid: dict[int, str] = {}
        self._next_oid = 1
        self._trade_id = 0
        self._now_ns = start_ns
        self._inbound: deque[tuple[int, Account, Command]] = deque()
        self._outbox: list[tuple[int, int, Event]] = []
        self._seq = 0
        self._snap_seq = 0
        self._next_snap_ns = start_ns if config.snapshot_interval_ns is not None else NEVER_NS
        self.market = SyntheticMarket(market, inst.tick_size, seed, start_ns) if market else None
        if self.market is not None:
            for cmd in self.market.start():
                self._apply_book(cmd, start_ns)

    # ------------------------------------------------------------------------------------ public API
    def submit(self, command: Command, now_ns: int) -> list[Event]:
        """Send one of our commands at ``now_ns``; return the events delivered by ``now_ns``."""
        if not isinstance(command, PlaceOrder | CancelOrder | CancelAll):
            raise TypeError(f"not an exchange command: {command!r}")
        acct = self._accounts.get(command.account)
        if acct is None or acct.owner == 0:
            raise ValueError(f"unknown account {command.account!r} (background orders: apply_background)")
        self._advance_engine(now_ns)
        self._inbound.append((now_ns + self._ol, acct, command))
        return self._deliver(now_ns)

    def advance(self, now_ns: int) -> list[Event]:
        """Run the engine and the synthetic market up to ``now_ns``; return the events delivered by then."""
        self._advance_engine(now_ns)
        return self._deliver(now_ns)

    def next_events(self, limit_ns: int) -> list[Event]:
        """Advance to the next time at or before ``limit_ns`` at which something is delivered and
        return what is; with nothing by then, advance to ``limit_ns`` and return [] (as
        ``sim.replay.ReplayVenue.next_events``, so one driver runs either)."""
        while (t := self.next_event_time_ns()) is not None and t <= limit_ns:
            if events := self.advance(t):
                return events
        return self.advance(max(limit_ns, self._now_ns))

    def apply_background(self, command: Command, now_ns: int) -> list[Event]:
        """Place or cancel BACKGROUND liquidity at the engine now (no latency, no events for it); for
        drivers such as a replay. Cancelling an order that is no longer resting does nothing; an order
        the book refuses raises ``sim.book.BookError`` (e.g. ``PostOnlyWouldCross``)."""
        _require(command.account == BACKGROUND, f"background commands need account {BACKGROUND!r}")
        self._advance_engine(now_ns)
        book = self.book
        if isinstance(command, PlaceOrder):
            cid = command.client_order_id
            _require(cid not in self._bg_oid, f"background order {cid!r} is already resting")
            oid = self._new_oid()
            if command.order_type is OrderType.MARKET:
                fills = book.market(oid, command.side, command.qty_lots, 0)
            else:
                tif = _TIF[command.order_type]
                fills = book.limit(oid, command.side, command.price_ticks, command.qty_lots, 0, tif)
            if book.order(oid) is not None:
                self._bg_oid[cid], self._bg_cid[oid] = oid, cid
            if fills:
                self._on_fills(fills, now_ns)
        else:
            cids = [command.client_order_id] if isinstance(command, CancelOrder) else list(self._bg_oid)
            for cid in cids:
                oid = self._bg_oid.pop(cid, 0)
                if oid:
                    del self._bg_cid[oid]
                    book.cancel(oid)
        return self._deliver(now_ns)

    def reduce_background(self, client_order_id: str, qty_lots: int, now_ns: int) -> list[Event]:
        """Take ``qty_lots`` off a resting BACKGROUND order, which keeps its place in the queue (a
        replay's partial cancel); all of it cancels the order. An order no longer resting: nothing."""
        self._advance_engine(now_ns)
        oid = self._bg_oid.get(client_order_id, 0)
        if oid and self.book.order(oid) is not None:
            self.book.reduce(oid, qty_lots)
        if oid and self.book.order(oid) is None:
            del self._bg_oid[client_order_id], self._bg_cid[oid]
        return self._deliver(now_ns)

    def background_orders(self, side: Side) -> list[tuple[str, int, int]]:
        """The resting BACKGROUND orders of ``side`` placed by ``apply_background``, oldest first, as
        (client order id, price_ticks, qty_lots)."""
        return [
            (self._bg_cid[o.oid], o.price, o.qty)
            for o in self.book.open_orders(0)
            if o.side == side and o.oid in self._bg_cid
        ]

    def next_event_time_ns(self) -> int | None:
        """A lower bound on the next delivery time (None: nothing will ever happen). Advancing to it
        may return no events (only internal work was due); never skips one."""
        fastest = min(self._ol, self._ml)
        times = [
            self._outbox[0][0] if self._outbox else NEVER_NS,
            self._inbound[0][0] + fastest if self._inbound else NEVER_NS,
            self._next_snap_ns + self._ml if self._next_snap_ns < NEVER_NS else NEVER_NS,
        ]
        if self.market is not None and self.market.flow.next_ns < NEVER_NS:
            times.append(self.market.flow.next_ns + fastest)  # mid steps alone deliver nothing
        t = max(min(times), self._now_ns)
        return None if t >= NEVER_NS else t

    @property
    def now_ns(self) -> int:
        return self._now_ns

    def best_bid_ask(self) -> tuple[int | None, int | None]:
        return self.book.best_bid(), self.book.best_ask()

    def depth(self, levels: int) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
        """(bids, asks), each the top ``levels`` as (price_ticks, qty_lots), best first."""
        return tuple(self.book.depth(Side.BUY, levels)), tuple(self.book.depth(Side.SELL, levels))

    def mid(self) -> float | None:
        """The synthetic fundamental mid in price units; without a market, the book's mid (or None)."""
        if self.market is not None:
            return self.market.mid
        bid, ask = self.best_bid_ask()
        return None if bid is None or ask is None else (bid + ask) / 2 * self._tick

    def mid_ticks(self) -> float | None:
        mid = self.mid()
        return None if mid is None else mid / self._tick

    def open_orders(self, account: str) -> list[OpenOrder]:
        """The account's open orders in placement order."""
        return self._account(account).open_orders()

    def order_status(self, account: str, client_order_id: str) -> OrderRecord | None:
        """The account's order with this id as the engine knows it now: open, or how it ended (the
        last ``sim.accounts.HISTORY`` finished orders); None if the engine never saw it (or forgot it)."""
        return self._account(account).order_status(client_order_id)

    def fills(self, account: str, since_ns: int = 0) -> list[OwnFill]:
        """The account's fills that happened at the engine at or after ``since_ns`` (exchange time),
        oldest first; the last ``sim.accounts.HISTORY`` are kept."""
        return [f for f in self._account(account).fills if f.exchange_ts_ns >= since_ns]

    def queue_ahead(self, account: str, client_order_id: str) -> int:
        """Live lots resting ahead of our open order at its price (time priority). KeyError if not open."""
        order = self._account(account).open.get(client_order_id)
        if order is None:
            raise KeyError(f"{account!r} has no open order {client_order_id!r}")
        return self.book.queue_ahead(order.oid)

    def account(self, account: str) -> dict[str, AssetBalance]:
        """Balances by asset: total and what open orders lock."""
        return self._funds.balances(self._account(account))

    def accounts(self) -> list[str]:
        return list(self._accounts)

    # ------------------------------------------------------------------------------------- the engine
    def _account(self, name: str) -> Account:
        acct = self._accounts.get(name)
        if acct is None:
            raise KeyError(f"unknown account {name!r}")
        return acct

    def _new_oid(self) -> int:
        oid = self._next_oid
        self._next_oid = oid + 1
        return oid

    def _push(self, ts_ns: int, event: Event) -> None:
        self._seq += 1
        heapq.heappush(self._outbox, (ts_ns, self._seq, event))

    def _deliver(self, now_ns: int) -> list[Event]:
        out = self._outbox
        events: list[Event] = []
        while out and out[0][0] <= now_ns:
            events.append(heapq.heappop(out)[2])
        return events

    def _advance_engine(self, until_ns: int) -> None:
        if until_ns < self._now_ns:
            raise TimeWentBackwards(f"time went backwards: {until_ns} < {self._now_ns}")
        self._now_ns = until_ns
        inbound, market, book = self._inbound, self.market, self.book
        while True:
            t_market = market.next_ns if market is not None else NEVER_NS
            t_cmd = inbound[0][0] if inbound else NEVER_NS
            t_snap = self._next_snap_ns
            t = min(t_market, t_cmd, t_snap)
            if t > until_ns:
                return
            if t == t_market:
                assert market is not None
                for book_cmd in market.pop(book):
                    self._apply_book(book_cmd, t)
            elif t == t_cmd:
                _, acct, cmd = inbound.popleft()
                self._execute(acct, cmd, t)
            else:
                self._snapshot(t)

    def _snapshot(self, t: int) -> None:
        self._snap_seq += 1
        n, book = self.config.snapshot_levels, self.book
        bids, asks = tuple(book.depth(Side.BUY, n)), tuple(book.depth(Side.SELL, n))
        self._push(t + self._ml, BookSnapshot(t + self._ml, t, self._snap_seq, bids, asks))
        assert self.config.snapshot_interval_ns is not None
        self._next_snap_ns = t + self.config.snapshot_interval_ns

    def _apply_book(self, cmd: BookCommand, t: int) -> None:
        if isinstance(cmd, BookLimit):
            fills = self.book.limit(cmd.oid, cmd.side, cmd.price_ticks, cmd.qty_lots, 0, cmd.tif)
        elif isinstance(cmd, BookMarket):
            fills = self.book.market(cmd.oid, cmd.side, cmd.qty_lots, 0)
        else:
            self.book.cancel(cmd.oid)
            return
        if fills:
            self._on_fills(fills, t)

    def _execute(self, acct: Account, cmd: Command, t: int) -> None:
        if isinstance(cmd, PlaceOrder):
            self._place(acct, cmd, t)
        elif isinstance(cmd, CancelOrder):
            self._cancel(acct, cmd.client_order_id, t)
        else:
            for cid in list(acct.open):
                self._cancel(acct, cid, t)

    def _cancel(self, acct: Account, cid: str, t: int) -> None:
        order = acct.open.get(cid)
        ts = t + self._ol
        if order is None:
            self._push(ts, CancelRejected(ts, t, acct.name, cid, "unknown_order"))
            return
        qty = self.book.cancel(order.oid)
        self._close(order, "cancelled")
        self._push(ts, OrderCancelled(ts, t, acct.name, cid, qty, "user"))

    def _close(self, order: Order, state: Literal["filled", "cancelled"]) -> None:
        del self._orders[order.oid]
        order.account.close(order, state)

    def _place(self, acct: Account, cmd: PlaceOrder, t: int) -> None:
        ts, cid, book = t + self._ol, cmd.client_order_id, self.book
        best = book.best_ask() if cmd.side > 0 else book.best_bid()
        band = self.config.market_protection_bps / 1e4
        price = market_limit(cmd.side, best, band) if cmd.order_type is OrderType.MARKET else cmd.price_ticks
        reason = reject_reason(acct, cmd, price, self._funds, best)
        if reason is not None:
            self._push(ts, OrderRejected(ts, t, acct.name, cid, reason))
            if reason != "duplicate_client_order_id":  # the open order with that id is untouched
                acct.finish(rejected(cmd))
            return
        self._push(
            ts, OrderAccepted(ts, t, acct.name, cid, cmd.side, cmd.price_ticks, cmd.qty_lots, cmd.order_type)
        )
        order = Order(acct, cid, self._new_oid(), cmd, price or 0)
        acct.open[cid] = order
        self._orders[order.oid] = order
        if price is not None:
            fills = book.limit(order.oid, cmd.side, price, cmd.qty_lots, acct.owner, _TIF[cmd.order_type])
            if fills:
                self._on_fills(fills, t)
        if order.remaining and _TIF[cmd.order_type] == TimeInForce.IOC:
            why: CancelReason = "market_remainder" if cmd.order_type is OrderType.MARKET else "ioc_remainder"
            self._close(order, "cancelled")
            self._push(ts, OrderCancelled(ts, t, acct.name, cid, order.remaining, why))

    def _on_fills(self, fills: list[Fill], t: int) -> None:
        ts_md = t + self._ml
        for f in fills:
            self._trade_id += 1
            aggressor = Side(f.aggressor)
            self._push(ts_md, PublicTrade(ts_md, t, self._trade_id, f.price, f.qty, aggressor))
            if f.maker_owner or f.taker_owner:
                notional = f.price * f.qty * self._tick_lot
                self._settle(f.maker_owner, f.maker_oid, -aggressor, f, notional, True, t)
                self._settle(f.taker_owner, f.taker_oid, aggressor, f, notional, False, t)
            elif f.maker_remaining == 0 and f.maker_oid > 0:
                self._bg_oid.pop(self._bg_cid.pop(f.maker_oid, ""), None)

    def _settle(self, owner: int, oid: int, side: int, f: Fill, notional: float, maker: bool, t: int) -> None:
        acct = self._by_owner[owner]
        bal = acct.balances
        base_qty = f.qty * self._lot
        if owner == 0:  # background: no fees, no events
            bal[self._base] += side * base_qty
            bal[self._quote] -= side * notional
            if maker and f.maker_remaining == 0 and oid > 0:
                self._bg_oid.pop(self._bg_cid.pop(oid, ""), None)
            return
        fee_base, fee = self._fees.charge(side, maker, base_qty, notional)
        bal[self._base] += side * base_qty - fee_base
        bal[self._quote] -= side * notional + fee
        order = self._orders[oid]
        order.remaining -= f.qty
        ts = t + self._ol
        liquidity: Literal["maker", "taker"] = "maker" if maker else "taker"
        fill = OwnFill(
            ts,
            t,
            acct.name,
            order.cid,
            order.side,
            f.price,
            f.qty,
            liquidity,
            fee,
            order.remaining,
            self._trade_id,
            fee_base,
        )
        acct.fills.append(fill)
        self._push(ts, fill)
        if order.remaining == 0:
            self._close(order, "filled")
