"""The sweep on Ray: every (point, data file) is one Ray task running ``task.run_task``.

- **Where.** With no address a local Ray starts with the machine's cores and stops at the end; with
  one (``auto``, or ``HOST:PORT`` of a head node) the sweep joins that cluster and leaves it running.
  A process that already has Ray initialised (a library user, the tests) keeps its own and this
  module neither starts nor stops one. The cluster's workers must have the same mm-bot installed.
- **Data.** Each data file is loaded once, here (``sim.data.load``, its parse cache beside it), put
  in Ray's object store, and read by every task of that file from there (numpy arrays, zero copy
  on a node), so the workers need no shared disk. A file is loaded when its first task is
  submitted and released after its last one; tasks go file by file, so with ``max_parallel`` the
  first file's tasks run while later files load (without it every task is submitted at once, and
  Ray spills objects to disk if its store fills).
- **Faults.** A task runs with ``max_retries`` (Ray re-runs it if its worker process dies or its
  node is lost) and ``retry_exceptions``; once retries are spent its Ray error is its result, a
  failed row. A lost worker costs the tasks it was running one attempt each, not the sweep.
- **Order.** ``on_done`` gets each task as it finishes (any order); ``max_parallel`` caps the tasks
  submitted and unfinished at once (default: all, so an autoscaling cluster sees the whole queue).
"""

from __future__ import annotations

import logging
import os
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mm_bot.config import AppConfig
from mm_bot.sweep.task import RunOptions, TaskResult, run_task
from sim.data import Recording

__all__ = ["ClusterError", "Job", "Work", "ray_session", "run_jobs"]

Work = Callable[[Recording, AppConfig, RunOptions], TaskResult]
MAX_ERROR_CHARS = 400


class ClusterError(Exception):
    """Ray could not be started or joined; the message names the address."""


@dataclass(frozen=True, slots=True)
class Job:
    point: str
    data: str  # the data file's name, a key of ``run_jobs``'s ``data``
    cfg: AppConfig


@contextmanager
def ray_session(address: str | None, num_cpus: int | None = None) -> Iterator[str]:
    """Ray for the sweep (see the module docstring); yields where it runs, for the user.
    ``num_cpus``: a local Ray's CPUs (default the machine's cores)."""
    import ray

    started = not ray.is_initialized()
    if started:
        quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
        try:
            if address is None:
                cpus = num_cpus or os.cpu_count() or 1
                ray.init(address="local", num_cpus=cpus, include_dashboard=False, **quiet)
            else:
                ray.init(address=address, **quiet)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f"the Ray cluster at {address}" if address else "a local Ray"
            raise ClusterError(
                f"cannot start or join {where}: {_one_line(str(exc))}{_auth_hint(address)}"
            ) from None
    try:
        cpus = int(ray.cluster_resources().get("CPU", 0))  # type: ignore[no-untyped-call]
        kind = "local Ray" if address is None and started else f"Ray cluster {address or '(running)'}"
        yield f"{kind}, {cpus} CPU(s)"
    finally:
        if started:
            ray.shutdown()


def run_jobs(
    jobs: Sequence[Job],
    data: Mapping[str, Path],
    options: RunOptions,
    on_done: Callable[[Job, TaskResult], None],
    *,
    max_parallel: int | None = None,
    retries: int = 2,
    work: Work = run_task,
) -> None:
    """Run ``jobs`` on the Ray this process is connected to (``ray_session``)."""
    import ray

    remote = ray.remote(work).options(num_cpus=1, max_retries=retries, retry_exceptions=True)
    queue = deque(sorted(jobs, key=lambda j: list(data).index(j.data)))  # one file's tasks together
    left = Counter(job.data for job in jobs)
    refs: dict[str, Any] = {}
    pending: dict[Any, Job] = {}
    limit = max_parallel or max(len(jobs), 1)
    try:
        while queue or pending:
            while queue and len(pending) < limit:
                job = queue.popleft()
                if job.data not in refs:
                    refs[job.data] = ray.put(_load(data[job.data]))
                pending[remote.remote(refs[job.data], job.cfg, options)] = job
            ready, rest = ray.wait(list(pending), num_returns=1)
            if rest:  # and whatever else has finished meanwhile
                more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
                ready += more
            for ref in ready:
                job = pending.pop(ref)
                on_done(job, _outcome(ref))
                left[job.data] -= 1
                if left[job.data] == 0:
                    del refs[job.data]  # the file's object can go
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)


def _auth_hint(address: str | None) -> str:
    """Ray 2.59+ heads started by ``ray start`` require a token, but a driver joining by address
    sends one only in token mode: the failure then reads as a plain connection error."""
    if address is None or os.environ.get("RAY_AUTH_MODE") == "token":
        return ""
    return (
        "; if the cluster uses token authentication (the default of `ray start` since Ray 2.59), set "
        "RAY_AUTH_MODE=token here, with its token in ~/.ray/auth_token, RAY_AUTH_TOKEN_PATH or RAY_AUTH_TOKEN"
    )


def _load(path: Path) -> Recording:
    from sim.data import load

    return load([path])


def _outcome(ref: Any) -> TaskResult:
    import ray
    from ray.exceptions import RayError, RayTaskError

    try:
        result: TaskResult = ray.get(ref)
    except RayTaskError as exc:  # the task's own exception, after its retries
        cause = exc.cause if isinstance(getattr(exc, "cause", None), BaseException) else exc
        return TaskResult(None, _one_line(f"{type(cause).__name__}: {cause}"))
    except RayError as exc:  # its worker or node died on every attempt, or it was cancelled
        return TaskResult(None, _one_line(f"{type(exc).__name__}: {exc}"))
    return result


def _one_line(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first[:MAX_ERROR_CHARS]
