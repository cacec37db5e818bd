"""A sweep's ``--out`` directory: what has run, streamed as it finishes, and what ``--resume`` skips.

- ``sweep.json``: the manifest (config file digest, data files, the points, the backtest options).
  ``--resume`` continues only the same sweep: a manifest that differs is refused, naming its keys.
- ``results.csv``: one row per task (point, data file), appended and flushed as each task ends:
  ``point``, ``data``, ``status`` (``ok`` or ``failed``), ``error``, one column per grid path (the
  value's YAML text), then ``METRICS`` (floats written exactly, ``repr``; empty for None). At the end
  it is rewritten in the sweep's order (points, then data files), so the same sweep gives the same
  file whatever the number of workers or the order tasks finished in.
- ``summaries.jsonl``: per finished task, its full ``--summary-json`` object and its PnL curve,
  written before its row (the row is the commit: a task counts as done once its ``ok`` row is there).

On ``--resume`` a task with an ``ok`` row is skipped; a failed one runs again. A partial last line
(the process was killed mid-write) is dropped.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from mm_bot.backtest.report import ROWS, lookup
from mm_bot.sweep.grid import Point
from mm_bot.sweep.task import TaskResult

__all__ = ["METRICS", "Key", "Store", "StoreError", "file_digest", "metric_cells"]

METRICS = (*(key for key, _ in ROWS if key != "sharpe_interval_s"), "kill_reason")
BASE_COLUMNS = ("point", "data", "status", "error")
MANIFEST, RESULTS, SUMMARIES = "sweep.json", "results.csv", "summaries.jsonl"
Key = tuple[str, str]  # (point id, data file name)


class StoreError(Exception):
    """The ``--out`` directory cannot take this sweep; the message says why and what to do."""


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def metric_cells(summary: Mapping[str, Any]) -> dict[str, str]:
    """The METRICS columns of a task's summary, as CSV text."""
    metrics = summary["metrics"]
    cells = {key: _cell(lookup(metrics, key)) for key in METRICS if key != "kill_reason"}
    cells["kill_reason"] = _cell(summary.get("kill_reason"))
    return cells


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


class Store:
    """The results of one sweep in ``out`` (see the module docstring)."""

    def __init__(self, out: Path, manifest: Mapping[str, Any], paths: Sequence[str], *, resume: bool) -> None:
        self.out = out
        self.columns = (*BASE_COLUMNS, *paths, *METRICS)
        self.rows: dict[Key, dict[str, str]] = {}
        self.curves: dict[Key, dict[str, Any]] = {}  # the PnL curves, for the report; summaries stay on disk
        out.mkdir(parents=True, exist_ok=True)
        manifest_path = out / MANIFEST
        if manifest_path.exists() or (out / RESULTS).exists():
            if not resume:
                raise StoreError(f"{out} already holds a sweep: --resume continues it, or give another --out")
            self._check_manifest(manifest_path, manifest)
            self._read_previous()
        manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        self._rewrite()
        self._csv_file: IO[str] = (out / RESULTS).open("a", newline="", encoding="utf-8")
        self._csv = csv.DictWriter(self._csv_file, self.columns)
        self._jsonl: IO[str] = (out / SUMMARIES).open("a", encoding="utf-8")

    @property
    def done(self) -> set[Key]:
        return {key for key, row in self.rows.items() if row["status"] == "ok"}

    def add(self, row: Mapping[str, str], record: dict[str, Any] | None) -> None:
        """Stream one finished task: its summary record (ok tasks), then its row."""
        key = (row["point"], row["data"])
        if record is not None:
            self._jsonl.write(json.dumps(record, allow_nan=False, sort_keys=True) + "\n")
            self._jsonl.flush()
            self.curves[key] = record["curve"]
        self._csv.writerow(dict(row))
        self._csv_file.flush()
        self.rows[key] = dict(row)

    def add_result(self, point: Point, data: str, result: TaskResult) -> None:
        """``add`` a finished task: its row (the point's values, its metrics or its error) and, if it
        ran, its summary and PnL curve."""
        status = "ok" if result.summary is not None else "failed"
        row = {
            "point": point.id,
            "data": data,
            "status": status,
            "error": result.error or "",
            **dict(point.sets),
        }
        record = None
        if result.summary is not None:
            row.update(metric_cells(result.summary))
            curve = {"t_s": result.curve_t_s, "pnl_quote": result.curve_pnl_quote}
            record = {"point": point.id, "data": data, "summary": result.summary, "curve": curve}
        self.add(row, record)

    def close(self) -> None:
        self._csv_file.close()
        self._jsonl.close()

    def finish(self, order: Iterable[Key]) -> list[dict[str, str]]:
        """Close, and rewrite ``results.csv`` with the rows of ``order`` (those that ran), in that order."""
        self.close()
        rows = [self.rows[key] for key in order if key in self.rows]
        self._write_csv(rows)
        return rows

    def _check_manifest(self, path: Path, manifest: Mapping[str, Any]) -> None:
        try:
            previous = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise StoreError(f"--resume: cannot read {path}: {exc}") from None
        if not isinstance(previous, dict):
            raise StoreError(f"--resume: {path} is not a sweep manifest")
        differ = sorted(k for k in {*previous, *manifest} if previous.get(k) != manifest.get(k))
        if differ:
            raise StoreError(
                f"--resume: {self.out} holds another sweep (it differs in {', '.join(differ)}); "
                "give another --out, or the same flags, config and data"
            )

    def _read_previous(self) -> None:
        results = self.out / RESULTS
        if results.exists():
            with results.open(newline="", encoding="utf-8") as f:
                for row in csv.DictReader(f):
                    complete = None not in row and all(v is not None for v in row.values())
                    if complete and tuple(row) == self.columns and row["status"] in ("ok", "failed"):
                        self.rows[(row["point"], row["data"])] = row

    def _rewrite(self) -> None:
        """The files as read, keeping the rows and the summaries of the tasks done (a partial line
        dropped), so that appending continues them cleanly."""
        self._write_csv(list(self.rows.values()))
        summaries, tmp = self.out / SUMMARIES, self.out / (SUMMARIES + ".tmp")
        done = self.done
        with tmp.open("w", encoding="utf-8") as out:
            if summaries.exists():
                with summaries.open(encoding="utf-8") as f:
                    for line in f:
                        try:
                            record = json.loads(line)
                        except ValueError:
                            continue  # a partial last line
                        key = (record.get("point"), record.get("data"))
                        if key in done:
                            out.write(line if line.endswith("\n") else line + "\n")
                            self.curves[key] = record.get("curve")
        os.replace(tmp, summaries)

    def _write_csv(self, rows: Sequence[Mapping[str, str]]) -> None:
        tmp = self.out / (RESULTS + ".tmp")
        with tmp.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, self.columns)
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, self.out / RESULTS)
