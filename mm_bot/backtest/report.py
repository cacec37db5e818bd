"""The run report: one self-contained ``index.html`` (inline CSS, inline SVG charts from ``plots``, a
small inline self-check script; no network, and a Content-Security-Policy that forbids any).

Sections: the run's facts, the metrics table (``metrics.run_metrics``'s dict), with ``compare`` a
side-by-side table of several runs on the same data, then six charts: PnL, inventory, our quotes
against the best bid and ask, quoted spread against sigma, markouts by horizon, and the decisions per
time bucket by ``action(reason)``. The metrics dict is also embedded as JSON (``#run-metrics``).

Every chart is a ``<figure class="plot">``; on load the script marks each ``data-rendered="1"`` when
its SVG has a non-empty box, and sets ``data-plots-ok`` / ``data-plots-total`` on ``<body>``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from mm_bot.backtest import plots
from mm_bot.backtest.plots import GREY, PALETTE, Series
from mm_bot.backtest.trace import RunTrace

NS_PER_S = 1_000_000_000
REASON_BUCKETS = 60
REASON_CATEGORIES = 7  # the most frequent labels; the rest are "other"

# (key path in the metrics dict, label) of the rows of the metrics and comparison tables
ROWS: tuple[tuple[str, str], ...] = (
    ("pnl_quote", "PnL (quote, marked to mid, after fees)"),
    ("sharpe", "Sharpe (annualised, 24/7)"),
    ("sharpe_interval_s", "Sharpe / VaR interval (s)"),
    ("max_drawdown_quote", "Max drawdown (quote)"),
    ("var_95_quote", "VaR 95% per interval (quote, loss > 0)"),
    ("cvar_95_quote", "CVaR 95% per interval (quote, loss > 0)"),
    ("inventory_std_base", "Inventory std (base, time-weighted)"),
    ("max_abs_position_base", "Max |position| (base)"),
    ("position_base", "Final position (base)"),
    ("fills", "Fills"),
    ("maker_fills", "Maker fills"),
    ("quotes_sent", "Quotes sent"),
    ("cancels_sent", "Cancels sent"),
    ("fill_rate", "Fill rate (fills per quote)"),
    ("pnl_per_trade_quote", "PnL per trade (quote)"),
    ("volume_base", "Volume (base)"),
    ("fees_quote", "Fees (quote)"),
    ("mean_spread_bps", "Mean quoted spread (bps, two-sided)"),
    ("two_sided_share", "Time quoted on both sides (share)"),
    ("markouts.1s.mean_bps", "Markout 1 s (bps)"),
    ("markouts.10s.mean_bps", "Markout 10 s (bps)"),
    ("markouts.60s.mean_bps", "Markout 60 s (bps)"),
)

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1000px;color:#222}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:3px 8px}
th{background:#f4f4f4;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.facts{color:#555;font-size:13px}figure.plot{margin:18px 0}figcaption{font-weight:600;margin-bottom:4px}
.grid{stroke:#e6e6e6;stroke-width:0.8}.note{color:#666;font-size:12px}
svg.chart{max-width:100%;height:auto;font-family:inherit}
.legend{font-size:12px}.legend .key{margin-right:14px;white-space:nowrap}
.legend i{display:inline-block;width:11px;height:11px;margin-right:4px;vertical-align:-1px}
"""

SELF_CHECK = """
window.addEventListener("load", function () {
  var figs = document.querySelectorAll("figure.plot"), ok = 0, withData = 0;
  figs.forEach(function (fig) {
    var svg = fig.querySelector("svg.chart"), rendered = false;
    if (svg && svg.childElementCount > 0) {
      var box = svg.getBoundingClientRect(), bb = svg.getBBox();
      var data = svg.querySelector("g.data"), empty = svg.querySelector(".no-data");
      var drawn = data && data.childElementCount > 0 && data.getBBox().width > 0;
      rendered = box.width > 0 && box.height > 0 && bb.width > 0 && (drawn || !!empty);
      if (drawn) withData++;
    }
    fig.dataset.rendered = rendered ? "1" : "0";
    if (rendered) ok++;
  });
  document.body.dataset.plotsTotal = String(figs.length);
  document.body.dataset.plotsWithData = String(withData);
  document.body.dataset.plotsOk = String(ok);
});
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def write_report(
    trace: RunTrace,
    metrics: Mapping[str, Any],
    out_dir: Path,
    *,
    title: str,
    compare: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """Write ``out_dir/index.html`` (creating the directory) and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "index.html"
    path.write_text(render_report(trace, metrics, title=title, compare=compare), encoding="utf-8")
    return path


