"""The HTML report, without a browser: one self-contained file that holds every chart and table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from mm_bot.backtest import plots
from mm_bot.backtest.metrics import run_metrics
from mm_bot.backtest.report import ROWS, render_report, write_report
from mm_bot.backtest.trace import RunTrace

S = 1_000_000_000
PLOT_IDS = ["plot-pnl", "plot-inventory", "plot-quotes", "plot-spread-vol", "plot-markouts", "plot-reasons"]
REASONS = [
    ("send", "optimal_price"),
    ("keep", "within_tolerance"),
    ("cancel", "max_position"),
    ("nothing", "warm_up"),
    ("cancel", "stale_book"),
]


def synthetic_trace(
    seconds: float = 600.0, step_s: float = 0.1, seed: int = 7, strategy: str = "as"
) -> RunTrace:
    """A made-up market-making run: a random-walk mid, our quotes around it (none while warming up),
    fills where the book touches our quotes, PnL marked to mid, decisions every second."""
    rng = np.random.default_rng(seed)
    n = int(seconds / step_s)
    start_ns = 1_700_000_000 * S
    ts = start_ns + (np.arange(n) * step_s * S).astype(np.int64)
    tick = 0.01
    mid = np.round((30_000 + np.cumsum(rng.normal(0, 0.6, n))) / tick) * tick
    best_bid, best_ask = mid - tick * 2, mid + tick * 2
    sigma = np.abs(rng.normal(1.8, 0.3, n))
    sigma[: int(30 / step_s)] = np.nan
    half = 1.0 + 0.8 * np.nan_to_num(sigma, nan=1.8)
    bid_q, ask_q = np.round((mid - half) / tick) * tick, np.round((mid + half) / tick) * tick
    bid_q[np.isnan(sigma)] = np.nan
    ask_q[np.isnan(sigma)] = np.nan
    pulled = rng.random(n) < 0.05
    ask_q[pulled] = np.nan
    # we fill when the mid moves through our price by the next sample
    buy = np.r_[False, best_ask[1:] <= bid_q[:-1] + 0.9]
    sell = np.r_[False, best_bid[1:] >= ask_q[:-1] - 0.9]
    fill_idx = np.flatnonzero(buy | sell)
    side = np.where(buy[fill_idx], 1, -1)
    price = np.where(side > 0, bid_q[fill_idx - 1], ask_q[fill_idx - 1])
    qty = np.full(len(fill_idx), 0.01)
    fee = price * qty * 0.0001
    delta = np.zeros(n)
    np.add.at(delta, fill_idx, side * qty)
    cash_delta = np.zeros(n)
    np.add.at(cash_delta, fill_idx, -side * qty * price - fee)
    position = np.cumsum(delta)
    pnl = np.cumsum(cash_delta) + position * mid
    dec_ts = start_ns + np.arange(int(seconds)).astype(np.int64) * S
    pick = rng.integers(0, len(REASONS), len(dec_ts))
    return RunTrace(
        ts_ns=ts,
        mid=mid,
        best_bid=best_bid,
        best_ask=best_ask,
        bid_quote=bid_q,
        ask_quote=ask_q,
        position_base=position,
        pnl_quote=pnl,
        sigma=sigma,
        fill_ts_ns=ts[fill_idx],
        fill_side=side.astype(np.int64),
        fill_price=price,
        fill_qty_base=qty,
        fill_fee_quote=fee,
        fill_maker=np.ones(len(fill_idx), dtype=np.bool_),
        decision_ts_ns=dec_ts,
        decision_side=np.where(pick % 2 == 0, 1, -1).astype(np.int64),
        decision_action=[REASONS[i][0] for i in pick],
        decision_reason=[REASONS[i][1] for i in pick],
        quotes_sent=int(len(dec_ts) * 0.6),
        cancels_sent=int(len(dec_ts) * 0.3),
        symbol="BTC/USDT",
        strategy=strategy,
        start_ns=int(ts[0]),
        end_ns=int(ts[-1]) + int(step_s * S),
        tick_size=tick,
        lot_size=0.001,
    )


def compare_runs() -> dict[str, dict]:
    return {
        name: run_metrics(synthetic_trace(120, seed=i, strategy=name))
        for i, name in enumerate(["as", "glft", "fixed"])
    }


def test_synthetic_trace_has_fills_on_both_sides() -> None:
    """The fixture is not vacuous: both sides fill, and markouts have fills to measure."""
    trace = synthetic_trace()
    assert {1, -1} <= set(trace.fill_side.tolist()) and len(trace.fill_ts_ns) > 20


def test_report_is_one_self_contained_file_with_every_chart(tmp_path: Path) -> None:
    """index.html is the only file written; it loads nothing from anywhere and holds all six charts."""
    trace = synthetic_trace()
    path = write_report(
        trace, run_metrics(trace), tmp_path / "out", title="Backtest <BTC>", compare=compare_runs()
    )
    assert path == tmp_path / "out" / "index.html"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["index.html"]
    html = path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href|action)\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)
    assert not re.search(r"https?://", html) and "@import" not in html and "url(" not in html
    assert "<link" not in html and "<script src" not in html and "<iframe" not in html
    for plot_id in PLOT_IDS:
        block = re.search(rf'<figure class="plot" id="{plot_id}">(.*?)</figure>', html, re.DOTALL)
        assert block, plot_id
        assert '<g class="data"' in block.group(1) and "no-data" not in block.group(1), plot_id
    assert "Backtest &lt;BTC&gt;" in html and "<BTC>" not in html


def test_report_tables_hold_the_metrics_and_the_comparison() -> None:
    """Every metrics row appears with one column per compared strategy; the metrics JSON is embedded."""
    trace = synthetic_trace(120)
    metrics = run_metrics(trace)
    html = render_report(trace, metrics, title="t", compare=compare_runs())
    tables = re.findall(r"<table class=\"metrics\">(.*?)</table>", html, re.DOTALL)
    assert len(tables) == 2
    assert "<th>as</th><th>glft</th><th>fixed</th>" in tables[1]
    for key, _ in ROWS:
        row = re.search(rf'<tr data-key="{re.escape(key)}">(.*?)</tr>', tables[1]).group(1)
        assert row.count("<td") == 3, key
    embedded = re.search(
        r'<script type="application/json" id="run-metrics">\n(.*?)\n</script>', html, re.DOTALL
    )
    assert json.loads(embedded.group(1)) == metrics


def test_empty_trace_still_renders_every_chart() -> None:
    """No samples, fills or decisions: each chart says so instead of failing."""
    trace = synthetic_trace(1)
    columns = {k: v[:0] for k, v in trace.__dict__.items() if isinstance(v, np.ndarray | list)}
    empty = RunTrace(**{**trace.__dict__, **columns})
    html = render_report(empty, run_metrics(empty), title="empty")
    assert html.count('<figure class="plot"') == 6 and html.count('class="no-data"') == 6


def test_long_series_are_thinned_for_drawing() -> None:
    """A day of 100 ms samples (864k points) is drawn with at most two points per pixel column."""
    n = 864_000
    x = np.arange(n, dtype=np.float64)
    y = np.sin(x / 5000.0)
    y[1000:2000] = np.nan
    tx, ty = plots.envelope(x, y, 800)
    assert len(tx) <= 1600 and np.nanmax(ty) == np.max(y[np.isfinite(y)])
    chart = plots.line_chart("c", "c", [plots.Series("s", x, y, "#000")], x_label="x", y_label="y")
    assert chart.count("L") < 4000 and len(chart) < 100_000


def test_ticks_are_round_and_cover_the_range() -> None:
    """Ticks are 1, 2 or 5 x 10^k apart and lie inside the range."""
    assert plots.nice_ticks(0.0, 10.0) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    ticks = plots.nice_ticks(29_998.3, 30_004.1)
    assert ticks[0] >= 29_998.3 and ticks[-1] <= 30_004.1 and len(ticks) >= 3
    assert plots.fmt_tick(0.30000000000000004, 0.1) == "0.3"
