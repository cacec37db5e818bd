"""The sweep's HTML report: one self-contained ``index.html`` in the style of the backtest report
(its CSS, Content-Security-Policy and self-check script; inline SVG, nothing fetched).

Sections: the sweep's facts; the ranked table (the best points first, means over the data files);
heat maps of the ranking metric (and PnL and Sharpe) over each pair of grid axes, a cell being the
mean over the complete points with those two values (one row for a one-axis grid); for a sampled
sweep, the metric against each numeric axis instead; the PnL curves of the best points, one chart
per data file; the points refused before running and the tasks that failed.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from mm_bot.backtest import plots
from mm_bot.backtest.plots import PALETTE, Series
from mm_bot.backtest.report import SELF_CHECK, facts_line, figure, fmt, page_head
from mm_bot.sweep.grid import Axis, short_names
from mm_bot.sweep.heatmap import heat_map
from mm_bot.sweep.points import Rejected
from mm_bot.sweep.rank import LOWER_IS_BETTER, SHOWN, Score
from mm_bot.sweep.store import Key

__all__ = ["render_report", "write_report"]

TABLE_ROWS = 20
CURVES = 5  # the best points drawn
CURVE_FILES = 6  # data files with a PnL chart
PAIRS = 3  # heat maps per metric


def write_report(out_dir: Path, **parts: Any) -> Path:
    path = out_dir / "index.html"
    path.write_text(render_report(**parts), encoding="utf-8")
    return path


def render_report(
    *,
    title: str,
    facts: Mapping[str, str],
    axes: Sequence[Axis],
    sampled: bool,
    ranked: Sequence[Score],
    by: str,
    files: Sequence[str],
    curves: Mapping[Key, Mapping[str, Any]],
    rejected: Sequence[Rejected],
    failed: Sequence[Mapping[str, str]],
) -> str:
    parts = [
        *page_head(title),
        facts_line(facts),
        f"<h2>Ranked by {escape(by)}</h2>",
        ranked_table(ranked, axes, by),
        '<p class="note">Each metric is the mean over the data files the point ran on; a point with a '
        "failed task is ranked after the complete ones.</p>",
    ]
    metrics = list(dict.fromkeys([by, "pnl_quote", "sharpe"]))
    charts = scatters(ranked, axes, metrics) if sampled else heat_maps(ranked, axes, metrics)
    parts.append("<h2>Metrics over the grid</h2>" if not sampled else "<h2>Metrics against each axis</h2>")
    parts += [figure(plot_id, caption, chart) for plot_id, caption, chart in charts]
    parts.append("<h2>PnL of the best points</h2>")
    parts += [
        figure(plot_id, caption, chart) for plot_id, caption, chart in pnl_charts(ranked, files, curves)
    ]
    if rejected:
        parts += ["<h2>Points refused before running</h2>", rejected_table(rejected)]
    if failed:
        parts += ["<h2>Failed tasks</h2>", failed_table(failed)]
    parts += [f"<script>{SELF_CHECK}</script>", "</body></html>"]
    return "\n".join(parts)


def ranked_table(ranked: Sequence[Score], axes: Sequence[Axis], by: str) -> str:
    metrics = [by, *(m for m in SHOWN if m != by)]
    named = [(n, a.path) for n, a in zip(short_names(axes), axes, strict=True)]
    head = "".join(f"<th>{escape(h)}</th>" for h in ["rank", "point"])
    head += "".join(f'<th title="{escape(path)}">{escape(name)}</th>' for name, path in named)
    head += "".join(f"<th>{escape(h)}</th>" for h in metrics)
    rows = [f'<table class="ranked"><tr>{head}<th>files ok</th></tr>']
    for i, s in enumerate(ranked[:TABLE_ROWS], start=1):
        cells = [str(i), s.point.id, *(s.point.value(a.path) for a in axes)]
        row = "".join(f"<td>{escape(c)}</td>" for c in cells)
        row += "".join(f'<td class="num">{fmt(s.means[m])}</td>' for m in metrics)
        rows.append(f"<tr>{row}<td>{s.files_ok}/{s.files_ok + s.files_failed}</td></tr>")
    rows.append("</table>")
    return "".join(rows)


def heat_maps(
    ranked: Sequence[Score], axes: Sequence[Axis], metrics: Sequence[str]
) -> list[tuple[str, str, str]]:
    pairs = list(itertools.combinations(axes, 2))[:PAIRS] if len(axes) > 1 else [(axes[0], None)]
    name = dict(zip((a.path for a in axes), short_names(axes), strict=True))
    out = []
    for metric in metrics:
        for n, (ax, ay) in enumerate(pairs):
            y_values = ay.values if ay is not None else (metric,)
            cells = [[_cell_mean(ranked, metric, (ax, xv), (ay, yv)) for xv in ax.values] for yv in y_values]
            chart = heat_map(
                f"heat-{metric}-{n}",
                metric,
                ax.values,
                y_values,
                cells,
                x_label=name[ax.path],
                y_label=name[ay.path] if ay is not None else "",
                higher_is_better=metric not in LOWER_IS_BETTER,
            )
            others = " (mean over the other axes)" if len(axes) > 2 else ""
            caption = f"{metric}: yellow is better{others}"
            out.append((f"plot-heat-{metric}-{n}", caption, chart))
    return out


def _cell_mean(ranked: Sequence[Score], metric: str, *at: tuple[Axis | None, str]) -> float | None:
    values = [
        s.means[metric]
        for s in ranked
        if s.complete and all(axis is None or s.point.value(axis.path) == v for axis, v in at)
    ]
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def scatters(
    ranked: Sequence[Score], axes: Sequence[Axis], metrics: Sequence[str]
) -> list[tuple[str, str, str]]:
    out = []
    done = [s for s in ranked if s.complete]
    for metric in metrics:
        for n, axis in enumerate(axes):
            pairs = [(_number(s.point.value(axis.path)), s.means[metric]) for s in done]
            xy = np.array([(x, y) for x, y in pairs if x is not None and y is not None], dtype=np.float64)
            xy = xy.reshape(-1, 2)
            chart = plots.scatter_chart(
                f"scatter-{metric}-{n}", metric, xy[:, 0], xy[:, 1], x_label=axis.path, y_label=metric
            )
            out.append((f"plot-scatter-{metric}-{n}", f"{metric} against {axis.path}", chart))
    return out


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def pnl_charts(
    ranked: Sequence[Score], files: Sequence[str], curves: Mapping[Key, Mapping[str, Any]]
) -> list[tuple[str, str, str]]:
    best = [s for s in ranked if s.complete][:CURVES]
    out = []
    for n, name in enumerate(files[:CURVE_FILES]):
        series = []
        for i, s in enumerate(best):
            curve = curves.get((s.point.id, name))
            if curve:
                t = np.array(curve["t_s"], dtype=np.float64) / 60.0
                pnl = np.array([np.nan if v is None else v for v in curve["pnl_quote"]], dtype=np.float64)
                series.append(Series(f"{i + 1}. {s.point.id}", t, pnl, PALETTE[i % len(PALETTE)]))
        chart = plots.line_chart(
            f"chart-pnl-{n}", name, series, x_label="time since start (min)", y_label="PnL (quote)"
        )
        out.append((f"plot-pnl-{n}", f"PnL over time: {name}", chart))
    return out


def rejected_table(rejected: Sequence[Rejected]) -> str:
    rows = ['<table class="rejected"><tr><th>point</th><th>values</th><th>by</th><th>why</th></tr>']
    for r in rejected:
        why = "<br>".join(f"{escape(w)}: {escape(m)}" for w, m in r.problems)
        rows.append(
            f"<tr><td>{escape(r.point.id)}</td><td>{escape(r.point.label())}</td><td>{r.stage}</td>"
            f"<td>{why}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def failed_table(failed: Sequence[Mapping[str, str]]) -> str:
    rows = ['<table class="failed"><tr><th>point</th><th>data</th><th>error</th></tr>']
    for row in failed:
        rows.append(
            f"<tr><td>{escape(row['point'])}</td><td>{escape(row['data'])}</td>"
            f"<td>{escape(row['error'])}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)
