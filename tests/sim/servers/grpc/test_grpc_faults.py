"""Injected faults reach a real grpc.aio client as the statuses and gaps real gateway faults cause, and
leave the venue in the state the fault describes (an order taken or not); the fault plan's names and
a slow subscriber's end."""

from __future__ import annotations

import asyncio
import itertools
import time

import grpc
import pytest

from sim.servers.grpc import FaultError, GrpcGateway
from sim.servers.grpc.faults import parse_faults
from sim.servers.grpc.hub import MAX_QUEUED, Subscription
from sim.servers.grpc.proto import venue_pb2 as pb
from tests.sim.servers.grpc.helpers import PRICE, Client, read, stream_error


async def test_restart_ends_streams_and_starts_a_new_session(gateway: GrpcGateway, main: Client) -> None:
    """Every stream ends UNAVAILABLE; calls are refused UNAVAILABLE for the down time; then Ping and
    new snapshots carry a new session id, and the open order is still there."""
    old = (await main.ping()).session_id
    await main.place("keep", pb.BUY, price_ticks=PRICE - 100)
    market, orders = main.market(), main.orders()
    assert (await read(market)).session_id == old and (await read(orders)).session_id == old
    gateway.faults.trigger("restart")
    for call in (market, orders):
        assert (await stream_error(call)).code() == grpc.StatusCode.UNAVAILABLE
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await main.open_orders()
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE and "restarting" in str(caught.value.details())
    await asyncio.sleep(0.35)
    new = (await main.ping()).session_id
    assert new != old and new == gateway.session_id
    snapshot = await read(main.orders())
    assert snapshot.session_id == new and snapshot.seq == 1
    assert [o.client_order_id for o in snapshot.snapshot.orders] == ["keep"]
    assert gateway.state()["faults_injected"]["restart"] == 1


@pytest.mark.parametrize("stream", ["market", "orders"])
async def test_stream_gap_skips_one_seq(gateway: GrpcGateway, main: Client, stream: str) -> None:
    """One message of the live stream is lost: the client sees seq jump by two, once."""
    call = main.market() if stream == "market" else main.orders()
    seqs = [(await read(call)).seq]
    gateway.faults.trigger("stream_gap")
    for _ in range(3):  # the clock task drops the next message within a tick (< a heartbeat interval)
        seqs.append((await read(call)).seq)
    steps = [b - a for a, b in itertools.pairwise(seqs)]
    assert sorted(steps) == [1, 1, 2], seqs
    assert gateway.faults.injected["stream_gap"] == 1


async def test_timeout_after_commit_takes_the_order(gateway: GrpcGateway, main: Client) -> None:
    """A held reply is DEADLINE_EXCEEDED for the client, yet the order and the cancel took effect:
    OrderStatus shows it and a retry of the Place is DUPLICATE; the server answers meanwhile."""
    gateway.faults.trigger("timeout_after_commit")
    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await main.place("held", pb.BUY, price_ticks=PRICE - 100, deadline_s=0.3)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - started < 1.0
    assert (await main.status("held")).status == pb.OrderReport.OPEN
    assert (await main.place("held", pb.BUY, price_ticks=PRICE - 100)).status == pb.PlaceReply.DUPLICATE

    gateway.faults.trigger("timeout_after_commit", on="Cancel")
    assert (await main.ping()).session_id  # not a Cancel: answered at once
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await main.cancel("held", deadline_s=0.3)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert (await main.status("held")).status == pb.OrderReport.CANCELLED
    assert gateway.state()["faults_injected"]["timeout_after_commit"] == 2


async def test_unavailable_refuses_a_burst_of_calls_and_executes_none(
    gateway: GrpcGateway, main: Client
) -> None:
    """The triggered call and every call (and subscription) for burst_s after it are UNAVAILABLE and
    not executed; then calls work again."""
    gateway.faults.trigger("unavailable", on="Place")
    assert await main.open_orders() == []  # not a Place: the trigger waits
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await main.place("lost", pb.BUY, price_ticks=PRICE - 100)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await main.status("lost")
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert (await stream_error(main.orders())).code() == grpc.StatusCode.UNAVAILABLE
    await asyncio.sleep(0.35)
    assert (await main.status("lost")).status == pb.OrderReport.NOT_FOUND
    assert await main.open_orders() == []
    assert gateway.state()["faults_injected"]["unavailable"] == 1


async def test_a_rate_of_one_hits_every_call_until_set_back(gateway: GrpcGateway, main: Client) -> None:
    """set_rate changes a fault's probability at run time: with timeout_after_commit at 1, each Place
    is held."""
    gateway.faults.set_rate("timeout_after_commit", 1.0)
    for n in range(2):
        with pytest.raises(grpc.aio.AioRpcError):
            await main.place(f"r{n}", pb.BUY, price_ticks=PRICE - 100 - n, deadline_s=0.2)
    gateway.faults.set_rate("timeout_after_commit", 0.0)
    assert (await main.place("r2", pb.BUY, price_ticks=PRICE - 102)).status == pb.PlaceReply.ACCEPTED
    assert await main.open_orders() == ["r0", "r1", "r2"]


async def test_a_subscriber_that_falls_far_behind_is_ended() -> None:
    """A queue that reaches MAX_QUEUED ends its subscription RESOURCE_EXHAUSTED; pushes after the end
    are ignored, and the seq counts dropped messages."""
    beat = pb.OrderMessage(heartbeat=pb.Heartbeat())
    sub = Subscription("s", pb.OrderMessage(snapshot=pb.OpenOrdersSnapshot()), lambda: beat)
    for _ in range(MAX_QUEUED):
        sub.push(beat)
    assert sub.end_status is not None and sub.end_status[0] == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert sub.ended.done() and not sub.queue
    sub.push(beat)
    assert not sub.queue
    sub.drop_next = True
    assert sub.stamp(beat) is None
    stamped = sub.stamp(beat)
    assert stamped is not None and (stamped.seq, stamped.session_id) == (2, "s")


def test_the_fault_names_are_the_grpc_ones() -> None:
    """--faults takes the gRPC venue's names with the shared syntax; Binance's are unknown here."""
    assert parse_faults("restart=0.1, stream_gap=2,unavailable=0.01") == {
        "restart": 0.1,
        "stream_gap": 2.0,
        "unavailable": 0.01,
    }
    for spec, words in [
        ("http_429=0.1", "unknown fault 'http_429'"),
        ("unavailable=2", "probability"),
        ("restart=-1", "restart: rate must be"),
        ("restart", "expected name=rate"),
    ]:
        with pytest.raises(FaultError, match=words):
            parse_faults(spec)
