"""A gRPC counterparty (``proto/venue.proto``) over ``sim.exchange.SimExchange``, for mm-bot's
``GrpcVenue`` and for ``mm-bot venue serve --protocol grpc``.

Parts, each with one job: ``orders`` (our orders and fills, the registry behind dedup and
reconciliation), ``wire`` (proto messages and state-file rows), ``depth`` (a subscription's book and
its diffs), ``core`` (all symbols, commands, events to messages), ``faults`` (what to inject),
``options``, ``hub`` (subscriptions: queues, seq, heartbeats), ``servicer`` (the rpcs, admission and
auth) and ``server`` (the grpc.aio server and its clock). ``core`` and everything it uses does no IO.

Not emulated: amendments, self-trade prevention, derivatives (``AccountReply.positions`` is empty),
rate limits, per-account order streams over all symbols (a stream is for one symbol, as ``OpenOrder``
and ``Fill`` carry no symbol).
"""

from sim.servers.grpc.faults import FAULTS, REQUEST_FAULTS, STREAM_FAULTS, FaultError, Faults
from sim.servers.grpc.options import DEFAULT_TOKEN, GatewayOptions, GrpcAccount, OptionError, from_flags
from sim.servers.grpc.server import GrpcGateway, serve

__all__ = [
    "DEFAULT_TOKEN",
    "FAULTS",
    "REQUEST_FAULTS",
    "STREAM_FAULTS",
    "FaultError",
    "Faults",
    "GatewayOptions",
    "GrpcAccount",
    "GrpcGateway",
    "OptionError",
    "from_flags",
    "serve",
]
