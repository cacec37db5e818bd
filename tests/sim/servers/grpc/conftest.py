"""Fixtures: a gRPC gateway with a quiet book on a free loopback port, and one real grpc.aio channel
with a client per account, closed after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from sim.servers.grpc import GrpcGateway
from tests.sim.servers.grpc.helpers import OTHER, Client, gateway_options


@pytest.fixture
async def gateway() -> AsyncIterator[GrpcGateway]:
    async with GrpcGateway(gateway_options()) as gw:
        yield gw


@pytest.fixture
async def channel(gateway: GrpcGateway) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(gateway.target) as ch:
        yield ch


@pytest.fixture
def main(gateway: GrpcGateway, channel: grpc.aio.Channel) -> Client:
    return Client(channel, gateway.token)


@pytest.fixture
def other(channel: grpc.aio.Channel) -> Client:
    """A client of the second account."""
    return Client(channel, OTHER.token)
