"""Verification results: one ``PropertyResult`` per (market, property), a readable table, JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["proved", "failed", "unknown"]


@dataclass(frozen=True, slots=True)
class PropertyResult:
    """``proved``: Z3 refuted the negated claim over the whole range. ``failed``: a counterexample
    that, replayed on the float trading path, really violates the claim. ``unknown``: neither (solver
    timeout, or a counterexample the float path does not confirm); it counts as a failure."""

    market: str
    name: str
    status: Status
    seconds: float
    counterexample: dict[str, Any] | None = None
    detail: str = ""
    summary: str = ""
    statement: str = ""
    fix: str = ""  # what to change when it does not hold

    @property
    def ok(self) -> bool:
        return self.status == "proved"

    def to_json(self) -> dict[str, Any]:
        return {
            "market": self.market,
            "property": self.name,
            "status": self.status,
            "seconds": round(self.seconds, 6),
            "summary": self.summary,
            "statement": self.statement,
            "detail": self.detail,
            "fix": self.fix if not self.ok else "",
            "counterexample": self.counterexample,
        }


@dataclass(frozen=True, slots=True)
class MarketReport:
    market: str
    results: tuple[PropertyResult, ...]
    seconds: float  # wall time for the market: building the terms and every proof
    ranges: dict[str, Any] = field(default_factory=dict)  # the input ranges the proofs cover
    strategy: str = ""

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "market": self.market,
            "strategy": self.strategy,
            "ok": self.ok,
            "seconds": round(self.seconds, 6),
            "ranges": self.ranges,
            "results": [r.to_json() for r in self.results],
        }


@dataclass(frozen=True, slots=True)
class VerifyReport:
    markets: tuple[MarketReport, ...]
    timeout_ms: int
    seconds: float

    @property
    def results(self) -> list[PropertyResult]:
        return [r for m in self.markets for r in m.results]

    @property
    def ok(self) -> bool:
        return all(m.ok for m in self.markets)

    def to_json(self) -> dict[str, Any]:
        """``{"ok", "seconds", "timeout_ms", "markets": [{"market", "ok", "ranges", "results": [...]}]}``."""
        return {
            "ok": self.ok,
            "seconds": round(self.seconds, 6),
            "timeout_ms": self.timeout_ms,
            "markets": [m.to_json() for m in self.markets],
        }


def _num(v: Any) -> str:
    if isinstance(v, bool | int):
        return str(v)
    if isinstance(v, float):
        return f"{v:.10g}"
    if isinstance(v, list):
        return "[" + ", ".join(_num(x) for x in v) + "]"
    return str(v)


_INPUTS = ("inventory_base", "inventory2_base", "sigma", "A", "k", "tau_s", "mid", "best_bid", "best_ask")


def _quote_line(q: dict[str, Any]) -> str:
    sizes = f"sizes {_num(q['bid_size_base'])}/{_num(q['ask_size_base'])}"
    allowed = f"allowed {'bid' if q['bid_allowed'] else '-'}/{'ask' if q['ask_allowed'] else '-'}"
    bid = f"bid {_num(q['bid'])} ({q['bid_ticks']} ticks)"
    ask = f"ask {_num(q['ask'])} ({q['ask_ticks']} ticks)"
    return f"{bid}  {ask}  {sizes}  {allowed}"


def _counterexample_lines(cx: dict[str, Any]) -> list[str]:
    inputs = "  ".join(f"{k}={_num(cx[k])}" for k in _INPUTS if k in cx)
    lines = [f"counterexample: {inputs}"]
    for label, key in (("solver", "solver"), ("solver, 2nd inventory", "solver2")):
        if key in cx:
            lines.append(f"{label}: {_quote_line(cx[key])}")
    for label, key in (("float replay", "replay"), ("float replay, 2nd inventory", "replay2")):
        if key in cx:
            lines.append(f"{label}: {_quote_line(cx[key])}")
    extra = "  ".join(f"{k}={_num(v)}" for k, v in cx.get("values", {}).items())
    if extra:
        lines.append(f"values: {extra}")
    verdict = "violates" if cx.get("replay_violates") else "does NOT violate"
    lines.append(f"the float trading path {verdict} the property")
    return lines


def format_report(report: VerifyReport) -> str:
    """A table per market (property, status, solver time, what it means) and counterexamples."""
    out = [f"Z3 proofs of the quote invariants (timeout {report.timeout_ms} ms per proof)"]
    for m in report.markets:
        ranges = ", ".join(f"{k} {_num(v)}" for k, v in m.ranges.items())
        out.append("")
        out.append(f"{m.market} ({m.strategy}): {ranges}" if ranges else m.market)
        width = max([len(r.name) for r in m.results] + [8])
        out.append(f"  {'property':<{width}}  {'status':<7}  {'time':>8}  meaning")
        for r in m.results:
            status = r.status if r.ok else r.status.upper()
            out.append(f"  {r.name:<{width}}  {status:<7}  {r.seconds * 1e3:6.1f}ms  {r.summary}")
            if r.detail:
                out.append(f"  {'':<{width}}  {'':<7}  {'':>8}  {r.detail}")
            if r.counterexample is not None and not r.ok:
                out += [f"      {line}" for line in _counterexample_lines(r.counterexample)]
            if r.fix and not r.ok:
                out.append(f"      fix: {r.fix}")
    results = report.results
    bad = [r for r in results if not r.ok]
    n_markets = len(report.markets)
    out.append("")
    if not bad:
        out.append(f"all {len(results)} properties proved, {n_markets} market(s), {report.seconds:.2f} s")
    else:
        names = ", ".join(f"{r.market} {r.name} ({r.status})" for r in bad)
        out.append(f"{len(bad)} of {len(results)} properties NOT proved in {report.seconds:.2f} s: {names}")
    return "\n".join(out)
