"""``Z3Ops``: the Z3 backend of the generic quote pipeline (see ``mm_bot.strategy.numeric``).

``compute_quote`` runs unchanged on Z3 terms with this backend. Exact where Z3 is exact, sound
where it is not:

- ``+ - * /`` are Z3's exact rational arithmetic (the pipeline applies them directly).
- ``floor`` is ``ToInt`` (exact), ``ceil(x) = -ToInt(-x)`` (exact), so tick rounding is modelled
  exactly; ``min``/``max``/``ite`` are ``If``; comparisons are Z3 atoms.
- ``log1p``/``log``/``exp``/``sqrt``/``pow`` of a SYMBOLIC argument become a fresh real constrained
  only by facts that are true of the real function (below), so ``unsat`` on a negated claim proves
  the claim for the real function too. Fresh reals are memoised by the argument's (hash-consed)
  term, so two evaluations of the pipeline that share an argument share the value: relational
  claims (inventory monotonicity) see a function, not two unrelated unknowns.
- A CONSTANT argument (a Python float: the config fixes it) is evaluated with ``math``, exactly as
  the trading path (``FLOAT_OPS``) does, so the proof is about the value the bot really uses.

Bounds for a symbolic argument x, guarded by its domain (``Implies(x > -1, ...)`` for log1p), on
breakpoints t_0 < ... < t_n spread over an interval hint for x (from the declared input ranges, by
interval arithmetic on the term; the hint only chooses breakpoints, every bound holds for all x):

- log1p (concave): tangents y <= ln(1+t) + (x-t)/(1+t) at every t and y <= x; chords
  t_i <= x <= t_i+1 -> y >= the line through (t_i, ln(1+t_i)), (t_i+1, ln(1+t_i+1)); monotone ends.
- exp (convex): y > 0, y >= 1 + x, tangents y >= e^t (1 + x - t); chords from above per piece.
- sqrt (concave): with rationals r_i (r_i^2 exact): y >= 0, y <= (r + x/r)/2 (AM-GM, for every
  r > 0), chords through (r_i^2, r_i) from below, monotone ends. No rounding at all.
- log(x) = log1p(x - 1); pow(x, y) = exp(y * log(x)) (x > 0), composed from the bounds above.

Float constants in these bounds (ln(1+t), e^t) come from ``math`` and are moved ``_ULPS`` ulps
outward (libm's log1p/exp are within 1 ulp), then converted to Z3 EXACTLY (``exact``: the binary
value, not its decimal repr), so each bound is a true inequality between real numbers. Without an
interval hint only the global facts remain (tangent at 0, x/(1+x) <= log1p(x), y*y = x for sqrt).

``obligations`` collects the domain conditions (log1p argument > -1, sqrt argument >= 0, and via
``division_obligations`` every symbolic denominator != 0) for the ``well_defined`` property.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from fractions import Fraction
from typing import Any

import z3

_ULPS = 4  # outward rounding of libm values; log1p/exp are accurate to < 1 ulp
_PIECES = 8  # chords/tangents per symbolic transcendental
_EXP_MAX = 700.0  # math.exp overflows near 709.8

Interval = tuple[float, float]


def exact(v: float | Fraction) -> Any:
    """The exact rational value of a float (or Fraction) as a Z3 numeral."""
    f = Fraction(v)
    return z3.RealVal(f"{f.numerator}/{f.denominator}")


def _out(v: float, up: bool) -> float:
    """``v`` moved ``_ULPS`` ulps up (``up``) or down."""
    target = math.inf if up else -math.inf
    for _ in range(_ULPS):
        v = math.nextafter(v, target)
    return v


def _is_num(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def to_python(v: Any) -> int | float | bool:
    """A Z3 value from a model (int, rational, algebraic, bool) as a Python number."""
    if z3.is_true(v) or z3.is_false(v):
        return bool(z3.is_true(v))
    if z3.is_int_value(v):
        return int(v.as_long())
    if z3.is_rational_value(v):
        return float(Fraction(v.numerator_as_long(), v.denominator_as_long()))
    if z3.is_algebraic_value(v):
        return to_python(v.approx(30))
    raise TypeError(f"not a Z3 value: {v}")


def _breakpoints(lo: float, hi: float) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) and lo == hi else []
    return sorted({lo + (hi - lo) * i / _PIECES for i in range(_PIECES)} | {hi})


class Z3Ops:
    """The ``Ops`` of the quote pipeline over Z3 terms (see the module docstring)."""

    def __init__(self) -> None:
        self.axioms: list[Any] = []  # true facts about the fresh reals
        self.obligations: list[tuple[str, Any]] = []  # domain conditions, proved by well_defined
        self._memo: dict[tuple[str, int], tuple[Any, Any]] = {}  # keeps the argument term alive
        self._hints: dict[str, Interval] = {}

    # --- ranges -------------------------------------------------------------------------------
    def declare(self, var: Any, lo: float, hi: float) -> None:
        """Tell the bounds which values the input ``var`` takes (chooses breakpoints only)."""
        self._hints[var.decl().name()] = (lo, hi)

    def interval(self, e: Any) -> Interval | None:
        """An interval containing every value of term ``e`` over the declared ranges (or None)."""
        if _is_num(e):
            return (float(e), float(e))
        if z3.is_int_value(e) or z3.is_rational_value(e):
            v = to_python(e)
            return (float(v), float(v))
        if z3.is_const(e):
            return self._hints.get(e.decl().name())
        kind = e.decl().kind()
        if kind == z3.Z3_OP_ITE:
            a, b = self.interval(e.arg(1)), self.interval(e.arg(2))
            return None if a is None or b is None else (min(a[0], b[0]), max(a[1], b[1]))
        args = [self.interval(c) for c in e.children()]
        if any(a is None for a in args) or not args:
            return None
        ivs: list[Interval] = [a for a in args if a is not None]
        out = _combine(kind, ivs)
        if out is None or any(math.isnan(v) for v in out):
            return None
        return out

    # --- fresh reals ----------------------------------------------------------------------------
    def _fresh(self, name: str, x: Any) -> tuple[Any, bool]:
        key = (name, x.get_id())
        if key in self._memo:
            return self._memo[key][0], False
        y = z3.Real(f"{name}!{len(self._memo)}")
        self._memo[key] = (y, x)
        return y, True

    def _bad_constant(self, what: str) -> Any:
        """A constant outside its function's domain: an unprovable obligation and an unknown value."""
        self.obligations.append((what, z3.BoolVal(False)))
        y = z3.Real(f"undefined!{len(self.obligations)}")
        return y

    # --- transcendental functions -------------------------------------------------------------
    def log1p(self, x: Any) -> Any:
        if _is_num(x):
            return math.log1p(x) if x > -1 else self._bad_constant(f"log1p({x}): argument must be > -1")
        y, new = self._fresh("log1p", x)
        if not new:
            return y
        domain = x > -1
        self.obligations.append(("log1p argument > -1", domain))
        facts = [y <= x]  # tangent at 0
        hint = self.interval(x)
        points = [t for t in _breakpoints(*hint) if t > -1] if hint else []
        if not points:
            facts.append(y * (1 + x) >= x)  # x/(1+x) <= ln(1+x), nonlinear: only without a hint
        up = {t: _out(math.log1p(t), up=True) for t in points}
        down = {t: _out(math.log1p(t), up=False) for t in points}
        for t in points:
            facts.append(y <= exact(up[t]) + exact(1 / (1 + Fraction(t))) * (x - exact(t)))
        facts += _chords(x, y, points, down, below=True)
        if points:
            facts += [z3.Implies(x >= exact(points[-1]), y >= exact(down[points[-1]]))]
            facts += [z3.Implies(x <= exact(points[0]), y <= exact(up[points[0]]))]
            self._hints[y.decl().name()] = (down[points[0]], up[points[-1]])
        self.axioms.append(z3.Implies(domain, z3.And(*facts)))
        return y

    def log(self, x: Any) -> Any:
        if _is_num(x):
            return math.log(x) if x > 0 else self._bad_constant(f"log({x}): argument must be > 0")
        return self.log1p(x - 1)

    def exp(self, x: Any) -> Any:
        if _is_num(x):
            return math.exp(x)
        y, new = self._fresh("exp", x)
        if not new:
            return y
        facts = [y > 0, y >= 1 + x]
        hint = self.interval(x)
        points = [t for t in _breakpoints(*hint) if t <= _EXP_MAX] if hint else []
        up = {t: _out(math.exp(t), up=True) for t in points}
        down = {t: _out(math.exp(t), up=False) for t in points}
        for t in points:
            facts.append(y >= exact(down[t]) * (1 + x - exact(t)))
        facts += _chords(x, y, points, up, below=False)
        if points:
            facts += [z3.Implies(x >= exact(points[0]), y >= exact(down[points[0]]))]
            facts += [z3.Implies(x <= exact(points[-1]), y <= exact(up[points[-1]]))]
            self._hints[y.decl().name()] = (down[points[0]], up[points[-1]])
        self.axioms.append(z3.And(*facts))
        return y

    def sqrt(self, x: Any) -> Any:
        if _is_num(x):
            return math.sqrt(x) if x >= 0 else self._bad_constant(f"sqrt({x}): argument must be >= 0")
        y, new = self._fresh("sqrt", x)
        if not new:
            return y
        domain = x >= 0
        self.obligations.append(("sqrt argument >= 0", domain))
        facts = [y >= 0]
        hint = self.interval(x)
        roots = sorted({Fraction(math.sqrt(t)) for t in _breakpoints(*hint) if t >= 0}) if hint else []
        if not roots:
            facts.append(y * y == x)
        for r in roots:
            if r > 0:  # (r + x/r)/2 >= sqrt(x) for every r > 0 (AM-GM): an exact tangent
                facts.append(y <= exact(r / 2) + exact(1 / (2 * r)) * x)
        for a, b in zip(roots, roots[1:], strict=False):  # chord through (a^2, a) and (b^2, b)
            inside = z3.And(x >= exact(a * a), x <= exact(b * b))
            facts.append(z3.Implies(inside, y >= exact(a) + exact(1 / (a + b)) * (x - exact(a * a))))
        for r in roots:
            facts += [z3.Implies(x >= exact(r * r), y >= exact(r)), z3.Implies(x <= exact(r * r), y <= exact(r))]
        if roots:
            self._hints[y.decl().name()] = (float(roots[0]), float(roots[-1]))
        self.axioms.append(z3.Implies(domain, z3.And(*facts)))
        return y

    def pow(self, x: Any, y: Any) -> Any:
        if _is_num(x) and _is_num(y):
            return float(x**y)
        return self.exp(y * self.log(x))

    # --- exact operations -----------------------------------------------------------------------
    def floor(self, x: Any) -> Any:
        if _is_num(x):
            return math.floor(x)
        return x if x.is_int() else z3.ToInt(x)

    def ceil(self, x: Any) -> Any:
        if _is_num(x):
            return math.ceil(x)
        return x if x.is_int() else -z3.ToInt(-x)

    def min(self, a: Any, b: Any) -> Any:
        if _is_num(a) and _is_num(b):
            return a if a <= b else b
        return z3.If(a <= b, a, b)

    def max(self, a: Any, b: Any) -> Any:
        if _is_num(a) and _is_num(b):
            return a if a >= b else b
        return z3.If(a >= b, a, b)

    def ite(self, cond: Any, a: Any, b: Any) -> Any:
        if isinstance(cond, bool):
            return a if cond else b
        return z3.If(cond, a, b)

    def lt(self, a: Any, b: Any) -> Any:
        return a < b

    def le(self, a: Any, b: Any) -> Any:
        return a <= b

    def gt(self, a: Any, b: Any) -> Any:
        return a > b

    def ge(self, a: Any, b: Any) -> Any:
        return a >= b


