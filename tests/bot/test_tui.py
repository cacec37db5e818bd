"""The live view renders snapshot values as text, and LiveView starts, updates and stops cleanly."""

from __future__ import annotations

import dataclasses
import io

import pytest
from rich.console import Console

from mm_bot.tui import (
    LiveView,
    MarketView,
    RunView,
    fmt_price,
    fmt_ts,
    position_bar,
    render,
)

T0_NS = 1_700_000_000_123_456_789  # 2023-11-14 22:13:20.123 UTC

DECISIONS = (
    "send(optimal_price)",
    "keep(within_tolerance)",
    "replace(optimal_price)",
    "cancel(max_position)",
    "nothing(fill_lockout)",
    "keep(within_tolerance)",
    "replace(size_change)",
    "send(optimal_price)",
    "nothing(warm_up)",
    "cancel(stale_book)",
)

BTC = MarketView(
    symbol="BTC/USDT",
    mid=60123.45,
    reservation_price=60110.2,
    bid_price=60101.3,
    ask_price=60145.6,
    spread_bps=7.37,
    sigma=2.31,
    intensity_a=1.4,
    intensity_k=0.35,
    intensity_status="fitted",
    position_base=0.012,
    max_position_base=0.05,
    pnl_quote=12.3456,
    fees_quote=1.02,
    fills=17,
    volume_base=0.34,
    open_orders=2,
    recent_decisions=tuple(
        (T0_NS + i * 250_000_000, "bid" if i % 2 == 0 else "ask", d) for i, d in enumerate(DECISIONS)
    ),
    base_asset="BTC",
    quote_asset="USDT",
)


def text_of(view: RunView, width: int = 120) -> str:
    console = Console(record=True, width=width, file=io.StringIO())
    console.print(render(view))
    return console.export_text()


def test_render_shows_market_values() -> None:
    """Mid, reservation offset, quotes, spread, model, position, PnL and counters all appear."""
    out = text_of(RunView("paper", 3725.4, (BTC,)))
    for expected in (
        "PAPER",
        "1:02:05",
        "running",
        "BTC/USDT",
        "60,123.45",
        "60,110.20 (-13.25, -2.2 bps)",
        "60,101.30 / 60,145.60",
        "7.4 bps",
        "2.31",
        "1.4 /s, 0.35 /px (fitted)",
        "+0.012 / 0.05 BTC",
        "+12.35 USDT",
        "1.02 USDT",
        "17",
        "0.34 BTC",
    ):
        assert expected in out, expected


def test_render_shows_last_eight_decisions_with_utc_millis() -> None:
    """Only the newest eight decisions are listed, each with HH:MM:SS.mmm, side and reason."""
    out = text_of(RunView("paper", 1.0, (BTC,)))
    assert "22:13:20.623  bid  replace(optimal_price)" in out
    assert "22:13:22.373  ask  cancel(stale_book)" in out
    assert "nothing(warm_up)" in out
    assert "22:13:20.123" not in out  # the two oldest were dropped
    assert "22:13:20.373" not in out


def test_render_shows_kill_reason() -> None:
    """A kill reason replaces the running status in the header."""
    out = text_of(RunView("live", 5.0, (BTC,), kill_reason="max_drawdown"))
    assert "KILLED: max_drawdown" in out
    assert "LIVE" in out
    assert "running" not in out


def test_render_shows_dash_for_missing_values() -> None:
    """None prices and spread render as an em dash; no decisions yet is stated."""
    empty = dataclasses.replace(
        BTC,
        mid=None,
        reservation_price=None,
        bid_price=None,
        ask_price=None,
        spread_bps=None,
        recent_decisions=(),
    )
    out = text_of(RunView("paper", 0.0, (empty,)))
    assert "— / —" in out
    assert "reservation  —" in out
    assert "no decisions yet" in out
    assert "nan" not in out.lower()


def test_render_narrow_console_keeps_labels() -> None:
    """On an 80-column terminal the stats go one pair per row rather than truncating labels."""
    out = text_of(RunView("paper", 0.0, (BTC,)), width=80)
    assert "reservation  60,110.20 (-13.25, -2.2 bps)" in out
    assert "…" not in out


