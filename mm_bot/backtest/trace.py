"""``RunTrace``: what one run did, as numpy arrays, for metrics and reports (plain data, pure).

Every time is int64 ns on the core's clock (for a backtest: the virtual time at which the core saw
the event); prices are floats in quote units, quantities floats in base units.

- samples: ``ts_ns``, ``mid``, ``best_bid``, ``best_ask`` (the book as the core saw it),
  ``bid_quote``, ``ask_quote`` (our quote's price on the side, NaN if none), ``position_base``,
  ``pnl_quote`` (marked to the mid, fees included), ``sigma`` (the core's estimate, price units per
  sqrt(s), NaN if none). A backtest takes one after a book reaches the core, at most one per
  100 ms of virtual time (``mm_bot/backtest/recorder.py``);
- fills: ``fill_ts_ns``, ``fill_side`` (+1 buy, -1 sell), ``fill_price``, ``fill_qty_base``,
  ``fill_fee_quote``, ``fill_maker`` (bool);
- decisions: ``decision_ts_ns``, ``decision_side`` (+1 / -1, 0 for none), ``decision_action``
  ("send", "keep", "replace", "cancel", "nothing") and ``decision_reason`` (the ``Reason`` value),
  both lists of str;
- counts ``quotes_sent``, ``cancels_sent``; meta ``symbol``, ``strategy`` (the strategy kind),
  ``start_ns``, ``end_ns``, ``tick_size``, ``lot_size``.

The columns of each group (samples, fills, decisions) have one length; a trace whose columns do
not is refused at construction, naming the group.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

__all__ = ["RunTrace"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

GROUPS = {
    "samples": (
        "ts_ns",
        "mid",
        "best_bid",
        "best_ask",
        "bid_quote",
        "ask_quote",
        "position_base",
        "pnl_quote",
        "sigma",
    ),
    "fills": ("fill_ts_ns", "fill_side", "fill_price", "fill_qty_base", "fill_fee_quote", "fill_maker"),
    "decisions": ("decision_ts_ns", "decision_side", "decision_action", "decision_reason"),
}


@dataclass(frozen=True, eq=False)
class RunTrace:
    # samples
    ts_ns: I64
    mid: F64
    best_bid: F64
    best_ask: F64
    bid_quote: F64
    ask_quote: F64
    position_base: F64
    pnl_quote: F64
    sigma: F64
    # fills
    fill_ts_ns: I64
    fill_side: I64
    fill_price: F64
    fill_qty_base: F64
    fill_fee_quote: F64
    fill_maker: Bools
    # decisions
    decision_ts_ns: I64
    decision_side: I64
    decision_action: list[str]
    decision_reason: list[str]
    # counts and meta
    quotes_sent: int
    cancels_sent: int
    symbol: str
    strategy: str
    start_ns: int
    end_ns: int
    tick_size: float
    lot_size: float

    def __post_init__(self) -> None:
        for group, names in GROUPS.items():
            lengths = {name: len(getattr(self, name)) for name in names}
            if len(set(lengths.values())) > 1:
                raise ValueError(f"the {group} columns differ in length: {lengths}")

    def same_as(self, other: RunTrace) -> bool:
        """Every field equal (arrays element-wise and of one dtype, NaN equal to NaN)."""
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, np.ndarray):
                if not isinstance(b, np.ndarray) or a.dtype != b.dtype:
                    return False
                if not np.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
                    return False
            elif a != b:
                return False
        return True
