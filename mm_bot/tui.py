"""Live terminal view for ``mm-bot run``: plain snapshots in, a rich renderable out.

The runner builds a :class:`RunView` from its own state each tick and hands it to
:meth:`LiveView.update`; :func:`render` is a pure function of that snapshot (no clock, no I/O), so
tests render into a recording console. Nothing here imports the runner or touches orders.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

NONE = "—"
BAR_HALF_CELLS = 10  # cells on each side of the position bar's centre mark
MAX_DECISIONS = 8
WIDE_MIN_CELLS = 96  # panel interior width at which stats go two pairs to a row
ACTION_STYLES = {"send": "green", "replace": "yellow", "cancel": "red", "keep": "dim", "nothing": "dim"}


@dataclass(frozen=True, slots=True)
class MarketView:
    """One market's state at one instant. Prices in quote per base, sizes in base units."""

    symbol: str
    mid: float | None
    reservation_price: float | None
    bid_price: float | None  # our resting/target bid, None if not quoting
    ask_price: float | None
    spread_bps: float | None  # our ask-bid in bps of mid
    sigma: float  # price units per sqrt(second)
    intensity_a: float  # 1/s
    intensity_k: float  # 1/price
    intensity_status: str  # e.g. "fixed", "fitted", "warming_up"
    position_base: float
    max_position_base: float
    pnl_quote: float
    fees_quote: float
    fills: int
    volume_base: float
    open_orders: int
    recent_decisions: tuple[tuple[int, str, str], ...]  # (ts_ns, "bid"/"ask", "action(reason)"), oldest first
    base_asset: str
    quote_asset: str


@dataclass(frozen=True, slots=True)
class RunView:
    mode: str  # "paper" / "live"
    elapsed_s: float
    markets: tuple[MarketView, ...]
    kill_reason: str | None = None


def price_decimals(ref: float) -> int:
    """Decimals for at least six significant digits, never fewer than 2: 60123.45, 150.125, 1.23456."""
    if not math.isfinite(ref) or ref == 0:
        return 2
    return min(10, max(2, 5 - math.floor(math.log10(abs(ref)))))


def fmt_price(value: float | None, ref: float | None = None) -> str:
    """A price with decimals chosen from ``ref`` (the mid, so a market's prices line up) or itself."""
    if value is None:
        return NONE
    return f"{value:,.{price_decimals(value if ref is None else ref)}f}"


def fmt_num(value: float | None, digits: int = 4) -> str:
    return NONE if value is None else f"{value:.{digits}g}"


def fmt_elapsed(seconds: float) -> str:
    whole = max(0, int(seconds))
    return f"{whole // 3600:d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def fmt_ts(ts_ns: int) -> str:
    """Wall-clock nanoseconds as HH:MM:SS.mmm UTC (integer arithmetic, so no float rounding)."""
    secs, rem_ns = divmod(ts_ns, 1_000_000_000)
    return f"{datetime.fromtimestamp(secs, tz=UTC):%H:%M:%S}.{rem_ns // 1_000_000:03d}"


def position_bar(position: float, max_position: float, half: int = BAR_HALF_CELLS) -> Text:
    """``[     |###  ]``: shorts fill left of the centre mark, longs right, scaled to the limit."""
    frac = 0.0 if max_position <= 0 else position / max_position
    cells = min(half, round(abs(frac) * half))
    style = "red" if abs(frac) > 1 else ("cyan" if frac > 0 else "magenta")
    left = " " * half if frac >= 0 else " " * (half - cells) + "#" * cells
    right = "#" * cells + " " * (half - cells) if frac > 0 else " " * half
    bar = Text("[")
    bar.append(left, style=style if frac < 0 else "")
    bar.append("|", style="bold")
    bar.append(right, style=style if frac > 0 else "")
    bar.append("]")
    return bar


def action_text(decision: str) -> Text:
    """``"replace(optimal_price)"`` with the action coloured and the reason plain."""
    action, paren, rest = decision.partition("(")
    text = Text(action, style=ACTION_STYLES.get(action, ""))
    if paren:
        text.append(paren + rest, style="dim" if ACTION_STYLES.get(action) == "dim" else "")
    return text


def signed_quote(value: float, asset: str) -> Text:
    style = "green" if value > 0 else ("red" if value < 0 else "")
    return Text(f"{value:+,.2f} {asset}", style=style)


