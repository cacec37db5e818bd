"""The float backend does what the generic pipeline expects of an Ops object."""

from __future__ import annotations

import itertools
import math

import pytest

from mm_bot.strategy.numeric import FLOAT_OPS, FloatOps, Ops


def test_float_ops_values_and_types() -> None:
    """floor/ceil give ints (ticks), min/max/ite keep the operand type, comparisons give bools."""
    ops: Ops = FloatOps()
    assert ops.floor(2.7) == 2
    assert isinstance(ops.floor(2.7), int)
    assert ops.ceil(-2.7) == -2
    assert isinstance(ops.ceil(2.1), int)
    assert ops.min(3, 2) == 2
    assert ops.max(1.5, 2.5) == 2.5
    assert ops.ite(True, 1, 2) == 1
    assert ops.ite(False, 1.0, 2.0) == 2.0
    assert (ops.lt(1, 2), ops.le(2, 2), ops.gt(1, 2), ops.ge(2, 3)) == (True, True, False, False)
    assert ops.log(math.e) == pytest.approx(1.0)
    assert ops.log1p(1e-20) == 1e-20
    assert ops.exp(0.0) == 1.0
    assert ops.sqrt(9.0) == 3.0
    assert ops.pow(2.0, 0.5) == pytest.approx(math.sqrt(2.0))


def test_float_ops_refuse_garbage_at_rounding() -> None:
    """Rounding NaN or inf raises rather than producing a tick count."""
    with pytest.raises(ValueError, match="NaN"):
        FLOAT_OPS.floor(math.nan)
    with pytest.raises(OverflowError):
        FLOAT_OPS.ceil(math.inf)


_VALUES = [-2.5, -1.0, 0.0, 0.5, 1.0, 3.0, math.inf, -math.inf, math.nan]


def test_clamps_are_exactly_the_min_max_compositions() -> None:
    """clamp_le is min(max(x, lo), hi) and clamp_ge max(min(x, hi), lo), bit for bit, also when the
    bounds cross or a value is NaN: the quote pipeline calls them in place of those compositions,
    and the Z3 backends spell them so."""
    ops: Ops = FloatOps()

    def same(a: float, b: float) -> bool:
        return (a == b and math.copysign(1.0, a) == math.copysign(1.0, b)) or (a != a and b != b)

    for x, lo, hi in itertools.product(_VALUES, repeat=3):
        assert same(ops.clamp_le(x, lo, hi), ops.min(ops.max(x, lo), hi)), (x, lo, hi)
        assert same(ops.clamp_ge(x, lo, hi), ops.max(ops.min(x, hi), lo)), (x, lo, hi)
        if not (lo > hi or math.isnan(x) or math.isnan(lo) or math.isnan(hi)):
            assert lo <= ops.clamp_le(x, lo, hi) == ops.clamp_ge(x, lo, hi) <= hi
