"""The run summary (``--summary-json``) and its few human lines.

Per market, the DESIGN contract's fields are this session's figures (``quotes_sent``,
``cancels_sent``, ``fills``, ``volume_base``, ``pnl_quote``, ``fees_quote``, ``decision_reasons``,
``decision_latency_us``); ``position_base`` is the position now (net of fees charged in base),
``fees_base`` and ``fees_other`` ({asset: amount}) the session's fees charged in base (in
``pnl_quote`` through the position, valued at the mid) or in a third asset (not in it), and
``cumulative`` holds the figures since the journal began (``fills``, ``volume_base``, ``fees_quote``,
``cash_quote``, ``pnl_quote``). Scripts depend on these names: add fields freely, rename none.
"""

from __future__ import annotations

from typing import Any

from mm_bot.engine.market import MarketCore
from mm_bot.live.runner import MarketRunner


def market_summary(
    core: MarketCore, runner: MarketRunner, open_at_exit: int | None, max_position_base: float
) -> dict[str, Any]:
    st, inst, ledger, book = core.stats, core.instrument, core.ledger, core.book
    session = ledger.session()
    tick_lot = float(inst.tick_size) * float(inst.lot_size)
    mid = book.mid if book.mid == book.mid else None
    # Session PnL: what the session's trades and the position it started with made, marked from the
    # session's first mid to the last one.
    start_pos = ledger.start.position_lots * float(inst.lot_size) - ledger.start.fees_base
    session_pnl = session.notional_ticklots * tick_lot - session.fees_quote
    if mid is not None:
        session_pnl += core.ledger.position_base * mid - start_pos * book.first_mid
    return {
        "quotes_sent": st.quotes_sent,
        "cancels_sent": st.cancels_sent,
        "fills": session.fill_count,
        "volume_base": inst.qty_of(session.volume_lots),
        "position_base": core.ledger.position_base,
        "max_abs_position_base": inst.qty_of(ledger.max_abs_position_lots),
        "max_position_base": max_position_base,
        "pnl_quote": session_pnl,
        "fees_quote": session.fees_quote,
        "fees_base": session.fees_base,
        "fees_other": dict(session.fees_other),
        "cumulative": {
            "fills": ledger.fills,
            "volume_base": inst.qty_of(ledger.volume_lots),
            "fees_quote": ledger.fees_quote,
            "cash_quote": ledger.cash_quote,
            "pnl_quote": core.pnl_quote(),
        },
        "decision_reasons": dict(sorted(st.decision_reasons.items())),
        "open_orders_at_exit": open_at_exit,
        "decision_latency_us": runner.latency_summary_us(),
        "mid": mid,
        "sigma": core.sigma(),
        "intensity": intensity_summary(core),
        "book_updates": book.accepted,
        "trades_seen": book.trades,
        "malformed_events": dict(book.dropped) | dict(st.malformed),
        "one_sided_books": book.one_sided,
        "rejects": dict(st.rejects),
        "venue": dict(st.venue),
        "reconcile_mismatches": list(core.reconciler.mismatches),
        "day_baseline_pnl_quote": core.risk.day_start_pnl if core.risk.day >= 0 else None,
        "kill_reason": core.kill_reason,
    }


def intensity_summary(core: MarketCore) -> dict[str, Any]:
    """The A/k in use and, when estimated online, the calibration behind them (buckets, fit, r2)."""
    quoter = core.quoter
    cal = quoter.calibration(core.book.last_book_ns or core.start_ns)
    if cal is None:
        a, k = quoter.last_a_k
        return {"source": "fixed", "a_per_s": a, "k_per_price": k}
    out: dict[str, Any] = {"source": "estimated"}
    for name in (
        "A_per_s",
        "k_per_price",
        "status",
        "ready",
        "clamped",
        "r2",
        "fit_A_per_s",
        "fit_k_per_price",
        "bucket_depths_price",
        "bucket_rates_per_s",
        "decayed_trades",
        "trades_accepted",
        "trades_rejected",
    ):
        value = getattr(cal, name)
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


def format_summary(summary: dict[str, Any]) -> str:
    """A few human lines about the run (the JSON summary has everything)."""
    lines = [
        f"{summary['mode']} run: {summary['duration_s']:.1f} s"
        + (f", KILLED: {summary['kill_reason']}" if summary.get("kill_reason") else "")
        + (f", ERROR: {summary['error']}" if summary.get("error") else "")
    ]
    for symbol, m in summary["markets"].items():
        lat = m["decision_latency_us"]
        top = sorted(m["decision_reasons"].items(), key=lambda kv: -kv[1])[:4]
        lines.append(
            f"  {symbol}: quotes {m['quotes_sent']}, cancels {m['cancels_sent']}, fills {m['fills']} "
            f"({m['volume_base']:.6g} base), position {m['position_base']:+.6g} "
            f"(max |{m['max_abs_position_base']:.6g}|), pnl {m['pnl_quote']:+.4f}, "
            f"fees {m['fees_quote']:+.4f}, open at exit {m['open_orders_at_exit']}"
        )
        lines.append(
            f"    decision latency p50 {lat['p50']} us, p99 {lat['p99']} us; top reasons: "
            + ", ".join(f"{k} {v}" for k, v in top)
        )
    return "\n".join(lines)
