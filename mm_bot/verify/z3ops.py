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
interval arithmetic on the term; the hint only chooses breakpoints, every bound holds for all x).
``axioms(pieces)`` builds them with n = ``pieces``: every resolution is sound, so the prover decides
proofs with the coarsest and refines only to confirm a counterexample.

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

import itertools
import math
from collections.abc import Callable, Iterable
from fractions import Fraction
from typing import Any

import z3

_ULPS = 4  # outward rounding of libm values; log1p/exp are accurate to < 1 ulp
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


def _breakpoints(hint: Interval | None, pieces: int) -> list[float]:
    """``pieces`` + 1 evenly spaced points over ``hint`` (one point for a degenerate range)."""
    if hint is None:
        return []
    lo, hi = hint
    if hi <= lo:
        return [lo]
    return sorted({lo + (hi - lo) * i / pieces for i in range(pieces)} | {hi})


class Z3Ops:
    """The ``Ops`` of the quote pipeline over Z3 terms (see the module docstring)."""

    def __init__(self) -> None:
        self._fresh_reals: list[tuple[str, Any, Any, Interval | None]] = []  # (function, x, y, x's range)
        self.obligations: list[tuple[str, Any]] = []  # domain conditions, proved by well_defined
        self._memo: dict[tuple[str, int], tuple[Any, Any]] = {}  # keeps the argument term alive
        self._hints: dict[str, Interval] = {}
        self._intervals: dict[int, tuple[Any, Interval | None]] = {}  # id -> (term kept alive, range)

    # --- ranges -------------------------------------------------------------------------------
    def declare(self, var: Any, lo: float, hi: float) -> None:
        """Tell the bounds which values the input ``var`` takes (chooses breakpoints only)."""
        self._hints[var.decl().name()] = (lo, hi)

    def interval(self, e: Any) -> Interval | None:
        """An interval containing every value of term ``e`` over the declared ranges (or None)."""
        if _is_num(e):
            return (float(e), float(e))
        key = e.get_id()  # Z3 reuses the ids of freed terms: the memo holds on to the term
        if key not in self._intervals:  # terms are DAGs: memoise, or shared subterms cost 2^depth
            self._intervals[key] = (e, self._interval(e))
        return self._intervals[key][1]

    def _interval(self, e: Any) -> Interval | None:
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
        ivs = [a for a in args if a is not None]
        if not ivs or len(ivs) < len(args):
            return None
        out = _combine(kind, ivs)
        if out is None or any(math.isnan(v) for v in out):
            return None
        return out

    # --- fresh reals ----------------------------------------------------------------------------
    def _fresh(self, kind: str, x: Any, f: Callable[[float], float], domain: Any = None) -> Any:
        """The memoised fresh real standing for ``f(x)``; registers it for ``axioms`` and its
        ``domain`` condition (if any) as an obligation."""
        key = (kind, x.get_id())
        if key in self._memo:
            return self._memo[key][0]
        y = z3.Real(f"{kind}!{len(self._memo)}")
        self._memo[key] = (y, x)
        if domain is not None:
            self.obligations.append((f"{kind} argument in its domain", domain))
        hint = self.interval(x)
        if hint is not None:
            lo, hi = hint
            if kind == "log1p":
                lo = max(lo, -1.0 + 1e-12)
            elif kind == "sqrt":
                lo = max(lo, 0.0)
            elif kind == "exp":
                hi = min(hi, _EXP_MAX)
            hint = (lo, hi) if lo <= hi and math.isfinite(lo) and math.isfinite(hi) else None
        self._fresh_reals.append((kind, x, y, hint))
        if hint is not None:  # f is increasing: a range for y, for terms built on it
            self._hints[y.decl().name()] = (_out(f(hint[0]), up=False), _out(f(hint[1]), up=True))
        return y

    def _bad_constant(self, what: str) -> Any:
        """A constant outside its function's domain: an unprovable obligation and an unknown value."""
        self.obligations.append((what, z3.BoolVal(False)))
        y = z3.Real(f"undefined!{len(self.obligations)}")
        return y

    def axioms(self, pieces: int) -> list[Any]:
        """The bounds of every fresh real, with ``pieces`` chords per function (more: tighter, slower).

        Every level is sound; a proof needs the coarsest, a faithful counterexample may need finer.
        """
        facts = {"log1p": _log1p_facts, "exp": _exp_facts, "sqrt": _sqrt_facts}
        return [facts[kind](x, y, _breakpoints(hint, pieces)) for kind, x, y, hint in self._fresh_reals]

    # --- transcendental functions -------------------------------------------------------------
    def log1p(self, x: Any) -> Any:
        if _is_num(x):
            return math.log1p(x) if x > -1 else self._bad_constant(f"log1p({x}): argument must be > -1")
        return self._fresh("log1p", x, math.log1p, x > -1)

    def log(self, x: Any) -> Any:
        if _is_num(x):
            return math.log(x) if x > 0 else self._bad_constant(f"log({x}): argument must be > 0")
        return self.log1p(x - 1)

    def exp(self, x: Any) -> Any:
        if _is_num(x):
            return math.exp(x)
        return self._fresh("exp", x, math.exp)

    def sqrt(self, x: Any) -> Any:
        if _is_num(x):
            return math.sqrt(x) if x >= 0 else self._bad_constant(f"sqrt({x}): argument must be >= 0")
        return self._fresh("sqrt", x, math.sqrt, x >= 0)

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

    def clamp_le(self, x: Any, lo: Any, hi: Any) -> Any:
        return self.min(self.max(x, lo), hi)

    def clamp_ge(self, x: Any, lo: Any, hi: Any) -> Any:
        return self.max(self.min(x, hi), lo)

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


