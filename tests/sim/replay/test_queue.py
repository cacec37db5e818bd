"""The queue models' formulas against values worked out by hand (hftbacktest's queue.rs)."""

from __future__ import annotations

import math

import pytest

from sim.replay import (
    Conservative,
    Probabilistic,
    QueuePosition,
    log,
    log2,
    power,
    power2,
    power3,
    queue_model,
)
from sim.replay.queue import arrive, filled


def test_probability_functions() -> None:
    """front 1, back 3: power(2) 9/10; power2(2) 9/16; power3(2) 1 - 1/16; log ln4/(ln4+ln2); log2 ln4/ln5."""
    assert power(2)(1.0, 3.0) == pytest.approx(0.9)
    assert power2(2)(1.0, 3.0) == pytest.approx(9 / 16)
    assert power3(2)(1.0, 3.0) == pytest.approx(15 / 16)
    assert log()(1.0, 3.0) == pytest.approx(math.log(4) / (math.log(4) + math.log(2)))
    assert log2()(1.0, 3.0) == pytest.approx(math.log(4) / math.log(5))


def test_probabilistic_depth_update_is_hftbacktests_formula() -> None:
    """front 6, back 4, 5 lots leave: p = 16/52, front' = 6 - (1-p)*5 + min(4 - 5p, 0) = 2.5385."""
    pos = QueuePosition(6.0)
    Probabilistic(power(2)).on_depth(pos, 10, 5)
    p = 16 / 52
    assert pos.ahead == pytest.approx(6 - (1 - p) * 5 + min(4 - p * 5, 0.0))


def test_probabilistic_never_goes_past_the_front() -> None:
    """log with 1 ahead and 100 behind, 50 leave: hftbacktest's estimate is below zero; ours stops at 0."""
    pos = QueuePosition(1.0)
    Probabilistic(log()).on_depth(pos, 101, 51)
    assert pos.ahead == 0.0


def test_an_increase_never_moves_anyone_forward() -> None:
    """Joiners queue behind us in both models; what is ahead never exceeds the level."""
    for model in (Conservative(), Probabilistic(power(3))):
        pos = QueuePosition(4.0)
        model.on_depth(pos, 4, 9)
        assert pos.ahead == 4.0
        model.on_depth(pos, 9, 2)
        assert pos.ahead <= 2.0


def test_trades_take_the_front_and_the_excess_fills() -> None:
    """5 ahead, trades of 3 and 4: nothing, then 2 lots filled and we are at the front."""
    pos = arrive(5)
    model = Conservative()
    model.on_trade(pos, 3)
    assert filled(pos) == 0
    model.on_trade(pos, 4)
    assert filled(pos) == 2 and pos.ahead == 0.0


def test_queue_models_by_name() -> None:
    """The names a caller can give, and a refusal that lists them."""
    assert queue_model("conservative").name == "conservative"
    assert queue_model("probabilistic").name == "probabilistic"
    assert queue_model("power3:2.5").name == "power3:2.5"
    assert queue_model("log2").name == "log2"
    for bad in ("power", "power:-1", "log:2", "fifo"):
        with pytest.raises(ValueError, match="conservative, probabilistic"):
            queue_model(bad)