def _chords(x: Any, y: Any, points: list[float], value: dict[float, float], below: bool) -> list[Any]:
    """Per piece [a, b]: y >= (below) or <= the line through (a, value[a]) and (b, value[b])."""
    out = []
    for a, b in zip(points, points[1:], strict=False):
        slope = (Fraction(value[b]) - Fraction(value[a])) / (Fraction(b) - Fraction(a))
        line = exact(value[a]) + exact(slope) * (x - exact(a))
        inside = z3.And(x >= exact(a), x <= exact(b))
        out.append(z3.Implies(inside, y >= line if below else y <= line))
    return out


def _mul(a: Interval, b: Interval) -> Interval:
    products = [p * q for p in a for q in b]
    return (min(products), max(products))


def _combine(kind: int, ivs: list[Interval]) -> Interval | None:
    """Interval arithmetic for one Z3 operator (float rounding is harmless: hints only)."""
    ops: dict[int, Callable[[list[Interval]], Interval | None]] = {
        z3.Z3_OP_ADD: lambda v: (sum(a for a, _ in v), sum(b for _, b in v)),
        z3.Z3_OP_SUB: lambda v: (v[0][0] - sum(b for _, b in v[1:]), v[0][1] - sum(a for a, _ in v[1:])),
        z3.Z3_OP_UMINUS: lambda v: (-v[0][1], -v[0][0]),
        z3.Z3_OP_TO_REAL: lambda v: v[0],
        z3.Z3_OP_TO_INT: lambda v: (math.floor(v[0][0]), math.floor(v[0][1])),
    }
    if kind in ops:
        return ops[kind](ivs)
    if kind == z3.Z3_OP_MUL:
        out = ivs[0]
        for iv in ivs[1:]:
            out = _mul(out, iv)
        return out
    if kind == z3.Z3_OP_DIV and len(ivs) == 2:
        lo, hi = ivs[1]
        if lo <= 0.0 <= hi:
            return None
        return _mul(ivs[0], (1.0 / hi, 1.0 / lo))
    return None


def division_obligations(terms: Iterable[Any]) -> list[tuple[str, Any]]:
    """``denominator != 0`` for every division by a non-constant inside ``terms``."""
    out: list[tuple[str, Any]] = []
    seen: set[int] = set()
    stack = [t for t in terms if z3.is_expr(t)]
    while stack:
        e = stack.pop()
        if e.get_id() in seen:
            continue
        seen.add(e.get_id())
        if z3.is_app_of(e, z3.Z3_OP_DIV) or z3.is_app_of(e, z3.Z3_OP_IDIV):
            den = e.arg(1)
            if not (z3.is_rational_value(den) or z3.is_int_value(den)):
                out.append((f"denominator {den} != 0", den != 0))
        stack.extend(e.children())
    return out