def render_report(
    trace: RunTrace,
    metrics: Mapping[str, Any],
    *,
    title: str,
    compare: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """The whole report page as one string."""
    parts = [
        *page_head(title),
        facts(trace),
        "<h2>Metrics</h2>",
        metrics_table({"": metrics}),
        conventions(metrics),
    ]
    if compare:
        parts += ["<h2>Strategies on the same data</h2>", metrics_table(compare)]
    for plot_id, caption, chart in figures(trace, metrics):
        parts.append(f'<figure class="plot" id="{plot_id}"><figcaption>{escape(caption)}</figcaption>')
        parts.append(chart + "</figure>")
    parts += [
        "<h2>Decisions</h2>",
        reasons_table(metrics.get("decision_reasons") or {}),
        '<script type="application/json" id="run-metrics">',
        json.dumps(metrics, allow_nan=False, sort_keys=True).replace("</", "<\\/"),
        "</script>",
        f"<script>{SELF_CHECK}</script>",
        "</body></html>",
    ]
    return "\n".join(parts)


def page_head(title: str) -> list[str]:
    """The page's opening: its Content-Security-Policy, the CSS and the title (every report's)."""
    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
    ]


def facts_line(items: Mapping[str, str]) -> str:
    """``name value · name value ...`` under the title."""
    text = " · ".join(f"{escape(k)} <b>{escape(v)}</b>" for k, v in items.items())
    return f'<p class="facts">{text}</p>'


def figure(plot_id: str, caption: str, chart: str) -> str:
    """One chart as the self-check script finds it: a ``<figure class="plot">`` with its caption."""
    return f'<figure class="plot" id="{plot_id}"><figcaption>{escape(caption)}</figcaption>{chart}</figure>'


def facts(trace: RunTrace) -> str:
    start, end = utc(trace.start_ns), utc(trace.end_ns)
    items = [
        f"symbol <b>{escape(trace.symbol)}</b>",
        f"strategy <b>{escape(trace.strategy)}</b>",
        f"{start} → {end} ({(trace.end_ns - trace.start_ns) / NS_PER_S:g} s)",
        f"tick {trace.tick_size:g}, lot {trace.lot_size:g}",
        f"{len(trace.ts_ns)} samples, {len(trace.fill_ts_ns)} fills, {len(trace.decision_ts_ns)} decisions",
    ]
    return f'<p class="facts">{" · ".join(items)}</p>'


def conventions(metrics: Mapping[str, Any]) -> str:
    interval = metrics.get("sharpe_interval_s")
    return (
        f'<p class="note">Sharpe, VaR and CVaR use PnL changes over {fmt(interval)} s intervals; Sharpe is '
        "annualised by √(intervals in 365 days). VaR/CVaR are historical, a loss counted positive. "
        "Markouts: side × (mid at t + h − fill price), positive when the fill made money; fills whose "
        "horizon passes the end of the data are excluded.</p>"
    )


def utc(ns: int) -> str:
    return datetime.fromtimestamp(ns / NS_PER_S, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def lookup(metrics: Mapping[str, Any], key: str) -> Any:
    """The value at a dotted ``key`` path, or None where the path is missing."""
    value: Any = metrics
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):  # bool too
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return escape(str(value))


def metrics_table(columns: Mapping[str, Mapping[str, Any]]) -> str:
    """The ROWS of each metrics dict, one column per dict (a single unnamed column for one run)."""
    names = list(columns)
    head = "".join(f"<th>{escape(name)}</th>" for name in names)
    rows = [f'<table class="metrics"><tr><th>metric</th>{head}</tr>']
    for key, label in ROWS:
        cells = "".join(f'<td class="num">{fmt(lookup(columns[n], key))}</td>' for n in names)
        rows.append(f'<tr data-key="{key}"><th>{escape(label)}</th>{cells}</tr>')
    rows.append("</table>")
    return "".join(rows)


def reasons_table(reasons: Mapping[str, int]) -> str:
    rows = "".join(
        f'<tr><th>{escape(k)}</th><td class="num">{v}</td></tr>'
        for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])
    )
    return f'<table class="reasons"><tr><th>action(reason)</th><th>count</th></tr>{rows}</table>'


