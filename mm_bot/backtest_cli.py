"""``mm-bot backtest``: replay recorded books through the configured market's core, then print the
metrics, write the run contract's summary (plus the backtest metrics and the A/k fit of the data)
and, with ``--report``, the HTML report. ``--compare as,glft,fixed`` runs each strategy kind on the
same data (the market's other settings unchanged) and tabulates them side by side.

Every configuration that runs is first proved by ``verify`` (as ``mm-bot run`` does): a
counterexample refuses it. Exit codes as ``mm-bot run``: 0 ok, 1 a proof failed, 2 a bad config,
flag or data file (one line naming it, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mm_bot.config_cli import CONFIG_HELP

if TYPE_CHECKING:
    from mm_bot.backtest.replay import BacktestResult, Latency
    from mm_bot.config import AppConfig
    from sim.data import Recording

__all__ = ["add_backtest_parser", "latency_for", "run_backtest_command", "run_summary"]

EXIT_OK, EXIT_PROOF, EXIT_USAGE = 0, 1, 2
KINDS = ("as", "glft", "fixed")
QUEUES = ("conservative", "power", "power2", "power3", "log", "log2")
SHOWN = ("pnl_quote", "sharpe", "max_drawdown_quote", "inventory_std_base", "fills", "fill_rate",
         "pnl_per_trade_quote", "fees_quote", "var_95_quote", "cvar_95_quote", "mean_spread_bps")  # fmt: skip


def add_backtest_parser(sub: Any) -> None:
    bt = sub.add_parser("backtest", help="replay recorded books through the strategy in virtual time")
    bt.add_argument("--data", nargs="+", required=True, metavar="FILE", help="raw capture files or one .npz")
    bt.add_argument("--config", default=None, help=CONFIG_HELP)
    bt.add_argument("--market", type=int, default=0, help="index of the configured market (default 0)")
    bt.add_argument("--report", type=Path, default=None, metavar="DIR", help="write DIR/index.html")
    bt.add_argument("--summary-json", type=Path, default=None, metavar="PATH", help="write the summary here")
    bt.add_argument(
        "--compare", default=None, metavar="KINDS", help="comma-separated strategy kinds: as,glft,fixed"
    )
    bt.add_argument(
        "--queue", default="conservative", choices=QUEUES, help="queue model (default conservative)"
    )
    bt.add_argument(
        "--latency-ms",
        type=float,
        default=None,
        help="order entry and response latency (default paper.latency)",
    )
    bt.add_argument("--no-progress", action="store_true", help="no progress bar")


def run_backtest_command(args: argparse.Namespace) -> int:
    from mm_bot.config import load_config, with_strategy_kind
    from mm_bot.data_cli import warn_about_damage
    from sim.data import DataError, load

    kinds = _kinds(args.compare)
    if kinds is None:
        print(f"mm-bot: --compare: give kinds from {', '.join(KINDS)}, comma-separated", file=sys.stderr)
        return EXIT_USAGE
    if args.latency_ms is not None and not 0 <= args.latency_ms < 60_000:
        print(f"mm-bot: --latency-ms: must be in [0, 60000), got {args.latency_ms}", file=sys.stderr)
        return EXIT_USAGE
    cfg = load_config(args.config)  # a ConfigError reaches cli.main: exit 2 naming the YAML path
    if not 0 <= args.market < len(cfg.markets):
        print(f"mm-bot: --market: the config has {len(cfg.markets)} market(s)", file=sys.stderr)
        return EXIT_USAGE
    try:
        recording = load(args.data)
    except DataError as exc:
        print(f"mm-bot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    warn_about_damage(recording)
    configs = {kind: with_strategy_kind(cfg, args.market, kind, "--compare") for kind in kinds}
    runs: dict[str, BacktestResult] = {}
    for name, run_cfg in [("configured", cfg), *configs.items()]:
        if not _proved(run_cfg, name):
            return EXIT_PROOF
    with _progress(not args.no_progress and sys.stderr.isatty()) as advance:
        for name, run_cfg in [("configured", cfg), *configs.items()]:
            runs[name] = _run(recording, run_cfg, args, advance(name))
    summary = _summary(recording, runs)
    _print(summary, sys.stdout)
    try:
        if args.summary_json is not None:
            args.summary_json.write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")
        if args.report is not None:
            _report(runs, summary, args.report, cfg.markets[args.market].symbol)
    except OSError as exc:
        print(f"mm-bot: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _kinds(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return ()
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    if not kinds or any(k not in KINDS for k in kinds) or len(set(kinds)) != len(kinds):
        return None
    return kinds


def _proved(cfg: AppConfig, name: str) -> bool:
    from mm_bot.verify import format_report, verify_config

    report = verify_config(cfg)
    if not report.ok:
        print(format_report(report), file=sys.stderr)
        print(f"mm-bot: refusing to backtest {name}: a quote invariant does not hold", file=sys.stderr)
    return report.ok


def _run(
    recording: Recording, cfg: AppConfig, args: argparse.Namespace, progress: Callable[[float], None]
) -> BacktestResult:
    from mm_bot.backtest.replay import run_backtest

    latency = latency_for(cfg, args.latency_ms)
    return run_backtest(
        recording, cfg, market=args.market, queue=args.queue, latency=latency, progress=progress
    )


def latency_for(cfg: AppConfig, latency_ms: float | None) -> Latency:
    """Order entry and response latency: ``--latency-ms`` if given, else ``paper.latency``."""
    from mm_bot.backtest.replay import Latency

    if latency_ms is None:
        return Latency.from_config(cfg)
    ns = round(latency_ms * 1e6)
    return Latency(entry=ns, response=ns)


def run_summary(recording: Recording, result: BacktestResult) -> dict[str, Any]:
    """One run's ``--summary-json``: the run contract's summary, its metrics and the data's A/k fit."""
    from mm_bot.backtest.calibration import recorded_intensity
    from mm_bot.backtest.metrics import run_metrics

    summary = dict(result.summary)
    summary["metrics"] = run_metrics(result.trace)
    summary["intensity_fit"] = recorded_intensity(recording, result.trace)
    return summary


