"""What an arriving order must pass, the same in ``SimExchange`` and in the replay (``sim/replay``):
the checks in their order, with their reasons, and the limit a MARKET order is given.

- ``invalid_order``: no client order id, a quantity not above zero, an unknown side or type, or a
  priced order without a positive price;
- ``duplicate_client_order_id``: the account has an open order with that id (which stays untouched);
- ``insufficient_funds``: the order needs more than the account has available (``sim.accounts``);
- ``post_only_would_cross``: a POST_ONLY order at or through the opposite best.

A MARKET order is an IOC at ``market_protection_bps`` beyond the opposite best (a buy: its ceiling in
ticks; a sell: its floor, at least one tick); without an opposite best it has no limit.

Pure: no IO.
"""

from __future__ import annotations

import math

from sim.accounts import Account, Funds
from sim.book import Side
from sim.events import OrderRecord, OrderType, PlaceOrder, RejectReason

__all__ = ["market_limit", "reject_reason", "rejected"]


def market_limit(side: Side, opposite_best: int | None, band: float) -> int | None:
    """The limit (ticks) of a MARKET order on ``side``: ``band`` (a fraction) beyond the opposite best."""
    if opposite_best is None:
        return None
    if side > 0:
        return math.ceil(opposite_best * (1.0 + band))
    return max(1, math.floor(opposite_best * (1.0 - band)))


def reject_reason(
    acct: Account, cmd: PlaceOrder, price: int | None, funds: Funds, opposite_best: int | None
) -> RejectReason | None:
    """Why ``cmd`` (at limit ``price``; a MARKET order's from ``market_limit``) is refused, or None.
    ``opposite_best``: the best price (ticks) the order would meet, None for an empty or unknown
    side (a POST_ONLY order then rests)."""
    if (
        not cmd.client_order_id
        or cmd.qty_lots <= 0
        or cmd.side not in (Side.BUY, Side.SELL)
        or not isinstance(cmd.order_type, OrderType)
        or (cmd.order_type is not OrderType.MARKET and cmd.price_ticks <= 0)
    ):
        return "invalid_order"
    if cmd.client_order_id in acct.open:
        return "duplicate_client_order_id"
    if funds.short_of_funds(acct, cmd.side, price, cmd.qty_lots):
        return "insufficient_funds"
    crosses = opposite_best is not None and (cmd.price_ticks - opposite_best) * cmd.side >= 0
    if cmd.order_type is OrderType.POST_ONLY and crosses:
        return "post_only_would_cross"
    return None


def rejected(cmd: PlaceOrder) -> OrderRecord:
    """The account's record of a refused order."""
    return OrderRecord(
        cmd.client_order_id, cmd.side, cmd.price_ticks, cmd.qty_lots, 0, cmd.order_type, "rejected"
    )
