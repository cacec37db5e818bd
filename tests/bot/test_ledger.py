"""The ledger: each fill moves position, cash, fees and volume exactly once, in exact units."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mm_bot.engine.ledger import Ledger, LedgerTotals
from mm_bot.model import Liquidity, OwnFill, Side

TICK, LOT = 0.01, 0.00001


def fill(cid: str, trade: str, side: Side, price: int, qty: int, fee: float = 0.0) -> OwnFill:
    return OwnFill(1, cid, side, price, qty, Liquidity.MAKER, fee, trade)


def test_fill_moves_position_cash_fees_volume_by_hand() -> None:
    """Buy 100 lots at 60000.00 with a 0.003 rebate, sell 40 at 60001.00 paying 0.01."""
    ledger = Ledger(TICK, LOT)
    assert ledger.apply(fill("a", "1", Side.BUY, 6_000_000, 100, -0.003))
    assert ledger.apply(fill("b", "2", Side.SELL, 6_000_100, 40, 0.01))
    assert ledger.position_lots == 60
    assert ledger.notional_ticklots == -6_000_000 * 100 + 6_000_100 * 40
    assert ledger.volume_lots == 140 and ledger.fills == 2
    assert abs(ledger.fees_quote - 0.007) < 1e-12
    # cash: -60.00 + 24.0004 - 0.007 fees
    assert abs(ledger.cash_quote - (-60.0 + 24.0004 - 0.007)) < 1e-9
    assert abs(ledger.pnl_quote(60_000.0) - (ledger.cash_quote + 60 * LOT * 60_000.0)) < 1e-9


def test_the_same_fill_twice_changes_nothing() -> None:
    """Same client order id and trade id: applied once."""
    ledger = Ledger(TICK, LOT)
    f = fill("a", "7", Side.BUY, 6_000_000, 10)
    assert ledger.apply(f) and not ledger.apply(f)
    assert ledger.position_lots == 10 and ledger.fills == 1


def test_one_trade_two_own_fills_count_twice() -> None:
    """A self-trade: the same trade id on two of our orders is two fills."""
    ledger = Ledger(TICK, LOT)
    assert ledger.apply(fill("maker", "7", Side.BUY, 6_000_000, 10))
    assert ledger.apply(fill("taker", "7", Side.SELL, 6_000_000, 10))
    assert ledger.position_lots == 0 and ledger.fills == 2


def test_restore_continues_and_session_counts_only_new_fills() -> None:
    """After a restore the known fills are still recognised; the session figures start at zero."""
    ledger = Ledger(TICK, LOT)
    ledger.restore(LedgerTotals(30, -180_000_000, 0.5, 30, 1), [("old", "1")])
    assert not ledger.apply(fill("old", "1", Side.BUY, 6_000_000, 30))
    assert ledger.apply(fill("new", "2", Side.SELL, 6_000_000, 10))
    assert ledger.position_lots == 20 and ledger.fills == 2
    session = ledger.session()
    assert (session.position_lots, session.fill_count, session.volume_lots) == (-10, 1, 10)


@given(
    st.lists(
        st.tuples(st.sampled_from([Side.BUY, Side.SELL]), st.integers(1, 10**7), st.integers(1, 10**4)),
        max_size=200,
    )
)
def test_totals_are_exact_integer_sums(fills: list[tuple[Side, int, int]]) -> None:
    """Position, notional and volume are exact integer sums whatever the fills (no float drift)."""
    ledger = Ledger(TICK, LOT)
    for i, (side, price, qty) in enumerate(fills):
        ledger.apply(fill("c", str(i), side, price, qty))
    assert ledger.position_lots == sum(s * q for s, _, q in fills)
    assert ledger.notional_ticklots == sum(-s * p * q for s, p, q in fills)
    assert ledger.volume_lots == sum(q for _, _, q in fills)
