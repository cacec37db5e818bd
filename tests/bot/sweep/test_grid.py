"""The sweep's points without Ray: ``--grid`` and ``--samples`` parsed into the same points every
time, each point validated as a config (a bad path or value comes back as its YAML path) and proved
by ``verify`` (a failing point is refused with its counterexample), and the ranking."""

from __future__ import annotations

import math

import pytest

from mm_bot.sweep.grid import GridError, Point, grid_points, parse_grid, sample_points, yaml_text
from mm_bot.sweep.points import check_points
from mm_bot.sweep.rank import NUMERIC, best, rank, scores
from tests.bot.sweep.conftest import CONFIG

GRID = "markets.0.strategy.gamma=0.0005,0.001;markets.0.quoting.min_spread_bps=1,2,4"
# Passes validation, but with a 100-USD tick near a 150-USD mid a 90% fat-finger guard lets a long
# position's bid round down to tick 0: the positive-prices proof fails (tests/bot/test_cli_verify.py).
COARSE = {
    "MM_BOT__markets__0__tick_size": "100",
    "MM_BOT__markets__0__verify__mid_min": "150",
    "MM_BOT__markets__0__verify__mid_max": "1000",
    "MM_BOT__markets__0__quoting__max_spread_bps": "15000",
    "MM_BOT__paper__synthetic__markets__BTC/USDT__s0": "500",
}


def test_grid_is_the_product_first_axis_slowest() -> None:
    """Two axes of 2 and 3 values: 6 points, numbered in order, the first axis varying slowest."""
    points = grid_points(parse_grid(GRID))
    assert [p.id for p in points] == [f"p00{i}" for i in range(6)]
    assert points[1].sets == (
        ("markets.0.strategy.gamma", "0.0005"),
        ("markets.0.quoting.min_spread_bps", "2"),
    )
    assert points[5].label() == "gamma=0.001 min_spread_bps=4"


def test_values_are_yaml_the_loader_reads_as_numbers() -> None:
    """YAML 1.1 reads ``1e-05`` as a string: floats are rewritten so they stay floats; words stay."""
    assert [yaml_text(t) for t in ("1e-4", "1e-05", "2", "0.5", "as", "true", "inf")] == [
        "0.0001", "1.0e-05", "2", "0.5", "as", "true", "inf"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("markets.0.strategy.gamma", "PATH=VALUES"),
        ("a=1;a=2", "given twice"),
        ("a=1,,2", "empty value"),
        ("a=log:0..1", "positive"),
        ("a=2..1", "low to high"),
        ("a=int:0.5..3", "whole numbers"),
        ("bad path=1", "dotted config path"),
        ("", "no PATH=VALUES"),
    ],
)
def test_bad_specs_name_their_part(spec: str, words: str) -> None:
    """Each malformed spec is refused with a message naming what is wrong."""
    with pytest.raises(GridError, match=words):
        grid_points(parse_grid(spec))


def test_a_range_needs_samples() -> None:
    with pytest.raises(GridError, match="--samples"):
        grid_points(parse_grid("markets.0.strategy.gamma=log:0.0001..0.01"))


def test_samples_are_the_same_for_a_seed_and_in_their_ranges() -> None:
    """Same seed, same points; another seed, other points; log, lin and int ranges and lists."""
    axes = parse_grid("a=log:0.0001..0.01;b=0.5..2;c=int:1..3;d=as,glft")
    first, again, other = (sample_points(axes, 20, seed) for seed in (7, 7, 8))
    assert first == again and first != other and len(first) == 20
    for p in first:
        a, b, c = (float(p.value(k)) for k in "abc")
        assert 1e-4 <= a <= 1e-2 and 0.5 <= b <= 2 and c in (1, 2, 3) and p.value("d") in ("as", "glft")
        assert float(f"{a:.6g}") == a  # rounded to 6 significant digits
    logs = [math.log10(float(p.value("a"))) for p in sample_points(axes, 400, 1)]
    assert sum(x < -3 for x in logs) / len(logs) == pytest.approx(0.5, abs=0.1)  # log-uniform