def _log1p_facts(x: Any, y: Any, points: list[float]) -> Any:
    """ln(1+x) is concave: below its tangents (valid everywhere), above its chords (per piece)."""
    facts = [y <= x]  # the tangent at 0
    if not points:
        facts.append(y * (1 + x) >= x)  # x/(1+x) <= ln(1+x); nonlinear, so only without a range
    up = {t: _out(math.log1p(t), up=True) for t in points}
    down = {t: _out(math.log1p(t), up=False) for t in points}
    for t in points:
        facts.append(y <= exact(up[t]) + exact(1 / (1 + Fraction(t))) * (x - exact(t)))
    facts += _chords(x, y, points, down, below=True)
    if points:
        facts.append(z3.Implies(x >= exact(points[-1]), y >= exact(down[points[-1]])))
        facts.append(z3.Implies(x <= exact(points[0]), y <= exact(up[points[0]])))
    return z3.Implies(x > -1, z3.And(*facts))


def _exp_facts(x: Any, y: Any, points: list[float]) -> Any:
    """e^x is convex: above its tangents (valid everywhere), below its chords (per piece)."""
    facts = [y > 0, y >= 1 + x]
    up = {t: _out(math.exp(t), up=True) for t in points}
    down = {t: _out(math.exp(t), up=False) for t in points}
    for t in points:  # e^t' (1 + x - t) with e^t' <= e^t is still below e^x (negative when 1+x-t < 0)
        facts.append(y >= exact(down[t]) * (1 + x - exact(t)))
    facts += _chords(x, y, points, up, below=False)
    if points:
        facts.append(z3.Implies(x >= exact(points[0]), y >= exact(down[points[0]])))
        facts.append(z3.Implies(x <= exact(points[-1]), y <= exact(up[points[-1]])))
    return z3.And(*facts)


def _sqrt_facts(x: Any, y: Any, points: list[float]) -> Any:
    """sqrt(x) with rational r: (r + x/r)/2 above (AM-GM), chords through (r^2, r) below. Exact."""
    facts = [y >= 0]
    roots = sorted({Fraction(math.sqrt(t)) for t in points if t >= 0})
    if not roots:
        facts.append(y * y == x)
    for r in roots:
        if r > 0:
            facts.append(y <= exact(r / 2) + exact(1 / (2 * r)) * x)
    for a, b in itertools.pairwise(roots):
        inside = z3.And(x >= exact(a * a), x <= exact(b * b))
        facts.append(z3.Implies(inside, y >= exact(a) + exact(1 / (a + b)) * (x - exact(a * a))))
    if roots:
        facts.append(z3.Implies(x >= exact(roots[-1] ** 2), y >= exact(roots[-1])))
        facts.append(z3.Implies(x <= exact(roots[0] ** 2), y <= exact(roots[0])))
    return z3.Implies(x >= 0, z3.And(*facts))


def _chords(x: Any, y: Any, points: list[float], value: dict[float, float], below: bool) -> list[Any]:
    """Per piece [a, b]: y >= (below) or <= the line through (a, value[a]) and (b, value[b])."""
    out = []
    for a, b in itertools.pairwise(points):
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
