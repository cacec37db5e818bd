"""Tests for the Avellaneda & Stoikov (2008) section 4 study: exact properties of its setup,
determinism, the paper's qualitative result and the CLI's JSON shape."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mm_bot.cli import main
from sim.studies.as2008 import StudyParams, format_table, run_study

STATS_KEYS = {"spread", "profit_mean", "profit_std", "q_mean", "q_std"}


def _paper_average_spread(gamma: float) -> float:
    """gamma*sigma^2*mean(T - t_i) + (2/gamma)*ln(1 + gamma/k) over t_i = 0, 0.005, ..., 0.995.

    mean(T - t_i) = 1 - 0.005*199/2 = 0.5025 by hand."""
    return gamma * 2.0**2 * 0.5025 + (2.0 / gamma) * math.log(1.0 + gamma / 1.5)


def test_inventory_average_spread_is_exact_time_average() -> None:
    """The reported spread is the exact time average of the A-S spread over the 200 steps."""
    for gamma in (0.01, 0.1, 0.5):
        result = run_study(StudyParams(gamma=gamma, paths=1))
        assert result.params.steps == 200
        assert result.inventory.spread == pytest.approx(_paper_average_spread(gamma), rel=1e-12)
        assert result.symmetric.spread == pytest.approx(result.inventory.spread, rel=1e-12)


def test_symmetric_expected_profit_is_steps_times_fill_probability_times_spread() -> None:
    """E[profit] = steps*2*p*delta with delta = spread/2, p = A*exp(-k*delta)*dt, within 4 standard errors.

    The q*dS terms have zero mean (the walk is symmetric and independent of the inventory carried over
    it). 4 SE is ~0.25 on ~68, so a factor 2 in the spread (E ~44) or using the full spread in p
    (E ~22) fails, as does a wrong step count."""
    gamma, paths = 0.1, 50_000
    result = run_study(StudyParams(gamma=gamma, paths=paths, seed=5))
    spread = _paper_average_spread(gamma)
    p = 140.0 * math.exp(-1.5 * spread / 2) * 0.005
    expected = 200 * p * spread
    se = result.symmetric.profit_std / math.sqrt(paths)
    assert abs(result.symmetric.profit_mean - expected) < 4 * se
    assert 4 * se < 0.01 * expected  # the bound is tight enough to mean something
    # Inventory is a sum of 400 independent +-1/0 fills, each side with probability p: Var = 400*p*(1-p).
    assert result.symmetric.q_std == pytest.approx(math.sqrt(400 * p * (1 - p)), rel=0.02)
    assert abs(result.symmetric.q_mean) < 4 * result.symmetric.q_std / math.sqrt(paths)


def test_strategies_are_paired_on_common_random_numbers() -> None:
    """With gamma -> 0 the inventory strategy is the symmetric one (spread 2/k, no skew); on the same
    mid path and uniforms the two then give the same terminal profits and inventories."""
    result = run_study(StudyParams(gamma=1e-9, paths=2000, seed=3))
    inv, sym = result.inventory, result.symmetric
    assert inv.spread == pytest.approx(2 / 1.5, rel=1e-6)
    assert inv.profit_mean == pytest.approx(sym.profit_mean, rel=1e-6)
    assert inv.profit_std == pytest.approx(sym.profit_std, rel=1e-6)
    assert inv.q_mean == sym.q_mean
    assert inv.q_std == sym.q_std


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_inventory_strategy_has_lower_profit_dispersion(seed: int) -> None:
    """The paper's qualitative result at gamma = 0.1: the inventory strategy's profit and final
    inventory are far less dispersed than the symmetric strategy's (observed ratio ~0.5)."""
    result = run_study(StudyParams(gamma=0.1, paths=1000, seed=seed))
    assert result.inventory.profit_std < 0.75 * result.symmetric.profit_std
    assert result.inventory.q_std < 0.5 * result.symmetric.q_std


def test_same_seed_same_result_other_seed_differs() -> None:
    """The study is a function of (params, seed)."""
    a = run_study(StudyParams(gamma=0.1, paths=200, seed=7)).to_json()
    b = run_study(StudyParams(gamma=0.1, paths=200, seed=7)).to_json()
    c = run_study(StudyParams(gamma=0.1, paths=200, seed=8)).to_json()
    assert json.dumps(a) == json.dumps(b)
    assert json.dumps(a) != json.dumps(c)


def test_cli_json_has_exactly_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    """`mm-bot study as2008 --json` prints one object with the documented keys, deterministically."""
    argv = ["study", "as2008", "--gamma", "0.1", "--paths", "300", "--seed", "4", "--json"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert main(argv) == 0
    assert capsys.readouterr().out == first
    obj = json.loads(first)
    assert set(obj) == {"gamma", "paths", "seed", "inventory", "symmetric"}
    assert (obj["gamma"], obj["paths"], obj["seed"]) == (0.1, 300, 4)
    for name in ("inventory", "symmetric"):
        assert set(obj[name]) == STATS_KEYS
        assert all(isinstance(v, float) and math.isfinite(v) for v in obj[name].values())


def test_cli_table(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --json the CLI prints a table with one row per strategy."""
    assert main(["study", "as2008", "--gamma", "0.5", "--paths", "100"]) == 0
    out = capsys.readouterr().out
    assert out == format_table(run_study(StudyParams(gamma=0.5, paths=100, seed=0))) + "\n"
    rows = [line.split() for line in out.splitlines() if line.startswith(("inventory ", "symmetric "))]
    assert [r[0] for r in rows] == ["inventory", "symmetric"]
    assert all(len(r) == 6 for r in rows)


def test_fill_probability_is_clipped_and_clipping_is_reported() -> None:
    """p = A*exp(-k*delta)*dt is capped at 1 (a quote far through the mid); gamma = 0.5 hits the cap."""
    params = StudyParams(gamma=0.5)
    probs = params.fill_probability(np.array([-1.0, 0.0, 1.0]))
    np.testing.assert_allclose(probs, [1.0, 0.7, 0.7 * math.exp(-1.5)])
    result = run_study(StudyParams(gamma=0.5, paths=200))
    assert 0.0 < result.inventory.clipped_fraction < 0.05
    assert result.symmetric.clipped_fraction == 0.0
    assert "clipped at 1" in format_table(result)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"gamma": 0.0}, "gamma must be a positive"),
        ({"gamma": 0.1, "paths": 0}, "paths must be >= 1"),
        ({"gamma": 0.1, "seed": -1}, "seed must be"),
        ({"gamma": 0.1, "dt": 0.003}, "whole number of steps"),
        ({"gamma": 0.1, "sigma": -2.0}, "sigma must be >= 0"),
    ],
)
def test_invalid_params_raise(kwargs: dict[str, float], match: str) -> None:
    """Bad study parameters raise ValueError naming the field."""
    with pytest.raises(ValueError, match=match):
        StudyParams(**kwargs)  # type: ignore[arg-type]
