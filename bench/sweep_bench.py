"""Sweep throughput on Ray against the same backtests one by one in one process.

The sweep: a grid of ``--points`` configs (gamma × min_spread_bps over the default config) over
``--files`` copies of the first recorded spot file (11 minutes of BTCUSDT; each copy is its own data
file, loaded and put in the object store once), one Ray task per (point, file), on a local Ray of
``--cpus`` CPUs (default: the machine's cores). ``seconds`` runs from the first load to the last
result (``mm_bot.sweep.driver.run_jobs``: loading, the object store, every task). Starting Ray and
its workers is timed apart, ``ray_start_seconds``: ``ray.init`` and one task per CPU that imports
the task's code (what a sweep's first tasks wait for on a fresh local Ray, and not at all on a
running cluster); ``speedup_with_start`` counts it in. ``serial_seconds``: the same
loads and the same ``task.run_task`` calls in this process, one after the other. Both read the
parse cache, written before either is timed; neither includes the proofs (``verify``), which the
command runs once per point before scheduling. ``identical``: every task's metrics are the same
both ways.

``pool_seconds`` / ``pool_speedup``: the same tasks on a plain ``multiprocessing`` pool of as many
processes, forked after the data is loaded (no imports, no object store, no Ray): what this host
gives to parallel backtests at all, so a shortfall of ``speedup`` can be told apart from Ray's cost.
On a shared host, run it when the machine is otherwise idle (``load_avg_1m`` is recorded).

Usage: ``python bench/sweep_bench.py [--json] [--points N] [--files N] [--cpus N]``
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import tempfile
import time
from pathlib import Path

from mm_bot.config import load_config
from mm_bot.sweep.driver import Job, ray_session, run_jobs
from mm_bot.sweep.grid import grid_points, parse_grid
from mm_bot.sweep.store import metric_cells
from mm_bot.sweep.task import RunOptions, TaskResult, run_task
from sim.data import Recording, load

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "binance-btcusdt-2024-08-08" / "spot_btcusdt_20240808.gz"
CONFIG = ROOT / "config.yaml"
GAMMAS = ("0.0005", "0.001", "0.002", "0.004", "0.008", "0.016")
SPREADS = ("1", "2")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--points", type=int, default=8, help="grid points (at most 12)")
    ap.add_argument("--files", type=int, default=2, help="copies of the spot file")
    ap.add_argument("--cpus", type=int, default=None, help="local Ray CPUs (default: the machine's)")
    args = ap.parse_args()
    grid = f"markets.0.strategy.gamma={','.join(GAMMAS)};markets.0.quoting.min_spread_bps={','.join(SPREADS)}"
    points = grid_points(parse_grid(grid))[: args.points]
    configs = {p.id: load_config(CONFIG, {}, sets=p.sets) for p in points}
    options = RunOptions()
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for i in range(args.files):
            path = Path(tmp) / f"day{i}_{DATA.name}"
            shutil.copy(DATA, path)
            load([path])  # writes the parse cache: the timed loads read it
            files[path.name] = path
        jobs = [Job(p.id, name, configs[p.id]) for p in points for name in files]
        serial_s, serial = run_serial(jobs, files, options)
        t0 = time.perf_counter()
        with ray_session(None, num_cpus=args.cpus) as where:
            warm_up(args.cpus or os.cpu_count() or 1)
            start_s = time.perf_counter() - t0
            swept: dict[tuple[str, str], TaskResult] = {}
            t1 = time.perf_counter()
            run_jobs(
                jobs, files, options, lambda job, result: swept.__setitem__((job.point, job.data), result)
            )
            sweep_s = time.perf_counter() - t1
        pool_s = run_pool(jobs, files, options, args.cpus or os.cpu_count() or 1)
    identical = all(_cells(swept[key]) == _cells(result) for key, result in serial.items())
    out = {
        "tasks": len(jobs),
        "points": len(points),
        "files": len(files),
        "ray": where,
        "seconds": round(sweep_s, 3),
        "tasks_per_sec": round(len(jobs) / sweep_s, 3),
        "serial_seconds": round(serial_s, 3),
        "serial_tasks_per_sec": round(len(jobs) / serial_s, 3),
        "speedup": round(serial_s / sweep_s, 3),
        "ray_start_seconds": round(start_s, 3),
        "speedup_with_start": round(serial_s / (start_s + sweep_s), 3),
        "pool_seconds": round(pool_s, 3),
        "pool_speedup": round(serial_s / pool_s, 3),
        "load_avg_1m": os.getloadavg()[0],
        "identical": identical,
    }
    if args.json:
        print(json.dumps(out))
    else:
        for key, value in out.items():
            print(f"{key:22} {value}")


def run_serial(
    jobs: list[Job], files: dict[str, Path], options: RunOptions
) -> tuple[float, dict[tuple[str, str], TaskResult]]:
    t0 = time.perf_counter()
    results = {}
    for name, path in files.items():
        recording = load([path])
        for job in (j for j in jobs if j.data == name):
            results[(job.point, job.data)] = run_task(recording, job.cfg, options)
    return time.perf_counter() - t0, results


def warm_up(cpus: int) -> None:
    """Tasks that import what a sweep task runs, a batch of ``cpus`` at a time, until as many
    worker processes have done it."""
    import ray

    def imports() -> int:
        import mm_bot.sweep.task  # noqa: F401

        return os.getpid()

    task = ray.remote(imports).options(num_cpus=1)
    warm: set[int] = set()
    while len(warm) < cpus:
        warm.update(ray.get([task.remote() for _ in range(cpus)]))


_POOL: dict[str, Recording] = {}


def run_pool(jobs: list[Job], files: dict[str, Path], options: RunOptions, processes: int) -> float:
    """The same tasks on ``processes`` forked processes that inherit the loaded recordings."""
    _POOL.update({name: load([path]) for name, path in files.items()})
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        t0 = time.perf_counter()
        pool.map(_pool_task, [(job, options) for job in jobs], chunksize=1)
        return time.perf_counter() - t0


def _pool_task(item: tuple[Job, RunOptions]) -> None:
    job, options = item
    run_task(_POOL[job.data], job.cfg, options)


def _cells(result: TaskResult) -> dict[str, str] | None:
    return metric_cells(result.summary) if result.summary is not None else None


if __name__ == "__main__":
    main()
