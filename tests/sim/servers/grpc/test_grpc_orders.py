"""Orders through a real grpc.aio server on a quiet book: acks and fills on the order stream, the
dedup over the account's history, the proto's reject reasons, cancels, the reconciliation queries and
the bearer token."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from sim.servers.grpc import GrpcGateway
from sim.servers.grpc.proto import venue_pb2 as pb
from tests.sim.servers.grpc.helpers import LOTS, PRICE, Client, next_body, read


async def test_a_resting_order_is_acked_and_filled_by_another_account(
    gateway: GrpcGateway, main: Client, other: Client
) -> None:
    """main's sell rests (Ack); other's IOC buy takes 40 lots of it and the rest of its size is
    cancelled: main sees a maker Fill with a rebate and 60 remaining, other a taker Fill then
    Cancelled(ioc_remainder), and the market stream a trade with the fills' trade id."""
    market, mine, theirs = main.market(), main.orders(), other.orders()
    for call in (market, mine, theirs):
        assert (await read(call)).WhichOneof("body") == "snapshot"
    placed = await main.place("ask-1", pb.SELL)
    assert placed.status == pb.PlaceReply.ACCEPTED and placed.order.status == pb.OrderReport.OPEN
    assert (await next_body(mine)).ack.client_order_id == "ask-1"

    await other.place("bid-1", pb.BUY, qty_lots=40, order_type=pb.IOC)
    taken = await other.place("bid-2", pb.BUY, qty_lots=LOTS, order_type=pb.IOC)
    assert taken.status == pb.PlaceReply.ACCEPTED
    assert taken.order.status == pb.OrderReport.CANCELLED and taken.order.filled_lots == 60

    maker = (await next_body(mine)).fill
    assert (maker.client_order_id, maker.side, maker.qty_lots, maker.remaining_lots) == (
        "ask-1",
        pb.SELL,
        40,
        60,
    )
    assert maker.liquidity == pb.MAKER and maker.fee == "-0.0012" and maker.fee_asset == "USDT"
    assert (await next_body(mine)).fill.remaining_lots == 0
    bodies = [(await next_body(theirs)).WhichOneof("body") for _ in range(5)]
    assert bodies == ["ack", "fill", "ack", "fill", "cancelled"]
    trade = (await next_body(market)).trade
    assert trade.trade_id == maker.trade_id and trade.aggressor == pb.BUY
    assert (trade.price_ticks, trade.qty_lots) == (PRICE, 40)
    assert gateway.state()["accounts"]["main"]["open_orders"] == []


async def test_a_retry_is_duplicate_and_never_taken_twice(main: Client, other: Client) -> None:
    """The same client id again is DUPLICATE with the order as it stands, whether it is open or long
    finished; only one order exists."""
    first = await main.place("same", pb.BUY, price_ticks=PRICE - 100)
    again = await main.place("same", pb.BUY, price_ticks=PRICE - 100)
    assert first.status == pb.PlaceReply.ACCEPTED and again.status == pb.PlaceReply.DUPLICATE
    assert again.order == first.order
    assert await main.open_orders() == ["same"]
    assert await main.cancel("same") == pb.CancelReply.CANCELLED
    late = await main.place("same", pb.BUY, price_ticks=PRICE - 200)
    assert late.status == pb.PlaceReply.DUPLICATE and late.order.status == pb.OrderReport.CANCELLED
    assert late.order.price_ticks == PRICE - 100
    assert await main.open_orders() == []
    theirs = await other.place("same", pb.BUY, price_ticks=PRICE - 100)  # ids are per account
    assert theirs.status == pb.PlaceReply.ACCEPTED


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"cid": "pox", "side": pb.BUY, "order_type": pb.POST_ONLY}, "post_only_would_cross"),
        ({"cid": "big", "side": pb.BUY, "qty_lots": 1_000_000}, "insufficient_funds"),
        ({"cid": "zero", "side": pb.BUY, "qty_lots": 0}, "invalid_order"),
        ({"cid": "dust", "side": pb.BUY, "qty_lots": 1}, "invalid_order"),  # 0.6 USDT < 5 notional
        ({"cid": "noside", "side": pb.SIDE_UNSPECIFIED}, "invalid_order"),
        ({"cid": "notype", "side": pb.BUY, "order_type": pb.ORDER_TYPE_UNSPECIFIED}, "invalid_order"),
        ({"cid": "bad id!", "side": pb.BUY}, "invalid_order"),
        ({"cid": "x" * 37, "side": pb.BUY}, "invalid_order"),
        ({"cid": "sym", "side": pb.BUY, "symbol": "ETH/USDT"}, "unknown_symbol"),
    ],
)
async def test_refusals_are_in_the_reply_with_the_proto_reason(
    main: Client, other: Client, kwargs: dict[str, Any], reason: str
) -> None:
    """Each refusal is REJECTED with its reason string, makes no event, and leaves nothing open; a
    refused id is not taken, so OrderStatus says REJECTED (or NOT_FOUND) until it is placed for real."""
    await other.place("resting-ask", pb.SELL)
    stream = main.orders()
    await read(stream)
    cid = str(kwargs["cid"])
    reply = await main.place(**kwargs)
    assert reply.status == pb.PlaceReply.REJECTED and reply.reject_reason == reason
    assert await main.open_orders() == []
    if reason == "post_only_would_cross":
        assert (await main.status(cid)).status == pb.OrderReport.REJECTED
        assert (await main.place(cid, pb.BUY, price_ticks=PRICE - 1, order_type=pb.POST_ONLY)).status == (
            pb.PlaceReply.ACCEPTED
        )
    else:
        await main.place("after", pb.BUY, price_ticks=PRICE - 1)
    assert (await next_body(stream)).WhichOneof("body") == "ack"  # the refusal made no event


