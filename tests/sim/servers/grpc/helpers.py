"""A real grpc.aio client of a running ``GrpcGateway``: the generated stub, the bearer token on every
call, and reading a stream's next message that is not a heartbeat."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc

from sim.servers.grpc import GatewayOptions, GrpcAccount
from sim.servers.grpc.proto import venue_pb2 as pb
from sim.servers.grpc.proto import venue_pb2_grpc as pb_grpc

SYMBOL = "BTC/USDT"
OTHER = GrpcAccount("other", "other-token")
PRICE = 6_000_000  # 60,000.00 USDT in 0.01 ticks
LOTS = 100  # 0.001 BTC in 0.00001 lots
TIMEOUT_S = 2.0


def gateway_options(**overrides: Any) -> GatewayOptions:
    """Two accounts (``main`` and ``other``), a quiet book (no background flow: prices are ours),
    short fault delays and 200 ms heartbeats."""
    fields: dict[str, Any] = {
        "accounts": (GatewayOptions().accounts[0], OTHER),
        "markets": {SYMBOL: None},
        "seed": 7,
        "timeout_delay_s": 2.0,
        "burst_s": 0.3,
        "restart_down_s": 0.3,
        "heartbeat_interval_ms": 200,
    }
    fields.update(overrides)
    return GatewayOptions(**fields)


class Client:
    """One account's calls; ``metadata`` carries its token."""

    def __init__(self, channel: grpc.aio.Channel, token: str) -> None:
        self.stub = pb_grpc.VenueStub(channel)
        self.metadata = (("authorization", f"Bearer {token}"),)

    async def place(
        self,
        cid: str,
        side: int,
        price_ticks: int = PRICE,
        qty_lots: int = LOTS,
        order_type: int = pb.LIMIT,
        *,
        symbol: str = SYMBOL,
        deadline_s: float = TIMEOUT_S,
    ) -> pb.PlaceReply:
        request = pb.PlaceRequest(
            symbol=symbol, client_order_id=cid, side=side, order_type=order_type,
            price_ticks=price_ticks, qty_lots=qty_lots,
        )  # fmt: skip
        return await self.stub.Place(request, metadata=self.metadata, timeout=deadline_s)

    async def cancel(self, cid: str, *, deadline_s: float = TIMEOUT_S) -> int:
        request = pb.CancelRequest(symbol=SYMBOL, client_order_id=cid)
        reply = await self.stub.Cancel(request, metadata=self.metadata, timeout=deadline_s)
        return reply.status

    async def cancel_all(self) -> int:
        request = pb.CancelAllRequest(symbol=SYMBOL)
        return (await self.stub.CancelAll(request, metadata=self.metadata, timeout=TIMEOUT_S)).cancelled

    async def open_orders(self) -> list[str]:
        request = pb.OpenOrdersRequest(symbol=SYMBOL)
        reply = await self.stub.OpenOrders(request, metadata=self.metadata, timeout=TIMEOUT_S)
        return [o.client_order_id for o in reply.orders]

    async def status(self, cid: str) -> pb.OrderReport:
        request = pb.OrderStatusRequest(symbol=SYMBOL, client_order_id=cid)
        return await self.stub.OrderStatus(request, metadata=self.metadata, timeout=TIMEOUT_S)

    async def fills_since(self, since_ns: int) -> list[pb.Fill]:
        request = pb.FillsSinceRequest(symbol=SYMBOL, since_ns=since_ns)
        return list((await self.stub.FillsSince(request, metadata=self.metadata, timeout=TIMEOUT_S)).fills)

    async def balances(self) -> dict[str, str]:
        reply = await self.stub.Account(pb.AccountRequest(), metadata=self.metadata, timeout=TIMEOUT_S)
        return dict(reply.balances)

    async def ping(self, *, deadline_s: float = TIMEOUT_S) -> pb.PingReply:
        return await self.stub.Ping(pb.PingRequest(), metadata=self.metadata, timeout=deadline_s)

    def market(self, depth: int = 0, symbol: str = SYMBOL) -> Any:
        return self.stub.StreamMarket(
            pb.StreamMarketRequest(symbol=symbol, depth=depth), metadata=self.metadata
        )

    def orders(self, symbol: str = SYMBOL) -> Any:
        return self.stub.StreamOrders(pb.StreamOrdersRequest(symbol=symbol), metadata=self.metadata)


async def read(call: Any, within_s: float = TIMEOUT_S) -> Any:
    """The stream's next message (heartbeats included); fails the test after ``within_s``."""
    async with asyncio.timeout(within_s):
        message = await call.read()
    assert message is not grpc.aio.EOF, "the stream ended"
    return message


async def stream_error(call: Any) -> grpc.aio.AioRpcError:
    """Read the stream until it fails (within 3 s); the error."""
    async with asyncio.timeout(3):
        while True:
            try:
                await read(call)
            except grpc.aio.AioRpcError as exc:
                return exc


async def next_body(call: Any, within_s: float = TIMEOUT_S) -> Any:
    """The stream's next message that is not a heartbeat."""
    while True:
        message = await read(call, within_s)
        if message.WhichOneof("body") != "heartbeat":
            return message


class BookCopy:
    """A client's copy of the published book, kept by a market stream's snapshot and diffs."""

    def __init__(self) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}

    def apply(self, message: pb.MarketMessage) -> None:
        body = message.WhichOneof("body")
        if body == "snapshot":
            self.bids = {lv.price_ticks: lv.qty_lots for lv in message.snapshot.bids}
            self.asks = {lv.price_ticks: lv.qty_lots for lv in message.snapshot.asks}
        elif body == "diff":
            for side, levels in ((self.bids, message.diff.bids), (self.asks, message.diff.asks)):
                for lv in levels:
                    if lv.qty_lots:
                        side[lv.price_ticks] = lv.qty_lots
                    else:
                        assert lv.price_ticks in side, f"a diff removes level {lv.price_ticks} we do not have"
                        del side[lv.price_ticks]

    def top(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(bids, asks), best first."""
        return sorted(self.bids.items(), reverse=True), sorted(self.asks.items())
