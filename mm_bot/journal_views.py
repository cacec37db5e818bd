"""What ``mm-bot status`` and ``mm-bot trades`` show: built from an open journal (``JournalReader``,
read only) as plain JSON-able values, and printed as text. The keys are documented in
``mm_bot/journal_cli.py``, the commands' contract.

A journal knows fills, orders, sessions and balances, not the market: its PnL is the cash flow plus
the position marked at the market's last fill price (``pnl_quote_at_last_fill``), not at a mid. A
market in the config gets its amounts from the journal's exact ticks and lots times the config's
tick and lot sizes (the figures the bot computes; ``in_config``); any other market from the price
and quantity stored with each fill (floats summed).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mm_bot.journal_reader import JournalReader
from mm_bot.journal_schema import FillRecord, JournalOrder, SessionRecord
from mm_bot.model import Instrument, Side

__all__ = ["format_status", "format_trades", "iso_utc", "status_view", "trades_view"]


def iso_utc(ts_ns: int) -> str:
    """``2024-08-08T23:54:13.937Z``: UTC, to the millisecond (the JSON also has the exact ns)."""
    seconds, nanos = divmod(ts_ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos // 1_000_000:03d}Z"


def _plain(value: float, sign: bool = False) -> str:
    """A base amount or a price without exponent or float noise: ``0.00005``, ``-0.00011``."""
    text = f"{value:+.10f}" if sign else f"{value:.10f}"
    return text.rstrip("0").rstrip(".")


def _side(side: Side) -> str:
    return "buy" if side is Side.BUY else "sell"


def _assets(symbol: str) -> tuple[str, str]:
    """Base and quote of a ccxt-style symbol (``BTC/USDT``, ``BTC/USDT:USDT``)."""
    base, quote = symbol.split("/", 1)
    return base, quote.split(":", 1)[0]


def _symbol_of(account: str) -> str:
    """The market of a balances key: ``paper/BTC/USDT``, ``live/binance/sandbox/BTC/USDT``."""
    return "/".join(account.rsplit("/", 2)[-2:])


def status_view(
    reader: JournalReader,
    mode: str,
    config_key: str,
    writer_alive: bool,
    instruments: Mapping[str, Instrument],
) -> dict[str, Any]:
    """The ``status --json`` object. ``writer_alive``: the process that last locked the journal for
    writing still runs, so its newest unended session is running (not crashed)."""
    sessions = reader.sessions()
    newest = sessions[-1].id if sessions else None
    accounts = {a: ns for a, ns in reader.starting_accounts().items() if a.startswith(f"{mode}/")}
    saved = {k: ns for k, ns in reader.saved_balances_ns().items() if k.startswith(f"{mode}/")}
    symbols = sorted({*reader.markets(), *map(_symbol_of, accounts), *map(_symbol_of, saved)})
    markets = {}
    for symbol in symbols:
        mine = {a: ns for a, ns in accounts.items() if _symbol_of(a) == symbol}
        markets[symbol] = _market(
            reader, mode, symbol, instruments.get(symbol), mine, saved.get(f"{mode}/{symbol}")
        )
    return {
        "mode": mode,
        "journal": str(reader.path),
        "config_key": config_key,
        "schema_version": reader.schema_version,
        "order_tag": reader.order_tag,
        "sessions": [_session(s, running=writer_alive and s.id == newest) for s in sessions],
        "markets": markets,
    }


def _session(s: SessionRecord, running: bool) -> dict[str, Any]:
    if s.ended_ns is not None:
        state = "crashed" if s.crashed else "ended"
    else:
        state = "running" if running else "crashed"
    return {
        "id": s.id,
        "mode": s.mode,
        "started_ns": s.started_ns,
        "started": iso_utc(s.started_ns),
        "ended_ns": s.ended_ns,
        "ended": None if s.ended_ns is None else iso_utc(s.ended_ns),
        "state": state,
        "config_hash": s.config_hash,
    }


def _market(
    reader: JournalReader,
    mode: str,
    symbol: str,
    inst: Instrument | None,
    accounts: Mapping[str, int],
    saved_ns: int | None,
) -> dict[str, Any]:
    totals = reader.totals(symbol)
    if inst is not None:  # exact lots and ticks, as the bot's ledger sums them
        traded = inst.qty_of(totals.position_lots)
        cash_flow = totals.notional_ticklots * float(inst.tick_size) * float(inst.lot_size)
        volume = inst.qty_of(totals.volume_lots)
    else:
        traded, cash_flow, volume = reader.fill_amounts(symbol)
    position = traded - totals.fees_base
    cash = cash_flow - totals.fees_quote
    last = reader.fill_records(symbol, limit=1)
    last_price = last[0].price if last else None
    fees_other = dict(totals.fees_other)
    # The newest account if several (a live journal pointed at another venue account before any fill).
    account = max(accounts, key=lambda a: accounts[a]) if accounts else None
    starting = reader.starting_balances(account) if account is not None else {}
    from_fills: dict[str, float] = {}
    if starting:
        base, quote = _assets(symbol)
        from_fills = dict(starting)
        from_fills[base] = from_fills.get(base, 0.0) + position
        from_fills[quote] = from_fills.get(quote, 0.0) + cash
        for asset, fee in fees_other.items():
            from_fills[asset] = from_fills.get(asset, 0.0) - fee
    return {
        "in_config": inst is not None,
        "fills": totals.fill_count,
        "volume_base": volume,
        "position_base": position,
        "cash_quote": cash,
        "fees_quote": totals.fees_quote,
        "fees_base": totals.fees_base,
        "fees_other": fees_other,
        "last_fill_price": last_price,
        "last_fill_ns": totals.last_fill_ts_ns,
        "last_fill": None if totals.last_fill_ts_ns is None else iso_utc(totals.last_fill_ts_ns),
        "pnl_quote_at_last_fill": cash if last_price is None else cash + position * last_price,
        "balances": {
            "account": account,
            "starting": starting,
            "starting_set_ns": None if account is None else accounts[account],
            "from_fills": from_fills,
            "saved": reader.load_balances(f"{mode}/{symbol}"),
            "saved_ns": saved_ns,
        },
        "open_orders": [_order(o, inst) for o in reader.open_orders(symbol)],
    }


def _order(o: JournalOrder, inst: Instrument | None) -> dict[str, Any]:
    return {
        "client_order_id": o.client_order_id,
        "side": _side(o.side),
        "price": None if inst is None else float(o.price_ticks * inst.tick_size),
        "qty": None if inst is None else float(o.qty_lots * inst.lot_size),
        "price_ticks": o.price_ticks,
        "qty_lots": o.qty_lots,
        "order_type": o.order_type.value,
        "state": o.state.value,
        "created_ns": o.created_ns,
        "created": iso_utc(o.created_ns),
        "session_id": o.session_id,
    }


def _amounts(balances: Mapping[str, float]) -> str:
    return ", ".join(f"{asset} {amount:.10g}" for asset, amount in balances.items()) or "none"


def format_status(view: Mapping[str, Any]) -> str:
    """The human lines of a ``status_view``."""
    lines = [
        f"{view['mode']} journal {view['journal']} ({view['config_key']}): order tag {view['order_tag']},"
        f" schema v{view['schema_version']}"
    ]
    lines.append("sessions:" if view["sessions"] else "sessions: none")
    for s in view["sessions"]:
        end = s["ended"] if s["state"] == "ended" else s["state"]
        if s["state"] == "crashed" and s["ended"] is not None:
            end += f" (noticed {s['ended']})"
        lines.append(f"  #{s['id']} {s['mode']} {s['started']} -> {end}, config {s['config_hash']}")
    if not view["markets"]:
        lines.append("markets: none yet")
    for symbol, m in view["markets"].items():
        base, quote = _assets(symbol)
        lines.append(
            f"{symbol}:" + ("" if m["in_config"] else " (not in the config: amounts from the fill rows)")
        )
        lines.append(f"  position   {_plain(m['position_base'], sign=True)} {base}")
        if m["last_fill_price"] is None:
            lines.append(f"  pnl        {m['pnl_quote_at_last_fill']:+.4f} {quote} (no fills)")
        else:
            lines.append(
                f"  pnl        {m['pnl_quote_at_last_fill']:+.4f} {quote} at the last fill price"
                f" {_plain(m['last_fill_price'])} (cash {m['cash_quote']:+.4f} plus the position;"
                " a journal has no mid)"
            )
        fees = [f"{m['fees_quote']:+.4f} {quote}"]
        fees += [f"{_plain(m['fees_base'], sign=True)} {base}"] if m["fees_base"] else []
        fees += [f"{amount:+.10g} {asset}" for asset, amount in m["fees_other"].items()]
        lines.append(f"  fees       {', '.join(fees)} (negative: rebates)")
        last = f", last {m['last_fill']}" if m["last_fill"] else ""
        lines.append(f"  fills      {m['fills']}, volume {_plain(m['volume_base'])} {base}{last}")
        b = m["balances"]
        if b["account"] is not None:
            lines.append(f"  balances   start {_amounts(b['starting'])} ({b['account']})")
            lines.append(f"             start + fills {_amounts(b['from_fills'])}")
        if b["saved_ns"] is not None:
            lines.append(f"             saved {_amounts(b['saved'])} (at {iso_utc(b['saved_ns'])})")
        lines.append(f"  open       {len(m['open_orders'])} unsettled order(s)")
        for o in m["open_orders"]:
            price = f"{o['price_ticks']} ticks" if o["price"] is None else _plain(o["price"])
            qty = f"{o['qty_lots']} lots" if o["qty"] is None else _plain(o["qty"])
            lines.append(
                f"    {o['side']:<4} {qty} @ {price} {o['state']} {o['client_order_id']} since {o['created']}"
            )
    return "\n".join(lines)


def trades_view(records: list[FillRecord]) -> list[dict[str, Any]]:
    """The ``trades --json`` list, in the order given (oldest first)."""
    return [
        {
            "ts_ns": r.ts_ns,
            "time": iso_utc(r.ts_ns),
            "market": r.market,
            "side": _side(r.side),
            "price": r.price,
            "qty": r.qty,
            "liquidity": r.liquidity.value,
            "fee_quote": r.fee_quote,
            "fee_base": r.fee_base,
            "fee_other": r.fee_other,
            "fee_other_asset": r.fee_other_asset or None,
            "trade_id": r.trade_id or None,
            "client_order_id": r.client_order_id,
        }
        for r in records
    ]


_HEADER = ("time (UTC)", "market", "side", "price", "qty", "liq", "fee", "trade id", "client order id")


def format_trades(trades: list[dict[str, Any]]) -> str:
    """One aligned line per fill under a header; "no fills" if none."""
    if not trades:
        return "no fills"
    rows = [_HEADER]
    for t in trades:
        base, quote = _assets(t["market"])
        fees = [f"{t['fee_quote']:+.6g} {quote}"]
        fees += [f"{_plain(t['fee_base'], sign=True)} {base}"] if t["fee_base"] else []
        fees += [f"{t['fee_other']:+.6g} {t['fee_other_asset']}"] if t["fee_other_asset"] else []
        row = (t["time"], t["market"], t["side"], _plain(t["price"]), _plain(t["qty"]), t["liquidity"])
        rows.append((*row, " ".join(fees), t["trade_id"] or "-", t["client_order_id"]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
    right = {3, 4}  # numbers
    return "\n".join(
        "  ".join(
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    )
