"""Inline SVG charts for the HTML report, written by hand: no plotting library, nothing fetched.

Each chart is one ``<svg class="chart">`` string whose marks sit in ``<g class="data">`` (or, with
nothing to draw, a ``<text class="no-data">``), so a browser can check that it rendered. Long series
are thinned to a min/max envelope per pixel column before drawing (``envelope``); scatters keep an
even subset. Non-finite values are gaps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]

WIDTH, HEIGHT = 960, 300
LEFT, RIGHT, TOP, BOTTOM = 78, 16, 30, 44
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
GREY = "#9a9a9a"
MAX_SCATTER_POINTS = 1500


@dataclass(frozen=True)
class Series:
    name: str
    x: Floats
    y: Floats
    color: str
    width: float = 1.4
    dash: str | None = None


def envelope(x: Floats, y: Floats, columns: int) -> tuple[Floats, Floats]:
    """At most 2 * ``columns`` points keeping each column's min and max of y (x sorted); NaN y stays a
    gap only where a whole column is NaN."""
    if len(x) <= 2 * columns or len(x) == 0:
        return x, y
    span = float(x[-1] - x[0]) or 1.0
    col = np.clip(((x - x[0]) / span * columns).astype(np.int64), 0, columns - 1)
    starts = np.flatnonzero(np.r_[True, np.diff(col) != 0])
    with np.errstate(invalid="ignore"):
        lo, hi = np.fmin.reduceat(y, starts), np.fmax.reduceat(y, starts)
    xs = x[starts]
    return np.repeat(xs, 2), np.column_stack((lo, hi)).ravel()


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 × 10^k apart) covering ``lo..hi``."""
    raw = (hi - lo) / max(count, 1)
    if not raw > 0 or not math.isfinite(raw):
        return [lo]
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1.0, 2.0, 5.0, 10.0) if m * mag >= raw * (1 - 1e-9))
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    k = 0
    while first + k * step <= hi + step * 1e-9:
        ticks.append(first + k * step)
        k += 1
    return ticks


def fmt_tick(value: float, step: float) -> str:
    if abs(value) < abs(step) * 1e-6:
        return "0"
    if abs(step) >= 1e5 or abs(step) < 1e-4:
        return f"{value:.3g}"
    decimals = max(0, -math.floor(math.log10(abs(step)) + 1e-9))
    return f"{value:.{decimals}f}"


def data_range(
    arrays: Sequence[Floats], *, include_zero: bool = False, pad: float = 0.05
) -> tuple[float, float]:
    """Finite min..max of ``arrays`` with ``pad`` of the span either side; a point gets a small span."""
    finite = [a[np.isfinite(a)] for a in arrays]
    values = np.concatenate(finite) if finite else np.empty(0)
    if include_zero:
        values = np.append(values, 0.0)
    if len(values) == 0:
        return 0.0, 1.0
    lo, hi = float(np.min(values)), float(np.max(values))
    if hi == lo:
        half = max(abs(lo) * 0.01, 1e-9)
        return lo - half, hi + half
    span = hi - lo
    return lo - span * pad, hi + span * pad


@dataclass(frozen=True)
class Frame:
    """Data bounds and the plot area in pixels."""

    x0: float
    x1: float
    y0: float
    y1: float
    width: int = WIDTH
    height: int = HEIGHT

    def px(self, x: Floats | float) -> Floats:
        return LEFT + (np.asarray(x, dtype=np.float64) - self.x0) / (self.x1 - self.x0) * self.inner_w

    def py(self, y: Floats | float) -> Floats:
        return TOP + (self.y1 - np.asarray(y, dtype=np.float64)) / (self.y1 - self.y0) * self.inner_h

    @property
    def inner_w(self) -> int:
        return self.width - LEFT - RIGHT

    @property
    def inner_h(self) -> int:
        return self.height - TOP - BOTTOM


def svg(chart_id: str, title: str, body: list[str], width: int = WIDTH, height: int = HEIGHT) -> str:
    return (
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        + "".join(body)
        + "</svg>"
    )


