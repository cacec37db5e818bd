"""Queue models: where our resting order stands in its price level's queue, and when trades reach it.

Recorded L2 data says how much rests at a price, never in what order, so the replay estimates the
quantity ahead of each of our orders (``QueuePosition.ahead``, in lots). Both models here are
hftbacktest's (``hftbacktest/src/backtest/models/queue.rs``, github.com/nkaz001/hftbacktest, commit
5f3ec40b, December 2025), with the same formulas, so fills can be compared with it:

- ``Conservative`` is its ``RiskAdverseQueueModel``: an order arrives behind everything resting at
  its price; a trade at its price takes the quantity ahead first (``ahead -= qty``); a decrease of the
  level never moves it forward, except that what is ahead can never exceed the level
  (``ahead = min(ahead, new)``): a cancellation is assumed to come from behind us.
- ``Probabilistic`` is its ``ProbQueueModel``: a decrease of the level that trades do not explain
  (``chg = prev - new - traded since the last change``) is split between the front and the back of
  the queue, the back's share being ``p = prob(front, back)``:
  ``ahead = min(ahead - (1 - p) * chg + min(back - p * chg, 0), new)``. The probability functions
  are hftbacktest's: ``power(n)`` is ``PowerProbQueueFunc`` (``b^n / (b^n + f^n)``), ``power2(n)``
  and ``power3(n)`` its ``PowerProbQueueFunc2``/``3``, ``log()`` and ``log2()`` its
  ``LogProbQueueFunc``/``2`` (``ln(1+b) / (ln(1+b) + ln(1+f))`` and ``ln(1+b) / ln(1+b+f)``).
  One deviation: where hftbacktest's estimate goes below zero (a cancellation "ahead of the front"),
  ours stops at zero. Below zero, hftbacktest fills the excess at the next trade at our price on top
  of that trade's own size; here a cancellation can bring us to the front, never fill us, and a trade
  fills us at most by its size.

A trade at our price fills us by what it takes beyond the quantity ahead: ``filled`` returns
``round(-ahead)`` lots once ``ahead`` is negative, and resets ``ahead`` to 0 (we are at the front
now); the caller caps it at the order's remaining quantity (a partial fill) as hftbacktest's
``PartialFillExchange`` does. Quantities are lots; ``ahead`` is a float (the probabilistic estimate
is fractional). Pure, deterministic: no randomness, no IO.
"""

from __future__ import annotations

import math
from typing import Protocol

__all__ = [
    "Conservative",
    "Probabilistic",
    "Probability",
    "QueueModel",
    "QueuePosition",
    "log",
    "log2",
    "power",
    "power2",
    "power3",
    "queue_model",
]


class QueuePosition:
    """One resting order's place: ``ahead`` lots in front of it; ``traded`` lots traded at its price
    since the level last changed (the probabilistic model subtracts them from the next decrease)."""

    __slots__ = ("ahead", "traded")

    def __init__(self, ahead: float) -> None:
        self.ahead = ahead
        self.traded = 0.0

    def __repr__(self) -> str:
        return f"QueuePosition(ahead={self.ahead}, traded={self.traded})"


class QueueModel(Protocol):
    name: str

    def on_trade(self, pos: QueuePosition, qty_lots: int) -> None:
        """A trade of ``qty_lots`` at the order's price."""

    def on_depth(self, pos: QueuePosition, prev_lots: int, new_lots: int) -> None:
        """The level at the order's price went from ``prev_lots`` to ``new_lots`` (recorded depth)."""


def arrive(level_lots: int) -> QueuePosition:
    """A new order joins the back of its level: everything resting there is ahead of it."""
    return QueuePosition(float(level_lots))


def filled(pos: QueuePosition) -> int:
    """Lots of the order that trades have reached (0 if none); the order is then at the front."""
    lots = math.floor(-pos.ahead + 0.5)  # hftbacktest rounds half away from zero; -ahead > 0 here
    if lots > 0:
        pos.ahead = 0.0
        return lots
    return 0


class Conservative:
    """hftbacktest's ``RiskAdverseQueueModel``: only trades move us forward."""

    __slots__ = ()
    name = "conservative"

    def on_trade(self, pos: QueuePosition, qty_lots: int) -> None:
        pos.ahead -= qty_lots

    def on_depth(self, pos: QueuePosition, prev_lots: int, new_lots: int) -> None:
        if new_lots < pos.ahead:
            pos.ahead = float(new_lots)


