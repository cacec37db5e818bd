"""Numeric backends for the quote pipeline.

The quote pipeline (``quote.compute_quote`` and the generic functions in ``avellaneda_stoikov`` and
``glft``) is written once and evaluated with two kinds of numbers:

- Python floats, on the trading path (``FLOAT_OPS`` below: ``math`` and plain comparisons, fast);
- Z3 terms, when ``mm_bot.verify`` proves the quote invariants on the very code that trades.

Generic code therefore follows two rules:

1. ``+ - * /`` and unary ``-`` are used directly on values (floats and z3 ``ArithRef`` both have them);
2. everything else goes through an ``Ops`` object: ``log log1p exp sqrt pow floor ceil min max
   clamp_le clamp_ge ite``
   and the comparisons ``lt le gt ge``. No Python ``if``, ``min``, ``max``, ``math.*`` or comparison is ever
   applied to a pipeline value, because a Z3 term cannot be branched on. Branching on *static*
   parameters (config values known before any market data, such as the strategy kind) is fine.

Annotations say ``float``, ``int`` and ``bool``: they are exact for the float backend, and under Z3 the
same positions hold ``ArithRef``/``BoolRef`` terms (z3 is untyped, so they arrive as ``Any``).
``floor``/``ceil`` return integers (ticks) in both backends (``int`` / z3 ``Int`` sort).
"""

from __future__ import annotations

import math
from typing import Final, Protocol, TypeVar

_N = TypeVar("_N", int, float)


class Ops(Protocol):
    """The non-arithmetic operations a numeric backend provides to the generic pipeline."""

    def log(self, x: float) -> float:
        """Natural logarithm; x > 0."""
        ...

    def log1p(self, x: float) -> float:
        """ln(1 + x) for x > -1, accurate for small x (a Z3 backend may bound it by x/(1+x) <= . <= x)."""
        ...

    def exp(self, x: float) -> float:
        """Exponential."""
        ...

    def sqrt(self, x: float) -> float:
        """Square root; x >= 0."""
        ...

    def pow(self, x: float, y: float) -> float:
        """x ** y for x > 0 and a real (possibly non-integer, possibly non-constant) exponent y."""
        ...

    def floor(self, x: float) -> int:
        """Largest integer <= x."""
        ...

    def ceil(self, x: float) -> int:
        """Smallest integer >= x."""
        ...

    def min(self, a: _N, b: _N) -> _N:
        """The smaller of a and b."""
        ...

    def max(self, a: _N, b: _N) -> _N:
        """The larger of a and b."""
        ...

    def clamp_le(self, x: _N, lo: _N, hi: _N) -> _N:
        """``min(max(x, lo), hi)``: x limited to [lo, hi]; never above hi, even when lo > hi."""
        ...

    def clamp_ge(self, x: _N, lo: _N, hi: _N) -> _N:
        """``max(min(x, hi), lo)``: x limited to [lo, hi]; never below lo, even when lo > hi."""
        ...

    def ite(self, cond: bool, a: _N, b: _N) -> _N:
        """If-then-else on a backend boolean: a where cond holds, else b."""
        ...

    def lt(self, a: float, b: float) -> bool:
        """a < b as a backend boolean."""
        ...

    def le(self, a: float, b: float) -> bool:
        """a <= b as a backend boolean."""
        ...

    def gt(self, a: float, b: float) -> bool:
        """a > b as a backend boolean."""
        ...

    def ge(self, a: float, b: float) -> bool:
        """a >= b as a backend boolean."""
        ...


class FloatOps:
    """The float backend: ``math`` functions and plain comparisons.

    ``floor``/``ceil`` raise on NaN and infinities (``math.floor`` does): the caller validates market
    inputs before quoting, and an exception is better than a quote at a garbage price.
    """

    __slots__ = ()

    def log(self, x: float) -> float:
        return math.log(x)

    log1p = staticmethod(math.log1p)

    def exp(self, x: float) -> float:
        return math.exp(x)

    def sqrt(self, x: float) -> float:
        return math.sqrt(x)

    def pow(self, x: float, y: float) -> float:
        return float(x**y)

    # The C functions themselves, not Python wrappers: a quote rounds five times (bound as static
    # methods, a call skips one Python frame each).
    floor = staticmethod(math.floor)
    ceil = staticmethod(math.ceil)

    def min(self, a: _N, b: _N) -> _N:
        return a if a <= b else b

    def max(self, a: _N, b: _N) -> _N:
        return a if a >= b else b

    # The two compositions the quote pipeline uses five times a quote, as one call each; spelled
    # exactly as min/max above (the same result for NaN too).
    def clamp_le(self, x: _N, lo: _N, hi: _N) -> _N:
        x = x if x >= lo else lo
        return x if x <= hi else hi

    def clamp_ge(self, x: _N, lo: _N, hi: _N) -> _N:
        x = x if x <= hi else hi
        return x if x >= lo else lo

    def ite(self, cond: bool, a: _N, b: _N) -> _N:
        return a if cond else b

    def lt(self, a: float, b: float) -> bool:
        return a < b

    def le(self, a: float, b: float) -> bool:
        return a <= b

    def gt(self, a: float, b: float) -> bool:
        return a > b

    def ge(self, a: float, b: float) -> bool:
        return a >= b


FLOAT_OPS: Final[Ops] = FloatOps()
