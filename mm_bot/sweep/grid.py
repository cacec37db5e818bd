"""The points of a sweep: ``--grid`` parsed into axes, then every combination or ``--samples`` random
draws (pure: no IO, no clock).

A spec is ``PATH=VALUES`` parts separated by ``;``. PATH is a dotted config path
(``markets.0.strategy.gamma``: keys, and list indices as numbers). VALUES is either a list,
``0.0005,0.001,0.002`` (each value as YAML would read it: numbers, ``true``, ``as``), or a range for
``--samples``: ``log:0.0001..0.01`` (log-uniform), ``lin:0.5..2`` or ``0.5..2`` (uniform),
``int:1..5`` (uniform integers, both ends included).

Without samples the points are the cartesian product of the lists, the first axis varying slowest,
numbered ``p000``, ``p001``, ... in that order. With ``samples(axes, n, seed)`` each point draws every
axis in order from ``random.Random(seed)`` (a list: one of its values; a range: a float rounded to
6 significant digits); a point equal to an earlier one is dropped, so there can be fewer than ``n``.
The same spec and seed give the same points, in the same order, on any machine.

A value is carried as the YAML text the config loader reads (``load_config(sets=...)``): a number
Python reads as a float is rewritten so YAML reads it as one too (``1e-4`` -> ``0.0001``,
``1e-05`` -> ``1.0e-05``), since YAML 1.1 takes ``1e-05`` for a string.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "MAX_POINTS",
    "Axis",
    "GridError",
    "Point",
    "grid_points",
    "parse_grid",
    "sample_points",
    "short_names",
    "yaml_text",
]

MAX_POINTS = 100_000  # a grid larger than this is a typo, not a sweep
Scale = Literal["lin", "log", "int"]
_PATH = re.compile(r"^[^\s.=;,]+(\.[^\s.=;,]+)*$")
_RANGE = re.compile(r"^(?:(lin|log|int):)?([^.]+(?:\.[^.]+)?)\.\.(.+)$")
_SIGNIFICANT = 6


class GridError(ValueError):
    """A ``--grid`` / ``--samples`` spec that cannot be read; the message names the part."""


@dataclass(frozen=True, slots=True)
class Axis:
    """One config path and its list of values (YAML text), or its range (``scale``, ``low``, ``high``)."""

    path: str
    values: tuple[str, ...] = ()
    scale: Scale | None = None
    low: float = 0.0
    high: float = 0.0

    @property
    def name(self) -> str:
        """The path's last key (``gamma``), for tables."""
        return self.path.rsplit(".", 1)[-1]


@dataclass(frozen=True, slots=True)
class Point:
    """``sets``: (config path, YAML text) for each axis, in axis order."""

    id: str
    sets: tuple[tuple[str, str], ...]

    def value(self, path: str) -> str:
        return dict(self.sets)[path]

    def label(self) -> str:
        return " ".join(f"{path.rsplit('.', 1)[-1]}={text}" for path, text in self.sets)


def short_names(axes: Sequence[Axis]) -> list[str]:
    """Each axis by its last key (``gamma``), or by its whole path where two axes share that key."""
    last = [a.name for a in axes]
    return [a.name if last.count(a.name) == 1 else a.path for a in axes]


def parse_grid(spec: str) -> tuple[Axis, ...]:
    """The axes of ``spec`` (see the module docstring), in the order given."""
    axes: list[Axis] = []
    for part in (p.strip() for p in spec.split(";")):
        if not part:
            continue
        path, eq, values = (s.strip() for s in part.partition("="))
        if not eq or not values:
            raise GridError(f"{part!r}: expected PATH=VALUES, e.g. markets.0.strategy.gamma=0.001,0.002")
        if not _PATH.match(path):
            raise GridError(f"{path!r}: not a dotted config path such as markets.0.strategy.gamma")
        if any(a.path == path for a in axes):
            raise GridError(f"{path}: given twice")
        axes.append(_axis(path, values))
    if not axes:
        raise GridError("no PATH=VALUES given")
    return tuple(axes)


