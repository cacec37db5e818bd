"""The ranked table of a sweep and its best point as a config file.

A point's score in a metric is the mean of that metric over the data files where its task
succeeded. Points are ranked by ``--rank-by`` (higher first, except the metrics of ``LOWER_IS_BETTER``,
lower first); a point with a failed task, or without a value (a Sharpe of a run whose PnL never
moved), comes after every complete one; ties keep the points' order. The best point is the first
complete one with a value.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml  # type: ignore[import-untyped]

from mm_bot.config import AppConfig
from mm_bot.sweep.grid import Axis, Point, short_names
from mm_bot.sweep.store import METRICS

__all__ = [
    "LOWER_IS_BETTER",
    "NUMERIC",
    "RANKABLE",
    "Score",
    "best",
    "best_yaml",
    "format_table",
    "rank",
    "scores",
    "write_ranked",
]

NUMERIC = tuple(m for m in METRICS if m != "kill_reason")
LOWER_IS_BETTER = frozenset(
    {"max_drawdown_quote", "var_95_quote", "cvar_95_quote", "inventory_std_base", "max_abs_position_base",
     "fees_quote", "cancels_sent"}
)  # fmt: skip
RANKABLE = tuple(m for m in NUMERIC if m != "position_base")  # a final position is neither good nor bad
SHOWN = ("pnl_quote", "sharpe", "max_drawdown_quote", "fills", "fill_rate")


@dataclass(frozen=True, slots=True)
class Score:
    point: Point
    means: dict[str, float | None]  # NUMERIC metric -> mean over the files that ran
    files_ok: int
    files_failed: int

    @property
    def complete(self) -> bool:
        return self.files_failed == 0 and self.files_ok > 0


def scores(points: Sequence[Point], rows: Sequence[Mapping[str, str]]) -> list[Score]:
    """One score per point that has rows, in the points' order."""
    by_point: dict[str, list[Mapping[str, str]]] = {}
    for row in rows:
        by_point.setdefault(row["point"], []).append(row)
    out = []
    for point in points:
        mine = by_point.get(point.id, [])
        ok = [r for r in mine if r["status"] == "ok"]
        if not mine:
            continue
        means = {m: _mean([float(r[m]) for r in ok if r[m] != ""]) for m in NUMERIC}
        out.append(Score(point, means, len(ok), len(mine) - len(ok)))
    return out


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def rank(points: Sequence[Score], by: str) -> list[Score]:
    sign = 1.0 if by in LOWER_IS_BETTER else -1.0

    def key(s: Score) -> tuple[bool, float]:
        value = s.means[by]
        return (not s.complete or value is None, sign * value if value is not None else 0.0)

    return sorted(points, key=key)  # stable: ties keep the points' order


def best(ranked: Sequence[Score], by: str) -> Score | None:
    first = ranked[0] if ranked else None
    return first if first is not None and first.complete and first.means[by] is not None else None


def format_table(ranked: Sequence[Score], axes: Sequence[Axis], by: str, top: int = 10) -> str:
    names = short_names(axes)
    metrics = [by, *(m for m in SHOWN if m != by)]
    head = ["rank", "point", *names, *metrics, "files"]
    lines = [head]
    for i, s in enumerate(ranked[:top], start=1):
        files = f"{s.files_ok}/{s.files_ok + s.files_failed}"
        values = [_fmt(s.means[m]) for m in metrics]
        lines.append([str(i), s.point.id, *(s.point.value(a.path) for a in axes), *values, files])
    widths = [max(len(line[c]) for line in lines) for c in range(len(head))]
    text = ["  ".join(cell.rjust(w) for cell, w in zip(line, widths, strict=True)) for line in lines]
    if len(ranked) > top:
        text.append(f"... {len(ranked) - top} more in ranked.csv")
    return "\n".join(text)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def write_ranked(path: Path, ranked: Sequence[Score], axes: Sequence[Axis]) -> None:
    """``rank, point``, the grid paths, ``files_ok, files_failed``, then each metric's mean."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["rank", "point", *(a.path for a in axes), "files_ok", "files_failed", *NUMERIC])
        for i, s in enumerate(ranked, start=1):
            values = ["" if s.means[m] is None else repr(s.means[m]) for m in NUMERIC]
            row = [str(i), s.point.id, *(s.point.value(a.path) for a in axes), str(s.files_ok)]
            writer.writerow([*row, str(s.files_failed), *values])


def best_yaml(score: Score, cfg: AppConfig, by: str) -> str:
    """The best point's config as it resolves (every default filled in), ready for ``--config``."""
    data = cfg.model_dump(mode="json", by_alias=True)
    head = [
        f"# mm-bot sweep: the best point, {score.point.id}, by {by} "
        f"(mean over {score.files_ok} data file(s): {_fmt(score.means[by])})",
        *(f"#   {path} = {text}" for path, text in score.point.sets),
        "# The config as it resolves, every default filled in (as `mm-bot check-config --show` prints it).",
    ]
    body = str(yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100))
    return "\n".join(head) + "\n" + body
