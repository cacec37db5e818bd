"""The rpcs of ``proto/venue.proto``: each call is admitted, then answered from the gateway core.

Admission, in order: while a restart keeps the gateway down, UNAVAILABLE ("the gateway is
restarting"); during an ``unavailable`` burst, UNAVAILABLE; a missing or unknown bearer token
(``authorization: Bearer <token>``), UNAUTHENTICATED ("invalid or missing token"); then the
``unavailable`` fault's draw for this call, which starts a burst. Nothing is executed for a refused
call. A symbol the venue does not list is NOT_FOUND, except in Place, which answers it REJECTED
``unknown_symbol`` as the proto says; a negative depth is INVALID_ARGUMENT (a depth above
``SNAPSHOT_LEVELS``, or 0, gets ``SNAPSHOT_LEVELS``). Place and Cancel may hold their reply after the
action took effect (``timeout_after_commit``); a client that gave up cancels the call and so the wait.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import Callable, Mapping
from typing import Any, Final

import grpc

from sim.servers.grpc.core import SNAPSHOT_LEVELS, GatewayCore
from sim.servers.grpc.faults import Faults
from sim.servers.grpc.hub import Hub
from sim.servers.grpc.proto import venue_pb2 as pb
from sim.servers.grpc.proto import venue_pb2_grpc as pb_grpc

__all__ = ["Life", "Servicer", "new_session_id"]

Context = grpc.aio.ServicerContext[Any, Any]
_BEARER: Final = "Bearer "


def new_session_id() -> str:
    return secrets.token_hex(8)


class Life:
    """The gateway's current life: its session id, and until when a restart keeps it down."""

    def __init__(self) -> None:
        self.session_id = new_session_id()
        self.down_until_ns = 0

    def restart(self, now_ns: int, down_s: float) -> None:
        self.session_id = new_session_id()
        self.down_until_ns = now_ns + int(down_s * 1e9)


class Servicer(pb_grpc.VenueServicer):
    def __init__(
        self,
        core: GatewayCore,
        hub: Hub,
        faults: Faults,
        life: Life,
        tokens: Mapping[str, str],
        clock_ns: Callable[[], int],
        heartbeat_interval_ms: int,
    ) -> None:
        self._core, self._hub, self._faults, self._life = core, hub, faults, life
        self._tokens = [(token.encode(), account) for token, account in tokens.items()]
        self._clock = clock_ns
        self._heartbeat_ms = heartbeat_interval_ms

    # ------------------------------------------------------------------------------------- admission
    async def _admit(self, context: Context, rpc: str) -> str:
        """The account calling, once the call may run (see the module docstring); aborts otherwise."""
        now = self._clock()
        if now < self._life.down_until_ns:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the gateway is restarting")
        if self._faults.burst_left_s(now) > 0:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the venue is unavailable")
        account = self._account(context)
        if account is None:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid or missing token")
        if self._faults.request_hit("unavailable", rpc):
            self._faults.start_burst(now)
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the venue is unavailable")
        return account

    def _account(self, context: Context) -> str | None:
        for key, value in context.invocation_metadata() or ():
            if key != "authorization" or not isinstance(value, str) or not value.startswith(_BEARER):
                continue
            given = value[len(_BEARER) :].strip().encode()
            for token, account in self._tokens:
                if hmac.compare_digest(token, given):
                    return account
        return None

    async def _known(self, context: Context, symbol: str) -> None:
        if not self._core.has_symbol(symbol):
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown symbol {symbol!r}")

    async def _hold_if_faulted(self, rpc: str) -> None:
        if self._faults.request_hit("timeout_after_commit", rpc):
            await asyncio.sleep(self._faults.timeout_delay_s)

    # ------------------------------------------------------------------------------------- the rpcs
    async def Instruments(self, request: pb.InstrumentsRequest, context: Context) -> pb.InstrumentsReply:
        await self._admit(context, "Instruments")
        return pb.InstrumentsReply(instruments=self._core.instruments())

    async def StreamMarket(self, request: pb.StreamMarketRequest, context: Context) -> None:
        await self._admit(context, "StreamMarket")
        await self._known(context, request.symbol)
        if request.depth < 0:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"depth must be >= 0, got {request.depth}")
        depth = min(request.depth or SNAPSHOT_LEVELS, SNAPSHOT_LEVELS)
        book = self._core.book(request.symbol)
        sub = self._hub.subscribe_market(request.symbol, depth, self._life.session_id, book)
        try:
            await self._hub.serve(sub, context)
        finally:
            self._hub.remove(sub)

    async def StreamOrders(self, request: pb.StreamOrdersRequest, context: Context) -> None:
        account = await self._admit(context, "StreamOrders")
        await self._known(context, request.symbol)
        orders = self._core.open_orders(account, request.symbol)
        sub = self._hub.subscribe_orders(account, request.symbol, self._life.session_id, orders)
        try:
            await self._hub.serve(sub, context)
        finally:
            self._hub.remove(sub)

    async def Place(self, request: pb.PlaceRequest, context: Context) -> pb.PlaceReply:
        account = await self._admit(context, "Place")
        reply = self._core.place(account, request)
        await self._hold_if_faulted("Place")
        return reply

    async def Cancel(self, request: pb.CancelRequest, context: Context) -> pb.CancelReply:
        account = await self._admit(context, "Cancel")
        await self._known(context, request.symbol)
        done = self._core.cancel(account, request.symbol, request.client_order_id)
        await self._hold_if_faulted("Cancel")
        return pb.CancelReply(status=pb.CancelReply.CANCELLED if done else pb.CancelReply.UNKNOWN_ORDER)

    async def CancelAll(self, request: pb.CancelAllRequest, context: Context) -> pb.CancelAllReply:
        account = await self._admit(context, "CancelAll")
        await self._known(context, request.symbol)
        return pb.CancelAllReply(cancelled=self._core.cancel_all(account, request.symbol))

    async def OpenOrders(self, request: pb.OpenOrdersRequest, context: Context) -> pb.OpenOrdersReply:
        account = await self._admit(context, "OpenOrders")
        await self._known(context, request.symbol)
        return pb.OpenOrdersReply(orders=self._core.open_orders(account, request.symbol))

    async def OrderStatus(self, request: pb.OrderStatusRequest, context: Context) -> pb.OrderReport:
        account = await self._admit(context, "OrderStatus")
        await self._known(context, request.symbol)
        return self._core.order_status(account, request.symbol, request.client_order_id)

    async def FillsSince(self, request: pb.FillsSinceRequest, context: Context) -> pb.FillsSinceReply:
        account = await self._admit(context, "FillsSince")
        await self._known(context, request.symbol)
        return pb.FillsSinceReply(fills=self._core.fills_since(account, request.symbol, request.since_ns))

    async def Account(self, request: pb.AccountRequest, context: Context) -> pb.AccountReply:
        account = await self._admit(context, "Account")
        return self._core.account_reply(account)

    async def Ping(self, request: pb.PingRequest, context: Context) -> pb.PingReply:
        await self._admit(context, "Ping")
        return pb.PingReply(
            server_ts_ns=self._clock(),
            session_id=self._life.session_id,
            heartbeat_interval_ms=self._heartbeat_ms,
        )
