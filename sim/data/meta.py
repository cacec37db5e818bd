"""What a recording is of: symbol, market, tick and lot size, source files; decimal formatting.

Tick and lot are decimal strings (``"0.01"``). When not given they are inferred from the data as
the coarsest power of ten that every price (for the lot: every trade and ticker quantity, see
``store.resolve_steps``) is a whole multiple of: Binance prints a fixed number of decimals
("61737.63000000"), so the decimals printed say nothing, but the finest digit ever used does. A venue
whose tick is not a power of ten (0.5, 5) gets a divisor of its tick (0.1, 1), which still places
every price exactly on the grid; pass the real tick to get it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from sim.data.events import EventArray, MessageArray
from sim.data.report import DataError, ImportReport

__all__ = [
    "FORMAT_VERSION",
    "Meta",
    "Recording",
    "check_step",
    "decimals_of",
    "format_decimal",
    "infer_step",
    "off_grid",
    "on_grid",
]

FORMAT_VERSION: Final = 1
"""Bumped whenever the arrays' meaning or the cache's content changes; older caches are re-parsed."""
_MAX_DECIMALS: Final = 12


@dataclass(frozen=True, slots=True)
class Meta:
    symbol: str
    market: str
    """``spot``, ``usdm`` or ``unknown`` (an imported hftbacktest file)."""
    tick_size: str
    lot_size: str
    sources: tuple[str, ...]
    """File names (no directories) of the sources, in the order they were joined."""
    tick_inferred: bool = False
    lot_inferred: bool = False

    @property
    def tick(self) -> float:
        return float(self.tick_size)

    @property
    def lot(self) -> float:
        return float(self.lot_size)

    def price(self, ticks: int) -> str:
        """A price in ticks as a decimal string with the tick's decimals: ``"61234.56"``."""
        return format_decimal(ticks, self.tick_size)

    def quantity(self, lots: int) -> str:
        return format_decimal(lots, self.lot_size)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["sources"] = list(self.sources)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Meta:
        fields = dict(data)
        fields["sources"] = tuple(fields["sources"])
        return cls(**fields)


@dataclass(slots=True)
class Recording:
    """A loaded recording: the event rows and their messages (layout in ``sim/data/events.py``),
    what it is of, and what the import found."""

    events: EventArray
    messages: MessageArray
    meta: Meta
    report: ImportReport


def decimals_of(step: str) -> int:
    exponent = Decimal(step).normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def format_decimal(units: int, step: str) -> str:
    """``units * step`` written with exactly the step's decimals (``12300, "0.00001"`` -> ``"0.12300"``)."""
    places = decimals_of(step)
    value = Decimal(units) * Decimal(step)
    return f"{value.quantize(Decimal(1).scaleb(-places)):f}"


def check_step(step: str, what: str) -> str:
    """A tick or lot given by a user: a positive finite decimal, returned normalized (``"0.010"`` ->
    ``"0.01"``)."""
    try:
        value = Decimal(step)
    except ArithmeticError:
        raise DataError(f"{what} {step!r} is not a decimal number") from None
    if not value.is_finite() or value <= 0 or not 0.0 < float(value) < math.inf:
        raise DataError(f"{what} {step!r} must be a positive number a float can hold")
    return f"{value.normalize():f}"


def infer_step(values: npt.NDArray[np.float64]) -> str:
    """The coarsest ``10**-d`` (d in 0..12) that every value is a whole multiple of, as a string."""
    distinct = np.unique(values[values != 0])
    for places in range(_MAX_DECIMALS + 1):
        if _whole(distinct * 10.0**places).all():
            return f"{Decimal(1).scaleb(-places):f}"
    raise DataError(f"values need more than {_MAX_DECIMALS} decimals; give the tick and lot explicitly")


def _whole(x: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    # A value parsed from a decimal string with at most d decimals, times 10**d, is within a few ulps
    # of an integer; with fewer decimals than it needs it is at least 10**-(missing digits) away.
    return np.abs(x - np.rint(x)) <= 8 * np.spacing(np.abs(x) + 1.0)


def on_grid(values: npt.NDArray[np.float64], step: str) -> bool:
    """Every value is a whole multiple of ``step`` (within float rounding)."""
    return bool(_whole(np.unique(values) / float(step)).all())


def off_grid(values: npt.NDArray[np.float64], step: str) -> int:
    """How many values are not whole multiples of ``step``."""
    distinct, counts = np.unique(values, return_counts=True)
    return int(counts[~_whole(distinct / float(step))].sum())
