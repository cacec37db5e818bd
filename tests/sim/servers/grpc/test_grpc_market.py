"""Market data and heartbeats through a real grpc.aio server: a snapshot first, then diffs that keep a
client's copy equal to the server's published book (qty 0 removes a level, depth limits the view),
trades, heartbeats every interval, and seq +1 per message of a subscription."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import grpc
import pytest

from sim.servers.grpc import GrpcGateway
from sim.servers.grpc.proto import venue_pb2 as pb
from tests.sim.servers.grpc.helpers import PRICE, SYMBOL, BookCopy, Client, gateway_options, read


class Reader:
    """Reads one market stream into a ``BookCopy``, checking that seq goes up by one each message."""

    def __init__(self, call: Any) -> None:
        self.call = call
        self.book = BookCopy()
        self.seq = 0
        self.removed: list[int] = []
        self.session_id = ""

    async def next(self) -> pb.MarketMessage:
        message = await read(self.call)
        assert message.seq == self.seq + 1, f"seq {message.seq} after {self.seq}"
        self.seq = message.seq
        self.session_id = self.session_id or message.session_id
        assert message.session_id == self.session_id
        if message.WhichOneof("body") == "diff":
            self.removed += [
                lv.price_ticks for lv in (*message.diff.bids, *message.diff.asks) if not lv.qty_lots
            ]
        self.book.apply(message)
        return message

    async def until(self, bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> None:
        async with asyncio.timeout(3):
            while self.book.top() != (bids, asks):
                await self.next()


async def test_snapshot_then_diffs_keep_a_depth_limited_copy(main: Client, other: Client) -> None:
    """With depth 2, three bids show as the best two; cancelling the best removes it (qty 0) and the
    third comes into view; the first message is the snapshot, seq 1."""
    reader = Reader(main.market(depth=2))
    first = await reader.next()
    assert first.seq == 1 and first.WhichOneof("body") == "snapshot"
    assert reader.book.top() == ([], [])
    for n in (1, 2, 3):
        await other.place(f"b{n}", pb.BUY, price_ticks=PRICE - 100 * n)
    await other.place("a1", pb.SELL, price_ticks=PRICE + 100, qty_lots=10)
    await reader.until([(PRICE - 100, 100), (PRICE - 200, 100)], [(PRICE + 100, 10)])
    assert PRICE - 300 not in reader.book.bids
    await other.cancel("b1")
    await reader.until([(PRICE - 200, 100), (PRICE - 300, 100)], [(PRICE + 100, 10)])
    assert PRICE - 100 in reader.removed


async def test_diffs_rebuild_the_server_book_under_background_flow() -> None:
    """With the default background market, every diff applied to the snapshot gives the server's
    published book (top 10) as of that diff, for a second of flow."""
    async with (
        GrpcGateway(gateway_options(markets={})) as gw,
        grpc.aio.insecure_channel(gw.target) as channel,
    ):
        reader = Reader(Client(channel, gw.token).market(depth=10))
        compared = 0
        async with asyncio.timeout(5):
            while compared < 5:
                message = await reader.next()
                book = gw.core.book(SYMBOL)
                if message.WhichOneof("body") == "diff" and message.exchange_ts_ns == book.exchange_ts_ns:
                    assert reader.book.top() == (list(book.bids[:10]), list(book.asks[:10]))
                    compared += 1
        assert reader.book.bids and reader.book.asks


async def test_trades_are_published_with_their_aggressor(main: Client, other: Client) -> None:
    """A match becomes one trade message per fill, ids increasing, after the snapshot."""
    reader = Reader(main.market())
    await reader.next()
    await other.place("ask", pb.SELL, qty_lots=100)
    await main.place("lift-1", pb.BUY, qty_lots=30, order_type=pb.IOC)
    await main.place("lift-2", pb.BUY, qty_lots=30, order_type=pb.MARKET)
    trades = []
    while len(trades) < 2:
        message = await reader.next()
        if message.WhichOneof("body") == "trade":
            trades.append(message.trade)
    assert [(t.price_ticks, t.qty_lots, t.aggressor) for t in trades] == [(PRICE, 30, pb.BUY)] * 2
    assert int(trades[0].trade_id) < int(trades[1].trade_id)


async def test_heartbeats_come_every_interval_on_both_streams(gateway: GrpcGateway, main: Client) -> None:
    """A quiet book still sends a heartbeat every heartbeat_interval_ms (Ping says 200) on the market
    and the order stream, each the next seq, with the session id Ping reports."""
    ping = await main.ping()
    assert ping.heartbeat_interval_ms == 200 and ping.session_id == gateway.session_id
    for call in (main.market(), main.orders()):
        messages = [await read(call) for _ in range(4)]
        assert [m.seq for m in messages] == [1, 2, 3, 4]
        assert [m.WhichOneof("body") for m in messages[1:]] == ["heartbeat"] * 3
        assert {m.session_id for m in messages} == {ping.session_id}
        gaps_ms = [(b.exchange_ts_ns - a.exchange_ts_ns) / 1e6 for a, b in itertools.pairwise(messages[1:])]
        assert all(150 < gap < 400 for gap in gaps_ms), gaps_ms
        call.cancel()


async def test_a_negative_depth_is_invalid(main: Client) -> None:
    """depth < 0 is INVALID_ARGUMENT; 0 is the server's default."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await read(main.market(depth=-1))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (await read(main.market(depth=0))).WhichOneof("body") == "snapshot"