def time_axis(trace: RunTrace) -> tuple[float, str]:
    """Seconds per unit of the time axis, and its label."""
    span_s = (trace.end_ns - trace.start_ns) / NS_PER_S
    if span_s > 6 * 3600:
        return 3600.0, "time since start (h)"
    if span_s > 600:
        return 60.0, "time since start (min)"
    return 1.0, "time since start (s)"


def figures(trace: RunTrace, metrics: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(id, caption, chart) of every chart."""
    unit_s, x_label = time_axis(trace)
    t = (trace.ts_ns - trace.start_ns) / NS_PER_S / unit_s
    return [
        (
            "plot-pnl",
            "PnL over time",
            plots.line_chart(
                "chart-pnl",
                "PnL",
                [Series("PnL", t, trace.pnl_quote, PALETTE[0])],
                x_label=x_label,
                y_label="PnL (quote)",
            ),
        ),
        (
            "plot-inventory",
            "Inventory over time",
            plots.line_chart(
                "chart-inventory",
                "Inventory",
                [Series("position", t, trace.position_base, PALETTE[4])],
                x_label=x_label,
                y_label="position (base)",
            ),
        ),
        (
            "plot-quotes",
            "Our quotes against the book",
            plots.line_chart(
                "chart-quotes",
                "Quotes",
                [
                    Series("best bid", t, trace.best_bid, GREY, 1.0, "3 2"),
                    Series("best ask", t, trace.best_ask, "#555", 1.0, "3 2"),
                    Series("our bid", t, trace.bid_quote, PALETTE[2]),
                    Series("our ask", t, trace.ask_quote, PALETTE[1]),
                ],
                x_label=x_label,
                y_label="price (quote)",
            ),
        ),
        (
            "plot-spread-vol",
            "Quoted spread against volatility",
            plots.scatter_chart(
                "chart-spread-vol",
                "Spread vs sigma",
                trace.sigma,
                trace.ask_quote - trace.bid_quote,
                x_label="sigma (quote per √s)",
                y_label="our spread ask − bid (quote)",
            ),
        ),
        ("plot-markouts", "Markouts of our fills (mean, bps)", markout_chart(metrics)),
        ("plot-reasons", "Decisions over time, by action(reason)", reasons_chart(trace, unit_s, x_label)),
    ]


def markout_chart(metrics: Mapping[str, Any]) -> str:
    markouts: Mapping[str, Any] = metrics.get("markouts") or {}
    labels = list(markouts)
    values = [markouts[k].get("mean_bps") for k in labels]
    notes = [f"n={markouts[k].get('count', 0)}, {markouts[k].get('excluded', 0)} excl." for k in labels]
    return plots.bar_chart("chart-markouts", "Markouts", labels, values, notes, y_label="markout (bps)")


def reasons_chart(trace: RunTrace, unit_s: float, x_label: str) -> str:
    """Decision counts per time bucket, stacked by label: the most frequent ones, the rest as other."""
    span = max((trace.end_ns - trace.start_ns) / NS_PER_S / unit_s, 1e-9)
    edges = np.linspace(0.0, span, REASON_BUCKETS + 1)
    labels = [f"{a}({r})" for a, r in zip(trace.decision_action, trace.decision_reason, strict=True)]
    if not labels:
        return plots.stacked_bars(
            "chart-reasons", "Decisions", edges, {}, x_label=x_label, y_label="decisions"
        )
    names, inverse = np.unique(np.array(labels), return_inverse=True)
    x = (trace.decision_ts_ns - trace.start_ns) / NS_PER_S / unit_s
    bucket = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, REASON_BUCKETS - 1)
    grid = np.bincount(inverse * REASON_BUCKETS + bucket, minlength=len(names) * REASON_BUCKETS)
    grid = grid.reshape(len(names), REASON_BUCKETS).astype(np.float64)
    order = np.argsort(-grid.sum(axis=1), kind="stable")
    counts = {str(names[i]): grid[i] for i in order[:REASON_CATEGORIES]}
    if len(order) > REASON_CATEGORIES:
        counts["other"] = grid[order[REASON_CATEGORIES:]].sum(axis=0)
    return plots.stacked_bars(
        "chart-reasons", "Decisions", edges, counts, x_label=x_label, y_label="decisions"
    )