def axes(frame: Frame, x_label: str, y_label: str, *, x_ticks: bool = True) -> list[str]:
    """Frame, grid, tick labels and axis labels."""
    out = [
        f'<rect class="frame" x="{LEFT}" y="{TOP}" width="{frame.inner_w}" height="{frame.inner_h}" '
        'fill="#fff" stroke="#444" stroke-width="0.8"/>'
    ]
    yt = nice_ticks(frame.y0, frame.y1)
    ystep = yt[1] - yt[0] if len(yt) > 1 else 1.0
    for v in yt:
        y = float(frame.py(v))
        out.append(f'<line x1="{LEFT}" x2="{LEFT + frame.inner_w}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
            f"{fmt_tick(v, ystep)}</text>"
        )
    if x_ticks:
        xt = nice_ticks(frame.x0, frame.x1, 8)
        xstep = xt[1] - xt[0] if len(xt) > 1 else 1.0
        base = TOP + frame.inner_h
        for v in xt:
            x = float(frame.px(v))
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{base}" class="grid"/>')
            out.append(
                f'<text x="{x:.1f}" y="{base + 15}" text-anchor="middle" font-size="11">'
                f"{fmt_tick(v, xstep)}</text>"
            )
    out.append(
        f'<text x="{LEFT + frame.inner_w / 2:.0f}" y="{frame.height - 6}" text-anchor="middle" '
        f'font-size="12">{escape(x_label)}</text>'
    )
    out.append(
        f'<text transform="translate(14 {TOP + frame.inner_h / 2:.0f}) rotate(-90)" text-anchor="middle" '
        f'font-size="12">{escape(y_label)}</text>'
    )
    return out


def legend(entries: Sequence[tuple[str, str]]) -> list[str]:
    """A row of colour keys above the plot area, right-aligned."""
    out, x = ['<g class="legend">'], float(WIDTH - RIGHT)
    for name, color in reversed(entries):
        x -= 7.0 * len(name) + 26
        out.append(f'<rect x="{x:.0f}" y="{TOP - 19}" width="12" height="10" fill="{color}"/>')
        out.append(f'<text x="{x + 16:.0f}" y="{TOP - 10}" font-size="11">{escape(name)}</text>')
    out.append("</g>")
    return out


def no_data(frame: Frame, text: str) -> str:
    return (
        f'<text class="no-data" x="{LEFT + frame.inner_w / 2:.0f}" y="{TOP + frame.inner_h / 2:.0f}" '
        f'text-anchor="middle" font-size="14" fill="#777">{escape(text)}</text>'
    )


def path_d(px: Floats, py: Floats) -> str:
    """An SVG path through the points, broken where a coordinate is not finite."""
    ok = np.isfinite(px) & np.isfinite(py)
    parts: list[str] = []
    pen_down = False
    for x, y, good in zip(px.tolist(), py.tolist(), ok.tolist(), strict=True):
        if not good:
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{x:.1f},{y:.1f}")
        pen_down = True
    return "".join(parts)


def line_chart(chart_id: str, title: str, series: Sequence[Series], *, x_label: str, y_label: str) -> str:
    """Lines against a shared x axis; each series thinned to the plot's pixel columns."""
    frame0 = Frame(0, 1, 0, 1)
    thinned = [(s, *envelope(s.x, s.y, frame0.inner_w)) for s in series]
    drawable = [t for t in thinned if np.any(np.isfinite(t[2]))]
    if not drawable:
        return svg(chart_id, title, [*axes(frame0, x_label, y_label), no_data(frame0, "no data")])
    x0, x1 = data_range([t[1] for t in drawable], pad=0.0)
    y0, y1 = data_range([t[2] for t in drawable])
    frame = Frame(x0, x1, y0, y1)
    body = [*axes(frame, x_label, y_label), '<g class="data">']
    for s, x, y in drawable:
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        body.append(
            f'<path class="series" data-name="{escape(s.name)}" d="{path_d(frame.px(x), frame.py(y))}" '
            f'fill="none" stroke="{s.color}" stroke-width="{s.width}"{dash}/>'
        )
    body.append("</g>")
    body += legend([(s.name, s.color) for s, _, _ in drawable])
    return svg(chart_id, title, body)


def scatter_chart(
    chart_id: str, title: str, x: Floats, y: Floats, *, x_label: str, y_label: str, color: str = PALETTE[0]
) -> str:
    """Points (an even subset of at most MAX_SCATTER_POINTS) of the finite (x, y) pairs."""
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) > MAX_SCATTER_POINTS:
        keep = np.linspace(0, len(x) - 1, MAX_SCATTER_POINTS).astype(np.int64)
        x, y = x[keep], y[keep]
    if len(x) == 0:
        frame0 = Frame(0, 1, 0, 1)
        return svg(chart_id, title, [*axes(frame0, x_label, y_label), no_data(frame0, "no data")])
    frame = Frame(*data_range([x]), *data_range([y]))
    body = [*axes(frame, x_label, y_label), f'<g class="data" fill="{color}" fill-opacity="0.45">']
    body += [
        f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="2.2"/>'
        for cx, cy in zip(frame.px(x).tolist(), frame.py(y).tolist(), strict=True)
    ]
    body.append("</g>")
    return svg(chart_id, title, body)