@dataclass(frozen=True, slots=True)
class _Pairs:
    """Label/value pairs laid out two to a row when the panel is wide enough, else one."""

    pairs: tuple[tuple[str, str | Text], ...]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        per_row = 2 if options.max_width >= WIDE_MIN_CELLS else 1
        grid = Table.grid(padding=(0, 2))
        for _ in range(per_row):
            grid.add_column(style="bold", no_wrap=True)
            grid.add_column(no_wrap=True)
        for i in range(0, len(self.pairs), per_row):
            grid.add_row(*(cell for pair in self.pairs[i : i + per_row] for cell in pair))
        yield grid


def _stats(m: MarketView) -> _Pairs:
    ref = m.mid
    reservation = fmt_price(m.reservation_price, ref)
    if m.reservation_price is not None and m.mid is not None:
        off = m.reservation_price - m.mid
        off_bps = f", {off / m.mid * 1e4:+.1f} bps" if m.mid else ""
        reservation += f" ({'+' if off >= 0 else '-'}{fmt_price(abs(off), ref)}{off_bps})"
    position = Text.assemble(
        position_bar(m.position_base, m.max_position_base),
        f" {m.position_base:+.6g} / {m.max_position_base:.6g} {m.base_asset}",
    )
    a_k = f"{fmt_num(m.intensity_a)} /s, {fmt_num(m.intensity_k)} /px ({m.intensity_status})"
    return _Pairs(
        (
            ("mid", fmt_price(m.mid)),
            ("reservation", reservation),
            ("bid / ask", f"{fmt_price(m.bid_price, ref)} / {fmt_price(m.ask_price, ref)}"),
            ("spread", NONE if m.spread_bps is None else f"{m.spread_bps:.1f} bps"),
            ("sigma", f"{fmt_num(m.sigma)} px/√s"),
            ("A, k", a_k),
            ("position", position),
            ("open orders", str(m.open_orders)),
            ("pnl", signed_quote(m.pnl_quote, m.quote_asset)),
            ("fees", f"{m.fees_quote:,.2f} {m.quote_asset}"),
            ("fills", str(m.fills)),
            ("volume", f"{m.volume_base:.6g} {m.base_asset}"),
        )
    )


def _decisions(m: MarketView) -> RenderableType:
    recent = m.recent_decisions[-MAX_DECISIONS:]
    if not recent:
        return Text("no decisions yet", style="dim")
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim", no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column()
    for ts_ns, side, decision in recent:
        table.add_row(fmt_ts(ts_ns), Text(side, style="bold"), action_text(decision))
    return table


def render_market(m: MarketView) -> Panel:
    body = Group(_stats(m), Text("recent decisions (UTC)", style="bold underline"), _decisions(m))
    return Panel(body, title=Text(m.symbol, style="bold"), title_align="left")


def render(view: RunView) -> RenderableType:
    """The whole screen: a header line, then one panel per market. Pure: same view, same output."""
    header = Text.assemble(
        ("mm-bot ", "bold"),
        (view.mode.upper(), "bold reverse " + ("cyan" if view.mode == "paper" else "red")),
        f"  elapsed {fmt_elapsed(view.elapsed_s)}  {len(view.markets)} market(s)  ",
    )
    if view.kill_reason is None:
        header.append("running", style="bold green")
    else:
        header.append(f"KILLED: {view.kill_reason}", style="bold white on red")
    return Group(header, *(render_market(m) for m in view.markets))


class LiveView:
    """A ``rich.live.Live`` the runner feeds with snapshots; ``stop()`` is safe to call any number of times.

    Draws on stderr by default so stdout (summaries, JSON) stays clean, and never redirects stdout.
    """

    def __init__(self, console: Console | None = None, *, refresh_per_second: float = 4.0) -> None:
        self.console = console if console is not None else Console(stderr=True)
        self._refresh_per_second = refresh_per_second
        self._live: Live | None = None
        self._renderable: RenderableType = Text("starting…", style="dim")

    @property
    def running(self) -> bool:
        return self._live is not None

    def start(self) -> None:
        if self._live is not None:
            return
        live = Live(
            self._renderable,
            console=self.console,
            refresh_per_second=self._refresh_per_second,
            transient=False,
            redirect_stdout=False,
        )
        live.start()
        self._live = live

    def update(self, view: RunView) -> None:
        """Store the snapshot; the display thread redraws at the refresh rate (no immediate redraw)."""
        self._renderable = render(view)
        if self._live is not None:
            self._live.update(self._renderable)

    def stop(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.stop()  # restores the cursor and prints the final frame

    def __enter__(self) -> LiveView:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
