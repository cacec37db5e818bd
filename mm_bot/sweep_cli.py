"""``mm-bot sweep``: backtest every point of a grid of config values over every data file, each
(point, file) one Ray task, and rank the points (``mm_bot.sweep``).

Every point is loaded as a config and proved by ``verify`` first; one that fails is listed with
its YAML path or counterexample and not run. Results stream to ``--out`` as tasks finish; at the
end come ``ranked.csv`` (also printed), ``best.yaml``, ``index.html`` and ``rejected.json``.
Exit codes: 0 every task ran, 1 a task failed (after its retries) or no point passed its proofs,
2 a bad flag, grid, config, data file, ``--out`` or cluster address, or Ray is not installed;
130 interrupted (``--resume`` continues).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mm_bot.backtest_cli import QUEUES
from mm_bot.config_cli import CONFIG_HELP

if TYPE_CHECKING:
    from mm_bot.sweep.driver import Job, Work
    from mm_bot.sweep.grid import Axis, Point
    from mm_bot.sweep.points import Checked
    from mm_bot.sweep.store import Store
    from mm_bot.sweep.task import TaskResult

__all__ = ["add_sweep_parser", "run_sweep_command"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
INSTALL_HINT = "mm-bot sweep runs on Ray, which is not installed: pip install 'mm-bot[sweep]'"


def add_sweep_parser(sub: Any) -> None:
    sw = sub.add_parser("sweep", help="backtest a grid of config values over many data files, on Ray")
    sw.add_argument("--data", nargs="+", required=True, metavar="FILE", help="data files: one task per file")
    sw.add_argument("--config", default=None, help=CONFIG_HELP)
    sw.add_argument(
        "--grid",
        action="append",
        required=True,
        metavar="SPEC",
        help="PATH=V1,V2,...;PATH=... (or ranges log:A..B, lin:A..B, int:A..B with --samples)",
    )
    sw.add_argument("--samples", type=int, default=None, metavar="N", help="N random points from the ranges")
    sw.add_argument("--seed", type=int, default=None, metavar="S", help="seed of --samples (default 0)")
    sw.add_argument("--address", default=None, metavar="auto|HOST:PORT", help="join this Ray cluster")
    sw.add_argument("--max-parallel", type=int, default=None, metavar="N", help="at most N tasks at once")
    sw.add_argument("--out", type=Path, default=Path("sweep-out"), metavar="DIR", help="default ./sweep-out")
    sw.add_argument("--resume", action="store_true", help="skip the tasks already done in --out")
    sw.add_argument(
        "--rank-by",
        default="sharpe",
        metavar="METRIC",
        help="a ranked.csv metric: sharpe (default), pnl_quote, ...",
    )
    sw.add_argument("--market", type=int, default=0, help="index of the configured market (default 0)")
    sw.add_argument(
        "--queue", default="conservative", choices=QUEUES, help="queue model (default conservative)"
    )
    sw.add_argument("--latency-ms", type=float, default=None, help="order latency (default paper.latency)")
    sw.add_argument("--retries", type=int, default=2, help="Ray retries of a failed task (default 2)")
    sw.add_argument("--no-progress", action="store_true", help="no progress bar")


def run_sweep_command(args: argparse.Namespace, *, work: Work | None = None) -> int:
    """``work``: the function each task runs (default ``task.run_task``; the tests inject faults)."""
    try:
        importlib.import_module("ray")
    except ImportError:
        print(f"mm-bot: {INSTALL_HINT}", file=sys.stderr)
        return EXIT_USAGE
    problem = _flag_problem(args)
    if problem:
        print(f"mm-bot: {problem}", file=sys.stderr)
        return EXIT_USAGE
    from mm_bot.sweep.grid import GridError, grid_points, parse_grid, sample_points
    from mm_bot.sweep.points import check_points
    from mm_bot.sweep.rank import RANKABLE

    if args.rank_by not in RANKABLE:
        print(f"mm-bot: --rank-by: one of {', '.join(RANKABLE)}", file=sys.stderr)
        return EXIT_USAGE

    try:
        axes = parse_grid(";".join(args.grid))
        points = (
            grid_points(axes) if args.samples is None else sample_points(axes, args.samples, args.seed or 0)
        )
    except GridError as exc:
        print(f"mm-bot: --grid: {exc}", file=sys.stderr)
        return EXIT_USAGE
    checked = check_points(Path(args.config), points)
    for rejected in checked.rejected:
        print("\n".join(rejected.lines()), file=sys.stderr)
    if not checked.accepted:
        print("mm-bot: sweep: no point passed its checks; nothing to run", file=sys.stderr)
        return EXIT_USAGE if all(r.stage == "config" for r in checked.rejected) else EXIT_FAILED
    if not 0 <= args.market < len(checked.accepted[0][1].markets):
        print(
            f"mm-bot: --market: the config has {len(checked.accepted[0][1].markets)} market(s)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return _run(args, axes, points, checked, work)


def _flag_problem(args: argparse.Namespace) -> str | None:
    if args.samples is not None and args.samples < 1:
        return "--samples: must be at least 1"
    if args.seed is not None and (args.samples is None or args.seed < 0):
        return "--seed: a seed >= 0, and only with --samples"
    if args.max_parallel is not None and args.max_parallel < 1:
        return "--max-parallel: must be at least 1"
    if not 0 <= args.retries <= 100:
        return "--retries: must be in 0..100"
    if args.latency_ms is not None and not 0 <= args.latency_ms < 60_000:
        return f"--latency-ms: must be in [0, 60000), got {args.latency_ms}"
    names = [Path(f).name for f in args.data]
    missing = [f for f in args.data if not Path(f).is_file()]
    if missing:
        return f"--data: {missing[0]}: no such file"
    if len(set(names)) != len(names):
        return "--data: two files have the same name; a sweep keys its rows by file name"
    return None


def _run(
    args: argparse.Namespace, axes: Sequence[Axis], points: list[Point], checked: Checked, work: Work | None
) -> int:
    from mm_bot.sweep.driver import ClusterError, Job
    from mm_bot.sweep.store import Store, StoreError
    from sim.data import DataError

    files = {Path(f).name: Path(f) for f in args.data}
    try:
        store = Store(args.out, _manifest(args, points, files), [a.path for a in axes], resume=args.resume)
    except (StoreError, OSError) as exc:
        print(f"mm-bot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    by_id = {point.id: point for point, _ in checked.accepted}
    jobs = [
        Job(p.id, name, cfg)
        for p, cfg in checked.accepted
        for name in files
        if (p.id, name) not in store.done
    ]
    total = len(checked.accepted) * len(files)
    print(
        f"sweep: {len(points)} point(s), {len(checked.rejected)} refused; {len(files)} data file(s); "
        f"{total} task(s), {total - len(jobs)} already done",
        file=sys.stderr,
    )
    try:
        if jobs:
            _run_jobs(args, jobs, files, store, by_id, work)
    except (ClusterError, DataError, OSError) as exc:  # OSError: --out cannot be written (disk full)
        store.close()
        print(f"mm-bot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        store.close()
        print(
            f"mm-bot: interrupted; the finished tasks are in {args.out} (--resume continues)", file=sys.stderr
        )
        return EXIT_INTERRUPTED
    rows = store.finish([(p.id, name) for p, _ in checked.accepted for name in files])
    try:
        return _finish(args, axes, checked, rows, store, list(files))
    except OSError as exc:
        print(f"mm-bot: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE


def _run_jobs(
    args: argparse.Namespace,
    jobs: list[Job],
    files: dict[str, Path],
    store: Store,
    points: dict[str, Point],
    work: Work | None,
) -> None:
    from mm_bot.sweep.driver import ray_session, run_jobs
    from mm_bot.sweep.task import RunOptions, run_task

    options = RunOptions(market=args.market, queue=args.queue, latency_ms=args.latency_ms)
    with ray_session(args.address) as where, _progress(len(jobs), _show(args)) as advance:
        print(f"sweep: running {len(jobs)} task(s) on {where}", file=sys.stderr)

        def done(job: Job, result: TaskResult) -> None:
            store.add_result(points[job.point], job.data, result)
            advance()

        run_jobs(jobs, files, options, done, max_parallel=args.max_parallel, retries=args.retries,
                 work=work or run_task)  # fmt: skip


def _show(args: argparse.Namespace) -> bool:
    return not args.no_progress and sys.stderr.isatty()


def _manifest(args: argparse.Namespace, points: list[Point], files: dict[str, Path]) -> dict[str, Any]:
    from mm_bot.sweep.store import file_digest

    return {
        "config_sha256": file_digest(Path(args.config)),
        "data": [{"name": name, "bytes": path.stat().st_size} for name, path in files.items()],
        "points": {p.id: dict(p.sets) for p in points},
        "market": args.market,
        "queue": args.queue,
        "latency_ms": args.latency_ms,
    }


def _finish(
    args: argparse.Namespace,
    axes: Sequence[Axis],
    checked: Checked,
    rows: list[dict[str, str]],
    store: Store,
    files: list[str],
) -> int:
    from mm_bot.sweep.rank import best, best_yaml, format_table, rank, scores, write_ranked
    from mm_bot.sweep.report import write_report

    accepted = [p for p, _ in checked.accepted]
    ranked = rank(scores(accepted, rows), args.rank_by)
    out: Path = args.out
    write_ranked(out / "ranked.csv", ranked, axes)
    (out / "rejected.json").write_text(json.dumps([r.to_json() for r in checked.rejected], indent=2) + "\n")
    print(format_table(ranked, axes, args.rank_by))
    top = best(ranked, args.rank_by)
    if top is not None:
        cfg = dict(checked.accepted)[top.point]
        (out / "best.yaml").write_text(best_yaml(top, cfg, args.rank_by), encoding="utf-8")
    failed = [r for r in rows if r["status"] != "ok"]
    symbol = checked.accepted[0][1].markets[args.market].symbol
    facts = {
        "market": symbol,
        "points": f"{len(accepted)} run, {len(checked.rejected)} refused",
        "data files": str(len(files)),
        "tasks": f"{len(rows) - len(failed)} ok, {len(failed)} failed",
        "ranked by": args.rank_by,
    }
    if args.samples is not None:
        facts["samples"] = f"{args.samples}, seed {args.seed or 0}"
    write_report(
        out, title=f"mm-bot sweep: {symbol}", facts=facts, axes=axes, sampled=args.samples is not None,
        ranked=ranked, by=args.rank_by, files=files, curves=store.curves, rejected=checked.rejected,
        failed=failed,
    )  # fmt: skip
    best_note = f", best point {top.point.id} in {out / 'best.yaml'}" if top is not None else ""
    print(f"sweep: {len(rows)} task(s) in {out / 'results.csv'}, report {out / 'index.html'}{best_note}",
          file=sys.stderr)  # fmt: skip
    for row in failed:
        print(f"sweep: {row['point']} on {row['data']} failed: {row['error']}", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


@contextmanager
def _progress(total: int, show: bool) -> Iterator[Callable[[], None]]:
    if not show:
        yield lambda: None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("sweep", total=total)
        yield lambda: bar.advance(task)
