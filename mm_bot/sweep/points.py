"""Each point as a config, checked before anything is scheduled: the config file with the point's
values set at their paths (``load_config(sets=...)``: the loader's own validation, so a bad path or
value comes back as its YAML path and message), then proved by ``verify`` as ``mm-bot backtest``
proves a config. A point that fails either is rejected with the reasons and never runs."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mm_bot.config import AppConfig, load_config
from mm_bot.errors import ConfigError
from mm_bot.sweep.grid import Point
from mm_bot.verify import VerifyReport, verify_config

__all__ = ["Checked", "Rejected", "check_points"]

ORIGIN = "--grid"


@dataclass(frozen=True, slots=True)
class Rejected:
    """``stage`` "config": ``problems`` are (YAML path, message); "verify": (market and property,
    status, detail and counterexample), with each failed property's JSON in ``proofs``."""

    point: Point
    stage: Literal["config", "verify"]
    problems: tuple[tuple[str, str], ...]
    proofs: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "point": self.point.id,
            "sets": dict(self.point.sets),
            "stage": self.stage,
            "problems": [list(p) for p in self.problems],
            "proofs": list(self.proofs),
        }

    def lines(self) -> list[str]:
        head = f"{self.point.id} ({self.point.label()}): refused by {self.stage}, not run"
        return [head, *(f"  {where}: {why}" for where, why in self.problems)]


@dataclass(frozen=True, slots=True)
class Checked:
    accepted: tuple[tuple[Point, AppConfig], ...]
    rejected: tuple[Rejected, ...]


def check_points(
    config: Path,
    points: Sequence[Point],
    *,
    environ: dict[str, str] | None = None,
    verify: Callable[[AppConfig], VerifyReport] = verify_config,
) -> Checked:
    """Load and prove every point (in order); ``environ`` as ``load_config``'s."""
    accepted: list[tuple[Point, AppConfig]] = []
    rejected: list[Rejected] = []
    for point in points:
        try:
            cfg = load_config(config, environ, sets=point.sets, sets_origin=ORIGIN)
        except ConfigError as exc:
            rejected.append(Rejected(point, "config", tuple(exc.problems)))
            continue
        report = verify(cfg)
        if report.ok:
            accepted.append((point, cfg))
            continue
        failed = [r for r in report.results if not r.ok]
        problems = tuple(
            (
                f"{r.market} {r.name}",
                f"{r.status}: {r.detail or r.summary}" + _counterexample(r.counterexample),
            )
            for r in failed
        )
        rejected.append(Rejected(point, "verify", problems, tuple(r.to_json() for r in failed)))
    return Checked(tuple(accepted), tuple(rejected))


def _counterexample(cx: dict[str, Any] | None) -> str:
    return "" if cx is None else f"; counterexample {json.dumps(cx, sort_keys=True, default=str)}"