def _axis(path: str, values: str) -> Axis:
    ranged = _RANGE.match(values) if "," not in values else None
    if ranged is None:
        texts = tuple(yaml_text(v.strip()) for v in values.split(","))
        if any(not t for t in texts):
            raise GridError(f"{path}: an empty value in {values!r}")
        if len(set(texts)) != len(texts):
            raise GridError(f"{path}: a value is listed twice in {values!r}")
        return Axis(path, texts)
    scale: Scale = "lin"
    if ranged.group(1) in ("log", "int"):
        scale = "log" if ranged.group(1) == "log" else "int"
    low, high = (_number(path, ranged.group(i)) for i in (2, 3))
    if not low < high:
        raise GridError(f"{path}: the range {values!r} must go from low to high")
    if scale == "log" and low <= 0:
        raise GridError(f"{path}: a log range must be positive, got {values!r}")
    if scale == "int" and not (low.is_integer() and high.is_integer()):
        raise GridError(f"{path}: an int range needs whole numbers, got {values!r}")
    return Axis(path, scale=scale, low=low, high=high)


def _number(path: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise GridError(f"{path}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise GridError(f"{path}: {text!r} is not a finite number")
    return value


def yaml_text(text: str) -> str:
    """``text`` as the YAML the loader reads: a float Python reads (not an int) in a form YAML 1.1
    also reads as a float; anything else unchanged."""
    if re.fullmatch(r"[-+]?\d+", text):
        return text
    try:
        value = float(text)
    except ValueError:
        return text
    if not math.isfinite(value):
        return text  # inf, nan: YAML reads these words as strings, and so does the config
    return _float_text(value)


def _float_text(value: float) -> str:
    text = repr(value)
    mantissa, e, exponent = text.partition("e")
    if e and "." not in mantissa:
        text = f"{mantissa}.0e{exponent}"
    return text


def grid_points(axes: Sequence[Axis]) -> list[Point]:
    """Every combination of the axes' values, the first axis varying slowest."""
    ranged = [a.path for a in axes if a.scale is not None]
    if ranged:
        raise GridError(f"{ranged[0]}: a range needs --samples N (or list the values: a,b,c)")
    count = math.prod(len(a.values) for a in axes)
    if count > MAX_POINTS:
        raise GridError(f"{count} points: more than {MAX_POINTS}; use --samples N")
    combos = itertools.product(*(a.values for a in axes))
    return _numbered([tuple(zip((a.path for a in axes), combo, strict=True)) for combo in combos])


def sample_points(axes: Sequence[Axis], n: int, seed: int) -> list[Point]:
    """``n`` random draws (duplicates dropped), see the module docstring."""
    if not 0 < n <= MAX_POINTS:
        raise GridError(f"--samples must be in 1..{MAX_POINTS}, got {n}")
    rng = random.Random(seed)
    drawn: dict[tuple[tuple[str, str], ...], None] = {}
    for _ in range(n):
        drawn.setdefault(tuple((a.path, _draw(a, rng)) for a in axes), None)
    return _numbered(list(drawn))


def _draw(axis: Axis, rng: random.Random) -> str:
    if axis.scale is None:
        return rng.choice(axis.values)
    if axis.scale == "int":
        return str(rng.randint(int(axis.low), int(axis.high)))
    if axis.scale == "log":
        value = math.exp(rng.uniform(math.log(axis.low), math.log(axis.high)))
    else:
        value = rng.uniform(axis.low, axis.high)
    return _float_text(float(f"{value:.{_SIGNIFICANT}g}"))


def _numbered(combos: list[tuple[tuple[str, str], ...]]) -> list[Point]:
    width = max(3, len(str(len(combos) - 1)))
    return [Point(f"p{i:0{width}d}", combo) for i, combo in enumerate(combos)]