def bar_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    notes: Sequence[str],
    *,
    y_label: str,
) -> str:
    """One bar per label from zero (None draws no bar), its value above and a note under the label."""
    known = np.array([v for v in values if v is not None], dtype=np.float64)
    frame = Frame(0, len(labels), *data_range([known], include_zero=True, pad=0.15))
    body = axes(frame, "", y_label, x_ticks=False)
    slot = frame.inner_w / max(len(labels), 1)
    zero = float(frame.py(0.0))
    base = TOP + frame.inner_h
    body.append(
        f'<line x1="{LEFT}" x2="{LEFT + frame.inner_w}" y1="{zero:.1f}" y2="{zero:.1f}" stroke="#444"/>'
    )
    if len(known) == 0:
        body.append(no_data(frame, "no fills to mark out"))
    body.append('<g class="data">' if len(known) else "<g>")
    for i, (label, value, note) in enumerate(zip(labels, values, notes, strict=True)):
        cx = LEFT + slot * (i + 0.5)
        body.append(
            f'<text x="{cx:.0f}" y="{base + 15}" text-anchor="middle" font-size="12">{escape(label)}</text>'
        )
        body.append(
            f'<text x="{cx:.0f}" y="{base + 29}" text-anchor="middle" font-size="11">{escape(note)}</text>'
        )
        if value is None:
            continue
        top = float(frame.py(value))
        y, h = min(top, zero), max(abs(top - zero), 1.0)
        color = PALETTE[2] if value >= 0 else PALETTE[1]
        body.append(
            f'<rect class="bar" x="{cx - slot * 0.3:.1f}" y="{y:.1f}" width="{slot * 0.6:.1f}" '
            f'height="{h:.1f}" fill="{color}"/>'
        )
        ty = top - 5 if value >= 0 else top + 14
        body.append(f'<text x="{cx:.0f}" y="{ty:.1f}" text-anchor="middle" font-size="11">{value:.3g}</text>')
    body.append("</g>")
    return svg(chart_id, title, body)


def stacked_bars(
    chart_id: str, title: str, edges: Floats, counts: dict[str, Floats], *, x_label: str, y_label: str
) -> str:
    """Counts per x bucket (``edges`` has one more entry than each count array), stacked by category,
    with an HTML legend after the SVG."""
    totals = np.sum(list(counts.values()), axis=0) if counts else np.zeros(max(len(edges) - 1, 0))
    if len(edges) < 2 or not np.any(totals > 0):
        frame0 = Frame(0, 1, 0, 1)
        return svg(chart_id, title, [*axes(frame0, x_label, y_label), no_data(frame0, "no decisions")])
    frame = Frame(float(edges[0]), float(edges[-1]), 0.0, float(np.max(totals)) * 1.08)
    body = [*axes(frame, x_label, y_label), '<g class="data">']
    left, right = frame.px(edges[:-1]), frame.px(edges[1:])
    bottom = np.zeros(len(edges) - 1)
    colors = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(counts)}
    for name, values in counts.items():
        y_top, y_bottom = frame.py(bottom + values), frame.py(bottom)
        for i in np.flatnonzero(values > 0).tolist():
            body.append(
                f'<rect x="{left[i]:.1f}" y="{y_top[i]:.1f}" width="{max(right[i] - left[i] - 1, 0.5):.1f}" '
                f'height="{y_bottom[i] - y_top[i]:.1f}" fill="{colors[name]}"><title>{escape(name)}: '
                f"{int(values[i])}</title></rect>"
            )
        bottom = bottom + values
    body.append("</g>")
    return svg(chart_id, title, body) + html_legend(list(colors.items()))


def html_legend(entries: Sequence[tuple[str, str]]) -> str:
    """A wrapping legend under a chart, for keys too many or too long for a row inside it."""
    keys = "".join(
        f'<span class="key"><i style="background:{color}"></i>{escape(name)}</span>'
        for name, color in entries
    )
    return f'<div class="legend">{keys}</div>'
