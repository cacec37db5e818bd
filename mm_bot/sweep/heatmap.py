"""A heat map as inline SVG, in the style of ``mm_bot.backtest.plots``: one metric over two grid
axes, each cell coloured on a sequential scale (viridis) with its value written in it. The scale
runs from worst (dark) to best (yellow) whichever way the metric points; a cell without a value is
grey and shows "–". The cells sit in ``<g class="data">`` for the report's self-check."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from mm_bot.backtest.plots import LEFT, RIGHT, TOP, WIDTH, svg

__all__ = ["heat_map", "scale_color"]

VIRIDIS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
NONE_COLOR = "#dddddd"
CELL_H, MAX_CELL_W = 34, 140
BOTTOM = 48


def scale_color(share: float) -> str:
    """The colour at ``share`` (0..1, clamped) of the viridis ramp."""
    share = min(max(share, 0.0), 1.0) * (len(VIRIDIS) - 1)
    i = min(int(share), len(VIRIDIS) - 2)
    frac = share - i
    rgb = (round(a + (b - a) * frac) for a, b in zip(VIRIDIS[i], VIRIDIS[i + 1], strict=True))
    return "#" + "".join(f"{c:02x}" for c in rgb)


def heat_map(
    chart_id: str,
    title: str,
    x_values: Sequence[str],
    y_values: Sequence[str],
    cells: Sequence[Sequence[float | None]],
    *,
    x_label: str,
    y_label: str,
    higher_is_better: bool = True,
) -> str:
    """``cells[row][column]``: the value at (``x_values[column]``, ``y_values[row]``); the first row
    is drawn at the top."""
    known = [v for row in cells for v in row if v is not None]
    lo, hi = (min(known), max(known)) if known else (0.0, 1.0)
    inner_w = WIDTH - LEFT - RIGHT
    cell_w = min(MAX_CELL_W, inner_w / max(len(x_values), 1))
    height = TOP + CELL_H * len(y_values) + BOTTOM
    body = ['<g class="data">']
    for r, (y_text, row) in enumerate(zip(y_values, cells, strict=True)):
        y = TOP + r * CELL_H
        for c, (x_text, value) in enumerate(zip(x_values, row, strict=True)):
            x = LEFT + c * cell_w
            if value is None:
                color, text, ink = NONE_COLOR, "–", "#555"
            else:
                share = (value - lo) / (hi - lo) if hi > lo else 0.5
                share = share if higher_is_better else 1.0 - share
                color, text, ink = scale_color(share), f"{value:.4g}", "#111" if share > 0.55 else "#fff"
            tip = f"{x_label} {x_text}, {y_label} {y_text}: {text}"
            body.append(
                f'<rect x="{x:.1f}" y="{y}" width="{cell_w - 1:.1f}" height="{CELL_H - 1}" fill="{color}">'
                f"<title>{escape(tip)}</title></rect>"
            )
            body.append(
                f'<text x="{x + cell_w / 2:.1f}" y="{y + CELL_H / 2 + 4:.0f}" text-anchor="middle" '
                f'font-size="11" fill="{ink}">{escape(text)}</text>'
            )
        body.append(
            f'<text x="{LEFT - 6}" y="{y + CELL_H / 2 + 4:.0f}" text-anchor="end" font-size="11">'
            f"{escape(y_text)}</text>"
        )
    base = TOP + CELL_H * len(y_values)
    for c, x_text in enumerate(x_values):
        body.append(
            f'<text x="{LEFT + (c + 0.5) * cell_w:.1f}" y="{base + 15}" text-anchor="middle" '
            f'font-size="11">{escape(x_text)}</text>'
        )
    body.append("</g>")
    body.append(
        f'<text x="{LEFT + cell_w * len(x_values) / 2:.0f}" y="{height - 8}" text-anchor="middle" '
        f'font-size="12">{escape(x_label)}</text>'
    )
    body.append(f'<text x="4" y="{TOP - 10}" font-size="12">{escape(y_label)}</text>')
    return svg(chart_id, title, body, height=height)
