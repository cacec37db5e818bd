"""Run metrics on tiny hand-made traces, against values worked out by hand, plus properties."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mm_bot.backtest.metrics import (
    SECONDS_PER_YEAR,
    interval_changes,
    max_drawdown,
    run_metrics,
    sharpe,
    var_cvar,
)
from mm_bot.backtest.trace import RunTrace
from tests.test_architecture import FORBIDDEN, ROOT, closure

S = 1_000_000_000
NAN = math.nan

Fill = tuple[float, int, float, float, float, bool]  # t_s, side, price, qty, fee, maker


def make(
    ts_s: Sequence[float] = (),
    *,
    pnl: Sequence[float] | None = None,
    mid: Sequence[float] | None = None,
    pos: Sequence[float] | None = None,
    bid: Sequence[float] | None = None,
    ask: Sequence[float] | None = None,
    fills: Sequence[Fill] = (),
    decisions: Sequence[tuple[float, int, str, str]] = (),
    quotes_sent: int = 0,
    end_s: float | None = None,
) -> RunTrace:
    """A trace from lists in seconds; missing sample columns are zeros (NaN for quotes)."""
    n = len(ts_s)

    def col(values: Sequence[float] | None, default: float) -> np.ndarray:
        return np.array(values if values is not None else [default] * n, dtype=np.float64)

    m = col(mid, 100.0)
    end = end_s if end_s is not None else (ts_s[-1] if n else 0.0)
    return RunTrace(
        ts_ns=(np.array(ts_s, dtype=np.float64) * S).astype(np.int64),
        mid=m,
        best_bid=m - 0.5,
        best_ask=m + 0.5,
        bid_quote=col(bid, NAN),
        ask_quote=col(ask, NAN),
        position_base=col(pos, 0.0),
        pnl_quote=col(pnl, 0.0),
        sigma=col(None, NAN),
        fill_ts_ns=np.array([round(f[0] * S) for f in fills], dtype=np.int64),
        fill_side=np.array([f[1] for f in fills], dtype=np.int64),
        fill_price=np.array([f[2] for f in fills], dtype=np.float64),
        fill_qty_base=np.array([f[3] for f in fills], dtype=np.float64),
        fill_fee_quote=np.array([f[4] for f in fills], dtype=np.float64),
        fill_maker=np.array([f[5] for f in fills], dtype=np.bool_),
        decision_ts_ns=np.array([round(d[0] * S) for d in decisions], dtype=np.int64),
        decision_side=np.array([d[1] for d in decisions], dtype=np.int64),
        decision_action=[d[2] for d in decisions],
        decision_reason=[d[3] for d in decisions],
        quotes_sent=quotes_sent,
        cancels_sent=0,
        symbol="BTC/USDT",
        strategy="as",
        start_ns=round(ts_s[0] * S) if n else 0,
        end_ns=round(end * S),
        tick_size=0.01,
        lot_size=0.001,
    )


def test_pnl_and_max_drawdown() -> None:
    """Final PnL is the last sample; the drawdown is the worst fall from a running peak (2 -> -1)."""
    m = run_metrics(make([0, 1, 2, 3, 4], pnl=[0, 2, -1, 3, 1]))
    assert m["pnl_quote"] == 1.0
    assert m["max_drawdown_quote"] == 3.0


def test_sharpe_annualised_from_one_second_changes() -> None:
    """Changes [1, 2, -1, 2]: mean 1, sample std sqrt(2), times sqrt(seconds per year)."""
    m = run_metrics(make([0, 1, 2, 3, 4], pnl=[0, 1, 3, 2, 4]))
    assert m["sharpe_interval_s"] == 1.0
    assert m["sharpe"] == pytest.approx(1 / math.sqrt(2) * math.sqrt(365 * 24 * 3600))


def test_interval_changes_read_pnl_as_of_each_grid_point() -> None:
    """Samples at 0, 0.5, 2.5 s read at 0, 1, 2, 3 s give 0, 1, 1, 4; a partial last interval is dropped."""
    ts = (np.array([0, 0.5, 2.5]) * S).astype(np.int64)
    got = interval_changes(ts, np.array([0.0, 1.0, 4.0]), 0, int(3.7 * S), S)
    assert got.tolist() == [1.0, 0.0, 3.0]


def test_interval_changes_before_the_first_sample_use_its_value() -> None:
    """Grid points before the first sample take the first value: no change is invented."""
    ts = (np.array([1.5, 2.5]) * S).astype(np.int64)
    assert interval_changes(ts, np.array([5.0, 6.0]), 0, 3 * S, S).tolist() == [0.0, 0.0, 1.0]


def test_sharpe_is_none_when_undefined() -> None:
    """Constant PnL, one change, or no changes: Sharpe is None, never NaN."""
    assert run_metrics(make([0, 1, 2, 3], pnl=[5, 5, 5, 5]))["sharpe"] is None
    assert run_metrics(make([0, 1], pnl=[0, 1]))["sharpe"] is None
    assert sharpe(np.empty(0), 1.0) is None


def test_sharpe_at_one_minute_intervals() -> None:
    """With a 60 s interval the annualisation is sqrt(minutes per year) and the interval is reported."""
    m = run_metrics(make([0, 60, 120, 180], pnl=[0, 1, 3, 4]), interval_s=60.0)
    changes = np.array([1.0, 2.0, 1.0])
    want = changes.mean() / changes.std(ddof=1) * math.sqrt(SECONDS_PER_YEAR / 60)
    assert m["sharpe_interval_s"] == 60.0 and m["sharpe"] == pytest.approx(want)


def test_var_and_cvar_historical_loss_positive() -> None:
    """Twenty changes -10, -5 and 18 x 1: the 5th percentile interpolates to -5.25; the tail is [-10]."""
    changes = np.array([-10.0, -5.0] + [1.0] * 18)
    assert var_cvar(changes, 0.95) == (pytest.approx(5.25), pytest.approx(10.0))
    m = run_metrics(make(list(range(21)), pnl=np.concatenate(([0.0], np.cumsum(changes))).tolist()))
    assert m["var_95_quote"] == pytest.approx(5.25) and m["cvar_95_quote"] == pytest.approx(10.0)


def test_var_is_negative_when_even_the_worst_interval_gains() -> None:
    """Every change a gain: the "loss" at 95% is negative, as the sign convention says."""
    assert var_cvar(np.array([1.0, 2.0, 3.0]), 0.95)[0] == pytest.approx(-1.1)


def test_inventory_std_is_time_weighted() -> None:
    """Position 0 for 1 s then 1 for 3 s: mean 0.75, variance (0.5625 + 3 * 0.0625) / 4 = 0.1875."""
    m = run_metrics(make([0, 1], pos=[0, 1], end_s=4))
    assert m["inventory_std_base"] == pytest.approx(math.sqrt(0.1875))
    assert m["max_abs_position_base"] == 1.0 and m["position_base"] == 1.0


def test_fill_counts_rate_volume_fees_and_pnl_per_trade() -> None:
    """Two fills on eight quotes: rate 0.25; PnL 1 over two fills is 0.5 a trade; sums of qty and fee."""
    fills: list[Fill] = [(1, 1, 99.5, 0.2, 0.01, True), (2, -1, 100.5, 0.3, -0.02, False)]
    m = run_metrics(make([0, 1, 2, 3], pnl=[0, 0, 0.5, 1], fills=fills, quotes_sent=8))
    assert m["fills"] == 2 and m["maker_fills"] == 1
    assert m["fill_rate"] == 0.25
    assert m["pnl_per_trade_quote"] == 0.5
    assert m["volume_base"] == pytest.approx(0.5) and m["fees_quote"] == pytest.approx(-0.01)


def test_markouts_by_horizon_with_exclusions() -> None:
    """Mid 100 + 0.1 t. Buy 100.4 at 5 s: +0.2, +1.1, +6.1. Sell 102.1 at 20 s: 0, -0.9, and its 60 s
    horizon (80 s) passes the last sample (70 s): excluded."""
    ts = list(range(71))
    fills: list[Fill] = [(5, 1, 100.4, 1, 0, True), (20, -1, 102.1, 1, 0, True)]
    m = run_metrics(make(ts, mid=[100 + 0.1 * t for t in ts], fills=fills))["markouts"]
    assert list(m) == ["1s", "10s", "60s"]
    assert m["1s"]["count"] == 2 and m["1s"]["excluded"] == 0
    assert m["1s"]["mean_quote"] == pytest.approx(0.1)
    assert m["1s"]["mean_bps"] == pytest.approx((0.2 / 100.4 + 0.0) / 2 * 1e4, abs=1e-9)
    assert m["10s"]["mean_quote"] == pytest.approx((1.1 - 0.9) / 2)
    assert m["60s"] == {
        "horizon_s": 60,
        "count": 1,
        "excluded": 1,
        "mean_quote": pytest.approx(6.1),
        "mean_bps": pytest.approx(6.1 / 100.4 * 1e4),
    }


def test_markout_reads_the_mid_as_of_the_horizon_and_skips_missing_mids() -> None:
    """Fill at 0.5 s: the 1 s mid is the sample at 1 s (1.5 s has none); a NaN mid is passed over."""
    m = run_metrics(
        make([0, 1, 2], mid=[100, 101, NAN], fills=[(0.5, -1, 100.0, 1, 0, True)], end_s=3),
    )["markouts"]
    assert m["1s"]["mean_quote"] == pytest.approx(-1.0)
    assert m["10s"]["count"] == 0 and m["10s"]["excluded"] == 1 and m["10s"]["mean_bps"] is None


def test_mean_spread_and_two_sided_share_are_time_weighted() -> None:
    """Both sides rest at 0 s (200 bps, 1 s) and 2 s (100 bps, 2 s); one side only at 1 s."""
    m = run_metrics(make([0, 1, 2], bid=[99, NAN, 99.5], ask=[101, 101, 100.5], end_s=4))
    assert m["mean_spread_bps"] == pytest.approx((200 * 1 + 100 * 2) / 3)
    assert m["two_sided_share"] == pytest.approx(3 / 4)


def test_decision_reasons_use_the_summary_labels() -> None:
    """Decisions are counted by "action(reason)", as the run summary counts them."""
    decisions = [
        (0, 1, "send", "optimal_price"),
        (1, -1, "keep", "within_tolerance"),
        (2, 1, "send", "optimal_price"),
    ]
    m = run_metrics(make([0, 1, 2], decisions=decisions))
    assert m["decisions"] == 3
    assert m["decision_reasons"] == {"keep(within_tolerance)": 1, "send(optimal_price)": 2}


def test_empty_trace_gives_nones_and_zeros_and_valid_json() -> None:
    """No samples, fills or decisions: nothing is NaN, undefined figures are None."""
    m = run_metrics(make())
    json.dumps(m, allow_nan=False)
    assert m["pnl_quote"] is None and m["sharpe"] is None and m["var_95_quote"] is None
    assert m["fill_rate"] is None and m["pnl_per_trade_quote"] is None and m["mean_spread_bps"] is None
    assert m["fills"] == 0 and m["max_drawdown_quote"] == 0.0 and m["volume_base"] == 0.0
    assert m["markouts"]["1s"] == {
        "horizon_s": 1,
        "count": 0,
        "excluded": 0,
        "mean_quote": None,
        "mean_bps": None,
    }


def test_non_finite_pnl_samples_are_skipped() -> None:
    """A NaN PnL (mid unknown) is not a value: the final PnL and the drawdown use the finite ones."""
    m = run_metrics(make([0, 1, 2, 3], pnl=[0, 2, NAN, 1]))
    assert m["pnl_quote"] == 1.0 and m["max_drawdown_quote"] == 1.0


def test_trace_refuses_arrays_of_different_lengths() -> None:
    """A trace whose sample columns differ in length is refused at construction, naming the group."""
    t = make([0, 1])
    with pytest.raises(ValueError, match="samples"):
        RunTrace(**{**t.__dict__, "mid": np.zeros(3)})


@pytest.mark.parametrize("module", ["metrics.py", "trace.py", "plots.py"])
def test_metrics_modules_are_pure(module: str) -> None:
    """metrics, the trace and the chart code import no IO, clock or metrics code (see test_architecture)."""
    path = ROOT / "mm_bot" / "backtest" / module
    assert not {top for top in closure(path) if top in FORBIDDEN}
    assert isinstance(path, Path)


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(st.lists(finite, min_size=1, max_size=60))
def test_max_drawdown_is_between_zero_and_the_range(pnl: list[float]) -> None:
    """Max drawdown is never negative and never more than max - min."""
    a = np.array(pnl)
    dd = max_drawdown(a)
    assert 0.0 <= dd <= float(a.max() - a.min())


@given(st.lists(finite, min_size=1, max_size=80))
def test_cvar_is_at_least_var(changes: list[float]) -> None:
    """The mean loss beyond VaR is at least VaR."""
    var, cvar = var_cvar(np.array(changes), 0.95)
    assert var is not None and cvar is not None and cvar >= var


@given(st.lists(finite, min_size=2, max_size=50), st.floats(min_value=1e-3, max_value=1e3))
def test_sharpe_ignores_the_scale_of_pnl(changes: list[float], scale: float) -> None:
    """Scaling every PnL change by a positive factor leaves Sharpe unchanged."""
    a = np.array(changes)
    base, scaled = sharpe(a, 1.0), sharpe(a * scale, 1.0)
    if base is None or a.std() < 1e-6:
        return
    assert scaled == pytest.approx(base, rel=1e-6)


@settings(max_examples=60)
@given(
    st.lists(st.tuples(finite, st.floats(-5, 5), st.booleans()), min_size=0, max_size=30),
    st.lists(st.tuples(st.floats(0, 40), st.sampled_from([1, -1]), st.floats(90, 110)), max_size=10),
)
def test_any_trace_gives_json_without_nan(rows: list[tuple[float, float, bool]], fills: list) -> None:
    """Whatever the trace, the metrics serialise as strict JSON and the std figures are not negative."""
    ts = list(range(len(rows)))
    trace = make(
        ts,
        pnl=[r[0] for r in rows],
        pos=[r[1] for r in rows],
        bid=[99.0 if r[2] else NAN for r in rows],
        ask=[101.0] * len(rows),
        fills=[(t, side, p, 1.0, 0.0, True) for t, side, p in fills],
        quotes_sent=len(fills),
    )
    m = run_metrics(trace)
    json.dumps(m, allow_nan=False)
    assert m["max_drawdown_quote"] >= 0
    assert m["inventory_std_base"] is None or m["inventory_std_base"] >= 0
    assert all(v["count"] + v["excluded"] == len(fills) for v in m["markouts"].values())