class Probability(Protocol):
    def __call__(self, front: float, back: float) -> float:
        """The probability that a decrease of the level came from behind the order."""


class _Power:
    __slots__ = ("n",)

    def __init__(self, n: float) -> None:
        if not (math.isfinite(n) and n > 0):
            raise ValueError(f"the power must be a positive number, got {n!r}")
        self.n = n


class _PowerRatio(_Power):
    def __call__(self, front: float, back: float) -> float:
        b = math.pow(back, self.n)
        return b / (b + math.pow(front, self.n))


class _PowerOfTotal(_Power):
    def __call__(self, front: float, back: float) -> float:
        return math.pow(back, self.n) / math.pow(back + front, self.n)


class _PowerOfShare(_Power):
    def __call__(self, front: float, back: float) -> float:
        return 1.0 - math.pow(front / (front + back), self.n)


class _LogRatio:
    __slots__ = ()

    def __call__(self, front: float, back: float) -> float:
        b = math.log1p(back)
        return b / (b + math.log1p(front))


class _LogOfTotal:
    __slots__ = ()

    def __call__(self, front: float, back: float) -> float:
        return math.log1p(back) / math.log1p(back + front)


def power(n: float) -> Probability:
    """``f(back) / (f(back) + f(front))`` with ``f(x) = x ** n`` (hftbacktest's ``PowerProbQueueFunc``)."""
    return _PowerRatio(n)


def power2(n: float) -> Probability:
    """``f(back) / f(back + front)`` with ``f(x) = x ** n`` (``PowerProbQueueFunc2``)."""
    return _PowerOfTotal(n)


def power3(n: float) -> Probability:
    """``1 - f(front / (front + back))`` with ``f(x) = x ** n`` (``PowerProbQueueFunc3``)."""
    return _PowerOfShare(n)


def log() -> Probability:
    """``f(back) / (f(back) + f(front))`` with ``f(x) = ln(1 + x)`` (``LogProbQueueFunc``)."""
    return _LogRatio()


def log2() -> Probability:
    """``f(back) / f(back + front)`` with ``f(x) = ln(1 + x)`` (``LogProbQueueFunc2``)."""
    return _LogOfTotal()


class Probabilistic:
    """hftbacktest's ``ProbQueueModel``: decreases not explained by trades move us forward by the
    front's share ``1 - prob(front, back)`` (stopping at the front; see the module docstring)."""

    __slots__ = ("name", "prob")

    def __init__(self, prob: Probability, name: str = "probabilistic") -> None:
        self.prob = prob
        self.name = name

    def on_trade(self, pos: QueuePosition, qty_lots: int) -> None:
        pos.ahead -= qty_lots
        pos.traded += qty_lots

    def on_depth(self, pos: QueuePosition, prev_lots: int, new_lots: int) -> None:
        chg = prev_lots - new_lots - pos.traded  # what trades already took is not counted twice
        pos.traded = 0.0
        front = pos.ahead
        if chg <= 0:  # an increase (or a decrease the trades explain): joiners queue behind us
            if new_lots < front:
                pos.ahead = float(new_lots)
            return
        back = prev_lots - front
        p = self.prob(front, back)
        if math.isinf(p):
            p = 1.0
        estimate = front - (1.0 - p) * chg + min(back - p * chg, 0.0)
        pos.ahead = max(0.0, min(estimate, float(new_lots)))


_PROBABILITIES = {"power": power, "power2": power2, "power3": power3}


def queue_model(spec: str) -> QueueModel:
    """A model by name: ``conservative``; ``probabilistic`` (``power:2``, the power most of
    hftbacktest's examples use); ``power:N``, ``power2:N``, ``power3:N``, ``log``, ``log2``."""
    name, _, arg = spec.partition(":")
    if spec == "conservative":
        return Conservative()
    if spec == "probabilistic":
        return Probabilistic(power(2.0), "probabilistic")
    if name in ("log", "log2") and not arg:
        return Probabilistic(log() if name == "log" else log2(), name)
    if name in _PROBABILITIES and arg:
        try:
            n = float(arg)
        except ValueError:
            n = math.nan
        if math.isfinite(n) and n > 0:
            return Probabilistic(_PROBABILITIES[name](n), spec)
    raise ValueError(
        f"unknown queue model {spec!r}: conservative, probabilistic, power:N, power2:N, power3:N, log, log2"
    )
