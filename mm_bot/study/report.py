"""The study's HTML report: one self-contained ``index.html`` in the style of the backtest report (its
CSS, Content-Security-Policy and self-check script; inline SVG, nothing fetched).

Sections: the study's facts; the comparison table (mean ± 95% CI over the seeds); bar charts of the
mean PnL, Sharpe, inventory std and fills per strategy (the CI under each label); the mean PnL curve
of each strategy over the seeds; the final PnL of every run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path

import numpy as np

from mm_bot.backtest import plots
from mm_bot.backtest.plots import PALETTE, Series
from mm_bot.backtest.report import SELF_CHECK, facts_line, figure, fmt, page_head
from mm_bot.study.compare import METRICS, Run, StrategyRow

__all__ = ["render_report", "write_report"]

BARS = (
    ("pnl_quote", "Mean PnL (quote)"),
    ("sharpe", "Mean Sharpe"),
    ("inventory_std_base", "Mean inventory std (base)"),
    ("fills", "Mean fills"),
)


def write_report(
    out_dir: Path, *, title: str, facts: Mapping[str, str], rows: Sequence[StrategyRow], runs: Sequence[Run]
) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "index.html"
    path.write_text(render_report(title=title, facts=facts, rows=rows, runs=runs), encoding="utf-8")
    return path


def render_report(
    *, title: str, facts: Mapping[str, str], rows: Sequence[StrategyRow], runs: Sequence[Run]
) -> str:
    parts = [
        *page_head(title),
        facts_line(facts),
        "<h2>Comparison</h2>",
        comparison_table(rows),
        '<p class="note">Each cell: the mean over the seeds ± the half-width of its 95% confidence '
        "interval (Student's t); n seeds where a figure is undefined for some (no fills, say) are fewer.</p>",
        "<h2>Per strategy</h2>",
    ]
    for key, caption in BARS:
        labels = [r.strategy for r in rows]
        values = [r.figures[key][0] for r in rows]
        notes = ["" if r.figures[key][1] is None else f"± {r.figures[key][1]:.3g}" for r in rows]
        chart = plots.bar_chart(f"bars-{key}", caption, labels, values, notes, y_label=key)
        parts.append(figure(f"plot-{key}", caption, chart))
    parts.append("<h2>PnL over time</h2>")
    parts.append(figure("plot-pnl", "Mean PnL over the seeds", mean_curves(rows, runs)))
    parts += ["<h2>Final PnL per seed</h2>", per_seed(rows, runs)]
    parts += [f"<script>{SELF_CHECK}</script>", "</body></html>"]
    return "\n".join(parts)


def comparison_table(rows: Sequence[StrategyRow]) -> str:
    head = "".join(f"<th>{escape(label)}</th>" for _, label in METRICS)
    body = []
    for r in rows:
        cells = []
        for key, _ in METRICS:
            mean, ci, _n = r.figures[key]
            text = fmt(mean) if ci is None else f"{fmt(mean)} ± {fmt(ci)}"
            cells.append(f"<td>{escape(text)}</td>")
        body.append(f"<tr><td>{escape(r.strategy)}</td><td>{r.seeds}</td>{''.join(cells)}</tr>")
    return f'<table class="metrics"><tr><th>strategy</th><th>seeds</th>{head}</tr>{"".join(body)}</table>'


def mean_curves(rows: Sequence[StrategyRow], runs: Sequence[Run]) -> str:
    """Each strategy's PnL curves resampled on one grid and averaged over its seeds."""
    series = []
    for i, r in enumerate(rows):
        mine = [run for run in runs if run.strategy == r.strategy and len(run.curve_t_s) > 1]
        if not mine:
            continue
        end = max(run.curve_t_s[-1] for run in mine)
        grid = np.linspace(0.0, end, 200)
        curves = [
            np.interp(grid, np.array(run.curve_t_s), np.nan_to_num(np.array(run.curve_pnl, np.float64)))
            for run in mine
        ]
        series.append(Series(r.strategy, grid, np.mean(curves, axis=0), PALETTE[i % len(PALETTE)]))
    return plots.line_chart("pnl-mean", "Mean PnL", series, x_label="seconds", y_label="PnL (quote)")


def per_seed(rows: Sequence[StrategyRow], runs: Sequence[Run]) -> str:
    """The final PnL of every run: a row per seed, a column per strategy."""
    names = [r.strategy for r in rows]
    pnl = {(run.strategy, run.seed): run.metrics.get("pnl_quote") for run in runs}
    seeds = sorted({run.seed for run in runs})
    head = "".join(f"<th>{escape(n)}</th>" for n in names)
    body = "".join(
        f"<tr><td>{seed}</td>"
        + "".join(f"<td>{escape(fmt(pnl.get((n, seed))))}</td>" for n in names)
        + "</tr>"
        for seed in seeds
    )
    return f'<table class="metrics"><tr><th>seed</th>{head}</tr>{body}</table>'
