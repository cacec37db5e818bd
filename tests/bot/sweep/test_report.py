"""The sweep's HTML report from hand-made scores, without Ray: heat maps over each pair of grid
axes (one row for a single axis), scatters for sampled points, the PnL curves of the best points,
and the refused points and failed tasks; one self-contained page."""

from __future__ import annotations

import re

from mm_bot.sweep.grid import Axis, Point, grid_points, parse_grid
from mm_bot.sweep.heatmap import heat_map, scale_color
from mm_bot.sweep.points import Rejected
from mm_bot.sweep.rank import NUMERIC, Score, rank
from mm_bot.sweep.report import render_report


def scored(points: list[Point]) -> list[Score]:
    out = []
    for i, p in enumerate(points):
        means: dict[str, float | None] = dict.fromkeys(NUMERIC, float(i))
        means["sharpe"] = None if i == 1 else float(-i)
        out.append(Score(p, means, 1, 0))
    return rank(out, "pnl_quote")


def render(axes: tuple[Axis, ...], points: list[Point], *, sampled: bool) -> str:
    ranked = scored(points)
    curve = {"t_s": [0.0, 60.0, 120.0], "pnl_quote": [0.0, None, 1.5]}
    curves = {(s.point.id, "day.gz"): curve for s in ranked}
    refused = [Rejected(Point("p999", (("a", "x"),)), "config", (("markets[0].x", "unknown key"),))]
    failed = [{"point": points[0].id, "data": "day.gz", "error": "RuntimeError: boom"}]
    return render_report(
        title="t", facts={"points": str(len(points))}, axes=axes, sampled=sampled, ranked=ranked,
        by="pnl_quote", files=["day.gz"], curves=curves, rejected=refused, failed=failed,
    )  # fmt: skip


def test_three_axes_give_a_heat_map_per_pair_and_metric() -> None:
    axes = parse_grid("m.a=1,2;m.b=3,4,5;m.c=x,y")
    html = render(axes, grid_points(axes), sampled=False)
    ids = re.findall(r'id="(plot-heat-[^"]+)"', html)
    assert ids == [f"plot-heat-{m}-{n}" for m in ("pnl_quote", "sharpe") for n in range(3)]
    assert html.count('<figure class="plot"') == 7  # six heat maps and one PnL chart
    assert "mean over the other axes" in html and "p999" in html and "RuntimeError: boom" in html
    assert "http" not in html.replace("http-equiv", "")  # nothing fetched


def test_one_axis_gives_one_row_and_samples_give_scatters() -> None:
    axes = parse_grid("m.gamma=0.1,0.2,0.3")
    html = render(axes, grid_points(axes), sampled=False)
    assert html.count('class="data"') >= 3 and 'id="plot-heat-pnl_quote-0"' in html
    sampled = parse_grid("m.gamma=log:0.01..1")
    points = [Point(f"p{i}", (("m.gamma", v),)) for i, v in enumerate(("0.01", "0.1", "1.0"))]
    html = render(sampled, points, sampled=True)
    assert 'id="plot-scatter-pnl_quote-0"' in html and "plot-heat" not in html


def test_heat_map_colours_best_yellow_whichever_way_the_metric_points() -> None:
    """The best cell is the top of the ramp, for a higher-is-better and a lower-is-better metric."""
    yellow, dark = scale_color(1.0), scale_color(0.0)
    up = heat_map("h", "t", ["a", "b"], ["r"], [[1.0, 2.0]], x_label="x", y_label="y")
    down = heat_map(
        "h", "t", ["a", "b"], ["r"], [[1.0, 2.0]], x_label="x", y_label="y", higher_is_better=False
    )
    assert re.findall(r'fill="(#[0-9a-f]{6})"><title>', up) == [dark, yellow]
    assert re.findall(r'fill="(#[0-9a-f]{6})"><title>', down) == [yellow, dark]
    empty = heat_map("h", "t", ["a"], ["r"], [[None]], x_label="x", y_label="y")
    assert "#dddddd" in empty and "–" in empty