def _summary(recording: Recording, runs: dict[str, BacktestResult]) -> dict[str, Any]:
    """The configured run's summary (``run_summary``) and, with ``--compare``, each kind's metrics."""
    from mm_bot.backtest.metrics import run_metrics

    summary = run_summary(recording, runs["configured"])
    compared = {name: run_metrics(r.trace) for name, r in runs.items() if name != "configured"}
    if compared:
        summary["compare"] = compared
    return summary


def _print(summary: dict[str, Any], out: Any) -> None:
    columns = {"configured": summary["metrics"], **summary.get("compare", {})}
    width = max(len(k) for k in SHOWN)
    print(f"{'':{width}}  " + "  ".join(f"{name:>12}" for name in columns), file=out)
    for key in SHOWN:
        cells = "  ".join(f"{_cell(m.get(key)):>12}" for m in columns.values())
        print(f"{key:{width}}  {cells}", file=out)
    fit = summary["intensity_fit"]
    print(f"A/k of the data: A {_cell(fit['A_per_s'])} /s, k {_cell(fit['k_per_price'])} /price", file=out)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _report(runs: dict[str, BacktestResult], summary: dict[str, Any], out_dir: Path, symbol: str) -> None:
    from mm_bot.backtest.report import write_report

    compare = {"configured": summary["metrics"], **summary["compare"]} if "compare" in summary else None
    title = f"mm-bot backtest: {symbol}"
    write_report(runs["configured"].trace, summary["metrics"], out_dir, title=title, compare=compare)


@contextmanager
def _progress(show: bool) -> Iterator[Callable[[str], Callable[[float], None]]]:
    """``advance(name)`` gives the progress callback of one run (fraction done, 0..1)."""
    if not show:
        yield lambda _name: lambda _done: None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:

        def advance(name: str) -> Callable[[float], None]:
            task = bar.add_task(name, total=1.0)
            return lambda done: bar.update(task, completed=done)

        yield advance