async def test_cancel_answers_unknown_order_unless_the_order_is_open(main: Client, other: Client) -> None:
    """An open order cancels (a Cancelled 'user' event follows); cancelled, filled or never placed
    ones are UNKNOWN_ORDER; CancelAll says how many it cancelled."""
    stream = main.orders()
    await read(stream)
    await main.place("c1", pb.BUY, price_ticks=PRICE - 100)
    assert await main.cancel("c1") == pb.CancelReply.CANCELLED
    assert [(await next_body(stream)).WhichOneof("body") for _ in range(2)] == ["ack", "cancelled"]
    assert await main.cancel("c1") == pb.CancelReply.UNKNOWN_ORDER
    assert await main.cancel("never") == pb.CancelReply.UNKNOWN_ORDER
    await main.place("c2", pb.SELL)
    await other.place("taker", pb.BUY, order_type=pb.IOC)
    assert (await main.status("c2")).status == pb.OrderReport.FILLED
    assert await main.cancel("c2") == pb.CancelReply.UNKNOWN_ORDER
    for n in range(3):
        await main.place(f"all-{n}", pb.BUY, price_ticks=PRICE - 100 - n)
    assert await main.cancel_all() == 3
    assert await main.cancel_all() == 0
    assert await main.open_orders() == []


async def test_reconciliation_queries(gateway: GrpcGateway, main: Client, other: Client) -> None:
    """FillsSince returns fills at or after a venue time, oldest first; OpenOrders and OrderStatus
    show the orders (NOT_FOUND for an unknown id); Account totals include what orders lock."""
    await main.place("rest", pb.BUY, price_ticks=PRICE - 100_000)  # 59,000: locks ~59 USDT
    assert (await main.balances())["USDT"] == "100000"
    await other.place("sell-1", pb.SELL, qty_lots=50)
    await other.place("sell-2", pb.SELL, qty_lots=50, price_ticks=PRICE + 1)
    await main.place("take", pb.BUY, price_ticks=PRICE + 1, qty_lots=LOTS, order_type=pb.IOC)
    fills = await main.fills_since(0)
    assert [(f.price_ticks, f.qty_lots, f.liquidity) for f in fills] == [
        (PRICE, 50, pb.TAKER),
        (PRICE + 1, 50, pb.TAKER),
    ]
    assert [f.remaining_lots for f in fills] == [50, 0]
    assert fills[0].trade_id != fills[1].trade_id
    assert await main.fills_since(fills[1].exchange_ts_ns + 1) == []
    assert await main.open_orders() == ["rest"]
    assert (await main.status("take")).status == pb.OrderReport.FILLED
    missing = await main.status("nope")
    assert missing.status == pb.OrderReport.NOT_FOUND and missing.client_order_id == "nope"
    balances = await main.balances()
    free, locked = gateway.core.balances("main")["USDT"]
    assert locked > 0 and float(balances["USDT"]) == pytest.approx(free + locked)
    assert float(balances["BTC"]) == pytest.approx(1.001 - 0.001 * 0.0004)  # the buy's fee is in BTC


async def test_unknown_symbol_in_a_query_is_not_found(main: Client) -> None:
    """Queries and streams name a listed symbol or get NOT_FOUND."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await main.stub.OpenOrders(pb.OpenOrdersRequest(symbol="ETH/USDT"), metadata=main.metadata, timeout=2)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND and "ETH/USDT" in str(caught.value.details())
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await read(main.orders(symbol=""))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    "metadata", [(), (("authorization", "Bearer wrong"),), (("authorization", "emulator-token"),)]
)
async def test_a_wrong_or_missing_token_is_unauthenticated(
    main: Client, metadata: tuple[tuple[str, str], ...]
) -> None:
    """Unary calls and stream subscriptions without a known bearer token are refused
    UNAUTHENTICATED, saying so; nothing is executed."""
    request = pb.PlaceRequest(symbol="BTC/USDT", client_order_id="x", side=pb.BUY, order_type=pb.LIMIT)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await main.stub.Place(request, metadata=metadata, timeout=2)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert caught.value.details() == "invalid or missing token"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await read(main.stub.StreamOrders(pb.StreamOrdersRequest(symbol="BTC/USDT"), metadata=metadata))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert (await main.status("x")).status == pb.OrderReport.NOT_FOUND
