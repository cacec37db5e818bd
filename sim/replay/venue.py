"""``ReplayVenue``: a recorded L2 book as a venue, in virtual time, with our orders resting in it.

It answers like ``SimExchange`` (``submit``, ``advance``, ``next_event_time_ns``, ``now_ns`` and the
queries ``order_status``, ``open_orders``, ``fills``, ``account``) and emits ``sim.events`` events
(``OrderAccepted``, ``OrderRejected``, ``OrderCancelled``, ``CancelRejected``, ``OwnFill``,
``PublicTrade``, ``BookSnapshot`` with a sequence number increasing by one), plus ``BookUnknown`` /
``BookKnown`` (``sim/replay/events.py``) around a gap. Times never decrease between calls
(``TimeWentBackwards``).

Two clocks on one timeline (``sim/replay/tape.py`` makes them from the recording): the venue applies
message ``i`` at ``venue_ns[i]`` and the caller receives what it showed at ``local_ns[i]``, so a
``BookSnapshot`` is the book right after its message even when later messages were applied before
it is delivered. Public events are delivered by receive time (a trade received late comes after a
book the venue made later). At one instant the recorded message goes before our commands. A command submitted
at ``t`` reaches the venue after the entry latency; what the venue does about it (and every fill of
a resting order) is delivered after the response latency. Each latency is a constant (ns) or
``"recorded"``: the recorded latency of the latest diff or trade the venue has applied.

The book: ``SideBook`` per side (``sim/replay/depth.py``); a ``BookSnapshot`` carries its best
``book_levels`` levels per side. It is unknown before the first snapshot and from a gap marker to
the next snapshot: then no book, no fills (``sim/replay/orders.py`` has the fill rules).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import count
from typing import Final, Literal

from sim.accounts import Account, Fees
from sim.book import Side
from sim.data.events import BOOK_GAP_EVENT, DEPTH_CLEAR_EVENT, DEPTH_EVENT, DEPTH_SNAPSHOT_EVENT
from sim.events import (
    AssetBalance,
    BookSnapshot,
    CancelAll,
    CancelOrder,
    Command,
    FeeAsset,
    Instrument,
    OpenOrder,
    OrderRecord,
    OwnFill,
    PlaceOrder,
    PublicTrade,
)
from sim.events import Event as SimEvent
from sim.exchange import TimeWentBackwards
from sim.replay.depth import SideBook
from sim.replay.events import BookKnown, BookUnknown
from sim.replay.orders import OwnOrders
from sim.replay.queue import QueueModel
from sim.replay.tape import DEPTH, GAP, SNAPSHOT, TRADE, Chunk, Tape

__all__ = ["Event", "ReplayConfig", "ReplayVenue"]

Event = SimEvent | BookUnknown | BookKnown
Latency = int | Literal["recorded"]
_NEVER: Final = 1 << 62
_SIDE: Final = {1: Side.BUY, -1: Side.SELL}


@dataclass(frozen=True, slots=True)
class ReplayConfig:
    """Venue parameters; fees in basis points of notional (negative maker fee: a rebate)."""

    instrument: Instrument
    maker_fee_bps: float = 2.0
    taker_fee_bps: float = 5.0
    fee_asset: FeeAsset = "quote"
    market_protection_bps: float = 500.0
    book_levels: int = 20
    entry_latency: Latency = 5_000_000
    response_latency: Latency = 5_000_000

    def __post_init__(self) -> None:
        for name in ("entry_latency", "response_latency"):
            value = getattr(self, name)
            if value != "recorded" and not (isinstance(value, int) and value >= 0):
                raise ValueError(f"{name} must be 'recorded' or an int >= 0 (ns), got {value!r}")
        for name in ("maker_fee_bps", "taker_fee_bps"):
            value = getattr(self, name)
            if not (math.isfinite(value) and -1e4 < value < 1e4):
                raise ValueError(f"{name} must be in (-1e4, 1e4), got {value}")
        if not 0 < self.market_protection_bps < 1e4:
            raise ValueError(f"market_protection_bps must be in (0, 1e4), got {self.market_protection_bps}")
        if self.book_levels < 1:
            raise ValueError(f"book_levels must be >= 1, got {self.book_levels}")
        if self.fee_asset not in ("quote", "received"):
            raise ValueError(f"fee_asset must be quote or received, got {self.fee_asset!r}")


class ReplayVenue:
    def __init__(
        self,
        tape: Tape,
        config: ReplayConfig,
        queue: QueueModel,
        *,
        accounts: Mapping[str, Mapping[str, float]],
    ) -> None:
        self.tape = tape
        self.config = config
        self.bids = SideBook(config.book_levels)
        self.asks = SideBook(config.book_levels)
        self.known = False  # the book is known (a snapshot, and no gap since)
        self._levels = config.book_levels
        self._entry = None if config.entry_latency == "recorded" else config.entry_latency
        self._response = None if config.response_latency == "recorded" else config.response_latency
        self._market: list[tuple[int, int, Event]] = []  # public events (a heap: streams interleave)
        self._private: list[tuple[int, int, Event]] = []  # our events (a heap)
        self._inbound: list[tuple[int, int, Account, Command]] = []
        self._order = count()  # ties in the heaps: creation order
        self._book_seq = 0
        self._now = tape.start_ns
        self._latency = 0  # the recorded latency of the latest diff or trade applied
        self._was_known = False
        self._chunks: Iterator[Chunk] = tape.chunks()
        self._c: Chunk | None = None
        self._i = self._n = 0
        self.messages_applied = 0
        self.orders = OwnOrders(
            config.instrument,
            queue,
            accounts,
            self._push,
            fees=Fees.of(config.maker_fee_bps, config.taker_fee_bps, config.fee_asset),
            market_protection_bps=config.market_protection_bps,
        )

    # ------------------------------------------------------------------------------ the clock
    @property
    def now_ns(self) -> int:
        return self._now

    def submit(self, command: Command, now_ns: int) -> list[Event]:
        """Send one of our commands at ``now_ns``; return the events delivered by ``now_ns``."""
        if not isinstance(command, PlaceOrder | CancelOrder | CancelAll):
            raise TypeError(f"not a venue command: {command!r}")
        acct = self.orders.accounts.get(command.account)
        if acct is None:
            raise ValueError(f"unknown account {command.account!r}")
        self._run(now_ns)
        entry = self._latency if self._entry is None else self._entry
        heapq.heappush(self._inbound, (now_ns + entry, next(self._order), acct, command))
        return self._deliver(now_ns)

    def advance(self, now_ns: int) -> list[Event]:
        """Replay up to ``now_ns``; return the events delivered by then."""
        self._run(now_ns)
        return self._deliver(now_ns)

    def next_event_time_ns(self) -> int | None:
        """A lower bound on the next delivery time (None: nothing more will happen). Advancing to it
        may deliver nothing; it never skips an event."""
        t = _NEVER
        if self._market:
            t = self._market[0][0]
        if self._private:
            t = min(t, self._private[0][0])
        if self._i < self._n or self._load():
            assert self._c is not None
            t = min(t, self._c.due_ns[self._i])
        if self._inbound:
            t = min(t, self._inbound[0][0] + (self._response or 0))
        return None if t >= _NEVER else max(t, self._now)

    def next_events(self, limit_ns: int) -> list[Event]:
        """Advance to the next time at or before ``limit_ns`` at which something is delivered and
        return what is; with nothing by then, advance to ``limit_ns`` and return []. The same as
        ``advance`` to each ``next_event_time_ns()`` in turn, in one call."""
        while True:
            if self._private or self._inbound:
                t = self.next_event_time_ns()
                t = _NEVER if t is None else t
            else:  # only recorded messages: the next delivery is the next one due
                t = self._market[0][0] if self._market else _NEVER
                if self._i < self._n or self._load():
                    assert self._c is not None
                    t = min(t, self._c.due_ns[self._i])
                t = max(t, self._now) if t < _NEVER else t
            if t > limit_ns:
                self._run(limit_ns)
                return self._deliver(limit_ns)
            self._run(t)
            events = self._deliver(t)
            if events:
                return events

    @property
    def done(self) -> bool:
        """Every message applied and every event delivered."""
        return self.next_event_time_ns() is None

    def progress(self) -> float:
        """The share of the recording's messages applied, 0..1."""
        return self.messages_applied / len(self.tape) if len(self.tape) else 1.0

    def _push(self, ts_ns: int, event: Event) -> None:
        """A private event (ours), delivered at ``ts_ns``."""
        heapq.heappush(self._private, (ts_ns, next(self._order), event))

    def _publish(self, ts_ns: int, event: Event) -> None:
        """A public event, delivered at ``ts_ns``."""
        heapq.heappush(self._market, (ts_ns, next(self._order), event))

    def _deliver(self, now_ns: int) -> list[Event]:
        """The events due by ``now_ns``, by (delivery time, creation order)."""
        market, private = self._market, self._private
        events: list[Event] = []
        if not private:
            while market and market[0][0] <= now_ns:
                events.append(heapq.heappop(market)[2])
            return events
        while market and market[0][0] <= now_ns:
            if private and private[0][:2] < market[0][:2]:
                events.append(heapq.heappop(private)[2])
            else:
                events.append(heapq.heappop(market)[2])
        while private and private[0][0] <= now_ns:
            events.append(heapq.heappop(private)[2])
        return events

    def _load(self) -> bool:
        """The next chunk of messages; False at the end of the recording."""
        self._c = next(self._chunks, None)
        self._i, self._n = 0, (len(self._c.kind) if self._c is not None else 0)
        return self._n > 0

    def _run(self, until: int) -> None:
        """Do the venue's work due by ``until``: recorded messages and our arriving commands (at
        one instant, the message first)."""
        if until < self._now:
            raise TimeWentBackwards(f"time went backwards: {until} < {self._now}")
        self._now = until
        inbound = self._inbound
        while True:
            if self._i >= self._n and not self._load():
                while inbound and inbound[0][0] <= until:
                    self._arrive()
                return
            c = self._c
            assert c is not None
            limit = min(until, inbound[0][0]) if inbound else until
            venue_ns, i, n = c.venue_ns, self._i, self._n
            start = i
            while i < n and venue_ns[i] <= limit:
                self._apply(c, i, venue_ns[i])
                i += 1
            self._i = i
            self.messages_applied += i - start
            if i < n and inbound and inbound[0][0] <= until and inbound[0][0] < venue_ns[i]:
                self._arrive()
            elif i < n:
                return

    # ------------------------------------------------------------------------------ messages
    def _apply(self, c: Chunk, i: int, t: int) -> None:
        kind = c.kind[i]
        self._latency = c.latency_ns[i]
        orders = self.orders
        if kind == TRADE:
            ts = c.local_ns[i]
            for j in range(c.start[i], c.stop[i]):
                key, qty, ident = c.key[j], c.lots[j], int(c.ident[j])
                side = 1 if key > 0 else -1  # a buy took the asks
                if self.known and (orders.buys or orders.sells):
                    orders.on_trade(key * side, qty, side, ident, t, t + self._response_ns())
                self._publish(ts, PublicTrade(ts, t, ident, key * side, qty, _SIDE[side]))
        elif kind == DEPTH:
            keys, lots = c.key, c.lots
            b1, b2, b3 = c.b1[i], c.b2[i], c.b3[i]
            self.bids.apply(keys, lots, c.start[i], b1, b1, b2)
            self.asks.apply(keys, lots, b2, b3, b3, c.stop[i])
            if self.known:
                if orders.buys or orders.sells:
                    orders.on_depth(self.bids, self.asks, t, t + self._response_ns())
                self._push_book(c.local_ns[i], t)
        elif kind == GAP:
            self.bids.clear()
            self.asks.clear()
            if self.known:
                self.known = False
                self._publish(c.local_ns[i], BookUnknown(c.local_ns[i], t))
        else:
            self._apply_rows(c, i)
            if kind == SNAPSHOT and not self.known:
                self.known = True
                if self._was_known:
                    self._publish(c.local_ns[i], BookKnown(c.local_ns[i], t))
                self._was_known = True
                orders.on_known(self.bids, self.asks, t, t + self._response_ns())
            elif self.known:
                orders.on_depth(self.bids, self.asks, t, t + self._response_ns())
            if self.known:
                self._push_book(c.local_ns[i], t)

    def _apply_rows(self, c: Chunk, i: int) -> None:
        """A message's rows one by one, in order: snapshots, clears, and odd diffs."""
        bids, asks = self.bids, self.asks
        start, stop = c.start[i], c.stop[i]
        for j, kind in zip(range(start, stop), c.row_kind[start:stop].tolist(), strict=True):
            key = c.key[j]
            if kind in (DEPTH_EVENT, DEPTH_SNAPSHOT_EVENT):
                (bids if key < 0 else asks).set(key, c.lots[j])
            elif kind == DEPTH_CLEAR_EVENT and key:
                (bids if key < 0 else asks).clear_through(key)
            elif kind in (DEPTH_CLEAR_EVENT, BOOK_GAP_EVENT):
                bids.clear()
                asks.clear()
        bids.settle()
        asks.settle()

    def _push_book(self, ts: int, t: int) -> None:
        self._book_seq += 1
        n = self._levels
        bid_levels, ask_levels = self.bids.levels, self.asks.levels
        bids = tuple([(-k, bid_levels[k]) for k in self.bids.top[:n]])
        asks = tuple([(k, ask_levels[k]) for k in self.asks.top[:n]])
        self._publish(ts, BookSnapshot(ts, t, self._book_seq, bids, asks))

    def _response_ns(self) -> int:
        return self._latency if self._response is None else self._response

    # ------------------------------------------------------------------------------ our commands
    def _arrive(self) -> None:
        t, _, acct, command = heapq.heappop(self._inbound)
        ts = t + self._response_ns()
        orders = self.orders
        if isinstance(command, PlaceOrder):
            orders.place(acct, command, t, ts, self.bids, self.asks, self.known)
        elif isinstance(command, CancelOrder):
            orders.cancel(acct, command.client_order_id, t, ts)
        else:
            for cid in list(acct.open):
                orders.cancel(acct, cid, t, ts)

    # ------------------------------------------------------------------------------ queries
    def best_bid_ask(self) -> tuple[int | None, int | None]:
        """The venue's best bid and ask in ticks now (None: empty side or unknown book)."""
        if not self.known:
            return None, None
        bid, ask = self.bids.best(), self.asks.best()
        return (None if bid is None else -bid), ask

    def open_orders(self, account: str) -> list[OpenOrder]:
        return self._account(account).open_orders()

    def order_status(self, account: str, client_order_id: str) -> OrderRecord | None:
        return self._account(account).order_status(client_order_id)

    def fills(self, account: str, since_ns: int = 0) -> list[OwnFill]:
        """The account's fills that happened at the venue at or after ``since_ns``, oldest first (the
        last ``sim.accounts.HISTORY``)."""
        return [f for f in self._account(account).fills if f.exchange_ts_ns >= since_ns]

    def account(self, account: str) -> dict[str, AssetBalance]:
        return self.orders.funds.balances(self._account(account))

    def queue_ahead(self, account: str, client_order_id: str) -> float | None:
        """The queue model's lots ahead of our resting order (None while the book is unknown);
        KeyError if it is not resting."""
        for r in (*self.orders.buys, *self.orders.sells):
            if r.order.cid == client_order_id and r.order.account.name == account:
                return None if r.pos is None else r.pos.ahead
        raise KeyError(f"{account!r} has no resting order {client_order_id!r}")

    def _account(self, name: str) -> Account:
        acct = self.orders.accounts.get(name)
        if acct is None:
            raise KeyError(f"unknown account {name!r}")
        return acct