def test_duplicate_samples_are_dropped() -> None:
    points = sample_points(parse_grid("a=1,2"), 50, 0)
    assert sorted(p.value("a") for p in points) == ["1", "2"]


def test_points_are_validated_with_their_yaml_paths() -> None:
    """A bad path or value is refused at its YAML path, saying the grid set it; a good one loads."""
    points = [
        Point("p0", (("markets.0.strategy.gamma", "0.002"),)),
        Point("p1", (("markets.0.strategy.gamm", "0.002"),)),
        Point("p2", (("markets.0.strategy.gamma", "-1"),)),
        Point("p3", (("markets.4.strategy.gamma", "1"),)),
    ]
    checked = check_points(CONFIG, points, environ={})
    assert [(p.id, cfg.markets[0].strategy.gamma) for p, cfg in checked.accepted] == [("p0", 0.002)]
    problems = {r.point.id: r.problems for r in checked.rejected}
    assert all(r.stage == "config" for r in checked.rejected)
    (where, why), = problems["p1"]  # fmt: skip
    assert where == "markets[0].strategy.gamm" and "did you mean 'gamma'" in why and "--grid" in why
    (where, why), = problems["p2"]  # fmt: skip
    assert where == "markets[0].strategy.gamma" and "greater than 0" in why
    assert "cannot set '4'" in problems["p3"][0][1]


def test_a_point_that_fails_its_proof_is_refused_with_the_counterexample() -> None:
    """On a coarse-tick market a 90% fat-finger guard fails positive_prices; 25 bps passes."""
    points = grid_points(parse_grid("markets.0.quoting.max_distance_bps=25,9000"))
    checked = check_points(CONFIG, points, environ=COARSE)
    assert [p.id for p, _ in checked.accepted] == ["p000"]
    (refused,) = checked.rejected
    assert refused.point.id == "p001" and refused.stage == "verify"
    assert refused.problems[0][0] == "BTC/USDT positive_prices"
    assert "counterexample" in refused.problems[0][1]
    assert refused.proofs[0]["counterexample"]["replay"]["bid_ticks"] == 0
    assert "refused by verify, not run" in refused.lines()[0]


def test_ranking_puts_incomplete_and_undefined_points_last() -> None:
    """Means over the files; higher Sharpe first, lower drawdown first; a failed task or a missing
    value ranks after every complete point; the best is the first complete one."""
    points = [Point(f"p{i}", (("a", str(i)),)) for i in range(4)]

    def row(p: str, data: str, sharpe: str, dd: str, status: str = "ok") -> dict[str, str]:
        cells = {"point": p, "data": data, "status": status, "sharpe": sharpe, "max_drawdown_quote": dd}
        return {m: "" for m in NUMERIC} | cells

    rows = [
        row("p0", "d1", "1.0", "5"), row("p0", "d2", "3.0", "1"),  # mean sharpe 2, dd 3
        row("p1", "d1", "4.0", "1"), row("p1", "d2", "", "", "failed"),  # incomplete
        row("p2", "d1", "", "2"), row("p2", "d2", "", "2"),  # sharpe undefined
        row("p3", "d1", "1.5", "9"), row("p3", "d2", "1.5", "9"),
    ]  # fmt: skip
    by_point = {s.point.id: s for s in scores(points, rows)}
    assert by_point["p0"].means["sharpe"] == 2.0 and by_point["p1"].files_failed == 1
    ranked = rank(list(by_point.values()), "sharpe")
    assert [s.point.id for s in ranked] == ["p0", "p3", "p1", "p2"]
    assert [s.point.id for s in rank(list(by_point.values()), "max_drawdown_quote")][:3] == ["p2", "p0", "p3"]
    top = best(ranked, "sharpe")
    assert top is not None and top.point.id == "p0"
