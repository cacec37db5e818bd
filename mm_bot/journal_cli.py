"""``mm-bot status`` and ``mm-bot trades``: what the journal of a mode says (``journal.paper_path``,
or ``journal.live_path`` with ``--live``), read only and without the writer's lock, so they work
while a run holds the journal (they see what it has committed). And ``run --fresh``'s move of a
journal aside (``start_fresh``, ``set_journal_aside``).

``status --json`` prints one object (``mm_bot/journal_views.py`` builds it):

- ``mode``, ``journal`` (its path), ``config_key``, ``schema_version``, ``order_tag`` (what every
  client order id of the journal starts with);
- ``sessions``: a list, oldest first, of ``{id, mode, started_ns, started, ended_ns, ended, state,
  config_hash}``; ``started``/``ended`` are UTC ISO-8601 to the ms (``ended`` null while it runs or
  when it crashed unnoticed); ``state`` is ``ended``, ``running`` (the newest session, not ended,
  and the pid in the journal's lock file is alive) or ``crashed`` (not ended otherwise, or closed as
  crashed by a later session);
- ``markets``: ``{symbol: {...}}`` for every market with a fill, an order or balances in the journal:
  ``in_config`` (amounts from the config's tick and lot sizes, exact as the bot's; else from each
  fill's stored price and quantity), ``fills``, ``volume_base``, ``position_base`` (net of fees in
  base), ``cash_quote`` (trade cash flow net of quote fees), ``fees_quote``, ``fees_base``,
  ``fees_other`` ({asset: amount}; fees are paid when positive, rebates negative),
  ``last_fill_price``, ``last_fill_ns``, ``last_fill``, ``pnl_quote_at_last_fill`` (cash plus the
  position at the last fill price: a journal has no mid, so this is not the run summary's PnL),
  ``balances`` ``{account, starting, starting_set_ns, from_fills, saved, saved_ns}`` (``starting``:
  the account's balances at its first start on this journal; ``from_fills``: those plus this
  market's fills, which is what a paper account holds; ``saved``: the snapshot the last run took
  at its exit), ``open_orders``: a list of ``{client_order_id, side, price, qty, price_ticks,
  qty_lots, order_type, state, created_ns, created, session_id}`` of the orders not known to be
  terminal (``price``/``qty`` null for a market not in the config).

``trades --json`` prints a list of the recent fills, newest last: ``{ts_ns, time, market, side
(buy|sell), price, qty, liquidity (maker|taker), fee_quote, fee_base, fee_other, fee_other_asset,
trade_id, client_order_id}`` (``fee_other_asset`` and ``trade_id`` null when there is none).
``--since`` takes ISO-8601 (UTC unless it has an offset; a date alone is its midnight), ns since
the epoch, or a time ago (``90s``, ``30m``, ``1h``, ``2d``); ``--limit N`` the newest N (default
50, 0 all).

Exit codes: 0 ok; 2 a bad flag, a bad config, or no readable journal where the config points (one
line on stderr naming the config key).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sqlite3
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mm_bot.config_cli import CONFIG_HELP
from mm_bot.data_cli import parse_timestamp
from mm_bot.errors import EXIT_CONFIG, EXIT_OK, ConfigError

if TYPE_CHECKING:
    from mm_bot.config import AppConfig
    from mm_bot.journal import JournalReader

# The journal, structlog and the config are imported where used: every mm-bot command imports this.

__all__ = [
    "add_status_parser",
    "add_trades_parser",
    "parse_since",
    "run_status",
    "run_trades",
    "set_journal_aside",
    "start_fresh",
]

DEFAULT_LIMIT = 50
_AGO = re.compile(r"(?P<amount>\d+(?:\.\d+)?)(?P<unit>[smhd])")
_UNIT_NS = {"s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9, "d": 86_400 * 10**9}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_COMPANIONS = ("-wal", "-shm")  # SQLite's files beside a WAL-mode database


def parse_since(text: str, now_ns: int) -> int:
    """ns since the epoch from ISO-8601, ns, or a time before ``now_ns`` (``30m``, ``1.5h``, ``2d``)."""
    text = text.strip()
    ago = _AGO.fullmatch(text)
    if ago is not None:
        return now_ns - round(float(ago["amount"]) * _UNIT_NS[ago["unit"]])
    if _DATE.fullmatch(text):
        text += "T00:00:00"
    try:
        return parse_timestamp(text)
    except argparse.ArgumentTypeError:
        if text.isdigit() or _DATE.match(text):  # ns beyond range, a date that does not exist
            raise
        raise argparse.ArgumentTypeError(
            f"{text!r} is not ISO-8601 (2024-08-08T23:58:00Z), ns since the epoch or a time ago (30m, 1h, 2d)"
        ) from None


def _since(text: str) -> int:
    return parse_since(text, time.time_ns())


def _limit(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of fills (0: all)")
    return int(text)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None, help=CONFIG_HELP)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--paper", action="store_true", help="the paper journal, journal.paper_path (default)")
    mode.add_argument("--live", action="store_true", help="the live journal, journal.live_path")
    parser.add_argument("--json", action="store_true", help="print JSON (keys: mm_bot/journal_cli.py)")


def add_status_parser(sub: Any) -> None:
    """Register ``status`` on the top-level sub-parsers."""
    status = sub.add_parser(
        "status", help="position, balances, PnL, fees, open orders and sessions, from the journal"
    )
    _add_common(status)


def add_trades_parser(sub: Any) -> None:
    """Register ``trades`` on the top-level sub-parsers."""
    trades = sub.add_parser("trades", help="recent fills from the journal, newest last")
    _add_common(trades)
    trades.add_argument(
        "--since",
        type=_since,
        default=None,
        metavar="TS",
        help="ISO-8601, ns since the epoch, or 30m/1h/2d ago",
    )
    trades.add_argument(
        "--limit",
        type=_limit,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"the newest N (default {DEFAULT_LIMIT}; 0: all)",
    )
    trades.add_argument("--market", default=None, metavar="SYMBOL", help="one market's fills, e.g. BTC/USDT")


class _Unreadable(Exception):
    """No journal can be read where the config points; the message names the config key."""


@contextlib.contextmanager
def _journal(cfg: AppConfig, mode: str) -> Iterator[tuple[JournalReader, str]]:
    from mm_bot.journal import Journal, JournalError

    key, path = cfg.journal.location(mode)
    if not path.exists():
        raise _Unreadable(f"{key}: no journal at {path} (run mm-bot run --{mode} first)")
    try:
        reader = Journal.open_readonly(path)
    except JournalError as exc:
        raise _Unreadable(f"{key}: {exc}") from None
    except sqlite3.Error as exc:  # not an SQLite file, unreadable
        raise _Unreadable(f"{key}: {path}: {exc}") from None
    with reader:
        try:
            yield reader, key
        except sqlite3.Error as exc:
            raise _Unreadable(f"{key}: {path}: {exc}") from None


def _mode(args: argparse.Namespace) -> str:
    return "live" if args.live else "paper"


def run_status(args: argparse.Namespace) -> int:
    from mm_bot.config import load_config
    from mm_bot.journal_views import format_status, status_view
    from mm_bot.wiring import instrument

    cfg = load_config(args.config)  # a ConfigError reaches cli.main: exit 2 naming the YAML path
    mode = _mode(args)
    instruments = {m.symbol: instrument(m) for m in cfg.markets}
    try:
        with _journal(cfg, mode) as (reader, key):
            view = status_view(reader, mode, key, _writer_alive(reader.path), instruments)
    except _Unreadable as exc:
        print(f"mm-bot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(json.dumps(view, indent=2) if args.json else format_status(view))
    return EXIT_OK


def run_trades(args: argparse.Namespace) -> int:
    from mm_bot.config import load_config
    from mm_bot.journal_views import format_trades, trades_view

    cfg = load_config(args.config)
    try:
        with _journal(cfg, _mode(args)) as (reader, _key):
            markets = reader.markets()
            if args.market is not None and args.market not in markets:
                have = ", ".join(markets) or "none"
                print(
                    f"mm-bot: --market: the journal has nothing of {args.market} (it has: {have})",
                    file=sys.stderr,
                )
                return EXIT_CONFIG
            trades = trades_view(reader.fill_records(args.market, args.since, args.limit or None))
    except _Unreadable as exc:
        print(f"mm-bot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(json.dumps(trades, indent=2) if args.json else format_trades(trades))
    return EXIT_OK


def _writer_alive(path: Path) -> bool:
    """Whether the process that last locked the journal for writing (its pid is in ``<path>.lock``)
    is alive. Only read, never locked: trying the lock could make a run starting that instant fail."""
    try:
        pid = Path(f"{path}.lock").read_text().strip()
    except OSError:
        return False
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def set_journal_aside(path: str | Path, now_ns: int) -> list[tuple[Path, Path]]:
    """Move the journal at ``path`` and its ``-wal``/``-shm`` companions beside it, to
    ``<stem>.<UTC time><suffix>`` (``journal-paper.20240808T235800Z.sqlite``; ``...Z-2.sqlite`` if
    taken), under the writer's lock, so that the next open starts a new journal. Returns the
    (from, to) pairs, the journal last; none if there is nothing at ``path``.

    Raises ``JournalLocked`` while a run holds the journal. The WAL is first folded into the file,
    so the file moved is whole by itself; the companions go first, so that dying halfway leaves the
    journal where it was rather than a new one beside the old one's WAL. The lock file stays: it
    belongs to the path, not to the journal (see ``Journal.open``)."""
    from mm_bot.journal import writer_lock

    path = Path(path)
    if not _present(path):
        return []
    with writer_lock(path):
        if path.exists():
            _checkpoint(path)
        target = _aside_name(path, now_ns)
        moved = []
        for src in _present(path):
            dst = target.with_name(target.name + src.name[len(path.name) :])
            os.rename(src, dst)
            moved.append((src, dst))
    return moved


def _present(path: Path) -> list[Path]:
    """The companions, then the journal: those that exist."""
    files = [*(path.with_name(path.name + c) for c in _COMPANIONS), path]
    return [f for f in files if f.exists()]


def _checkpoint(path: Path) -> None:
    """Fold the WAL into the file (we hold the lock: no writer adds to it meanwhile)."""
    # A file that is not an SQLite journal is moved as it is: the move is what --fresh asks.
    with contextlib.suppress(sqlite3.Error), contextlib.closing(sqlite3.connect(path, timeout=1.0)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _aside_name(path: Path, now_ns: int) -> Path:
    stamp = datetime.fromtimestamp(now_ns // 10**9, UTC).strftime("%Y%m%dT%H%M%SZ")
    for n in count(1):
        name = f"{path.stem}.{stamp}{'' if n == 1 else f'-{n}'}{path.suffix}"
        candidate = path.with_name(name)
        if not _present(candidate):
            return candidate
    raise AssertionError("unreachable")  # pragma: no cover


def start_fresh(cfg: AppConfig, mode: str) -> Path | None:
    """``run --fresh``: move ``mode``'s journal aside so the run starts a new one, saying where it
    went; None if there was none. A journal a run holds is refused (``ConfigError`` naming its key).

    Live: the position history starts over. The new journal counts none of the old one's fills, the
    venue's balances at the next start become its starting balances (the baseline of the position
    check), and it has a new order tag: orders the old journal left open at the venue are not the
    new one's (never adopted or cancelled). Hence the warning."""
    import structlog

    from mm_bot.journal import JournalLocked

    key, path = cfg.journal.location(mode)
    old = _tag_and_unsettled(path) if mode == "live" else None
    try:
        moved = set_journal_aside(path, time.time_ns())
    except JournalLocked as exc:
        raise ConfigError(
            [(key, f"{exc}; --fresh moves a journal only while no run holds it")], "run"
        ) from None
    except OSError as exc:
        problem = f"--fresh cannot move {path} aside: {exc.strerror or exc}"
        raise ConfigError([(key, problem)], "run") from None
    target = next((dst for src, dst in moved if src == path), None)
    if target is None:
        print(f"mm-bot: --fresh: no journal at {path}: the run starts one", file=sys.stderr)
        return None
    also = [src.name[len(path.name) :] for src, _ in moved if src != path]
    with_companions = f" (with its {' and '.join(also)})" if also else ""
    print(
        f"mm-bot: --fresh: moved {path} to {target}{with_companions}; the run starts a new journal",
        file=sys.stderr,
    )
    log = structlog.get_logger("mm_bot.journal_cli")
    log.info("journal_set_aside", mode=mode, journal=str(path), moved_to=str(target))
    if mode == "live":
        print(_live_warning(old), file=sys.stderr)
    return target


def _tag_and_unsettled(path: Path) -> tuple[str, int] | None:
    """The old live journal's order tag and how many of its orders it did not see end."""
    from mm_bot.journal import Journal, JournalError

    try:
        with Journal.open_readonly(path) as reader:
            return reader.order_tag, len(reader.open_orders())
    except (JournalError, sqlite3.Error):
        return None


def _live_warning(old: tuple[str, int] | None) -> str:
    text = (
        "mm-bot: warning: --fresh --live: the live position history starts over: the new journal counts"
        " none of the old one's fills, and the venue's balances at this start become its starting"
        " balances (the baseline its position is checked against)."
    )
    if old is None:
        return text
    tag, unsettled = old
    text += f" Orders of the old journal (client order ids starting {tag}) are not the new one's:"
    text += " the bot neither adopts nor cancels them"
    if unsettled:
        text += f"; the old journal left {unsettled} order(s) unsettled: cancel any still open at the venue"
    return text + "."