def test_position_bar_reflects_sign() -> None:
    """Long fills right of the centre mark, short fills left, flat is empty, beyond max is clamped."""
    long_, short, flat = (position_bar(q, 1.0).plain for q in (0.5, -0.5, 0.0))
    assert long_ == "[          |#####     ]"
    assert short == "[     #####|          ]"
    assert flat == "[          |          ]"
    assert position_bar(3.0, 1.0).plain == "[          |##########]"
    assert position_bar(1.0, 0.0).plain == flat
    long_out = text_of(RunView("paper", 0.0, (dataclasses.replace(BTC, position_base=0.025),)))
    short_out = text_of(RunView("paper", 0.0, (dataclasses.replace(BTC, position_base=-0.025),)))
    assert "[          |#####     ] +0.025" in long_out
    assert "[     #####|          ] -0.025" in short_out


@pytest.mark.parametrize(
    ("value", "ref", "expected"),
    [
        (60123.456, None, "60,123.46"),
        (3012.3456, None, "3,012.35"),
        (1.234567, None, "1.23457"),
        (0.00123456, None, "0.00123456"),
        (13.2549, 60000.0, "13.25"),
        (None, None, "—"),
        (0.0, None, "0.00"),
    ],
)
def test_fmt_price_uses_magnitude(value: float | None, ref: float | None, expected: str) -> None:
    """Prices get at least two decimals and about six significant digits, or the reference's decimals."""
    assert fmt_price(value, ref) == expected


def test_fmt_ts_is_utc_millis() -> None:
    """Nanosecond timestamps print as UTC wall time truncated to milliseconds."""
    assert fmt_ts(T0_NS) == "22:13:20.123"
    assert fmt_ts(999_999_999) == "00:00:00.999"


def test_live_view_lifecycle_on_non_tty() -> None:
    """start/update/stop work on a file console, the final frame is written, and stop is idempotent."""
    buf = io.StringIO()
    console = Console(file=buf, width=120, force_terminal=False)
    view = LiveView(console)
    view.stop()  # stopping before starting is harmless
    view.start()
    view.start()  # a second start is a no-op
    started = view.running
    view.update(RunView("paper", 1.0, (BTC,)))
    view.update(RunView("paper", 2.0, (BTC,), kill_reason="manual"))
    view.stop()
    view.stop()
    assert started and not view.running
    out = buf.getvalue()
    assert "KILLED: manual" in out
    assert out.count("BTC/USDT") == 1  # a non-terminal gets only the final frame


def test_live_view_context_manager_stops() -> None:
    """Leaving the with-block stops the display even when the body raises."""
    console = Console(file=io.StringIO(), width=120)
    live = LiveView(console)

    def crash() -> None:
        with live:
            live.update(RunView("paper", 1.0, (BTC,)))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        crash()
    assert not live.running
    live.stop()


def test_live_view_on_terminal_restores_cursor_once() -> None:
    """On a terminal the cursor is hidden while live and shown again on stop, once, however often stopped."""
    buf = io.StringIO()
    view = LiveView(Console(file=buf, width=120, force_terminal=True))
    view.start()
    view.update(RunView("paper", 1.0, (BTC,)))
    view.stop()
    view.stop()
    out = buf.getvalue()
    assert out.count("\x1b[?25l") == 1
    assert out.count("\x1b[?25h") == 1
    assert out.index("\x1b[?25l") < out.index("\x1b[?25h")
    assert "60,123.45" in out


def test_live_view_defaults_to_stderr() -> None:
    """Without a console the view draws on stderr, keeping stdout for summaries."""
    assert LiveView().console.stderr


def test_render_is_pure() -> None:
    """The same snapshot renders to the same text."""
    view = RunView("paper", 12.0, (BTC, dataclasses.replace(BTC, symbol="ETH/USDT", base_asset="ETH")))
    assert text_of(view) == text_of(view)
