"""``mm-bot record``: parse the arguments, run ``mm_bot.record`` until SIGINT, SIGTERM or
``--duration``, print the one-line summary.

Exit codes: 0 stopped cleanly (a signal or the duration); 1 the markets could not be loaded or the
file could not be written; 2 a usage error (unknown exchange id, an exchange without WebSocket order
books in ccxt, an unknown symbol, a bad option), one line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mm_bot.record import RecordOptions

__all__ = ["add_record_parser", "run_record"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number of seconds > 0")
    return value


def _levels(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of levels")
    return int(text)


def add_record_parser(sub: Any) -> None:
    """Register ``record`` on the top-level sub-parsers."""
    rec = sub.add_parser(
        "record",
        help="record books and trades of any ccxt exchange with WebSocket books, for the replay",
    )
    rec.add_argument("--exchange", required=True, metavar="ID", help="ccxt exchange id, e.g. binance")
    rec.add_argument("--symbol", required=True, metavar="SYM", help="ccxt unified symbol, e.g. BTC/USDT")
    rec.add_argument("--out", required=True, type=Path, metavar="PATH", help="the capture to write (gzip)")
    rec.add_argument(
        "--duration", type=_seconds, default=None, metavar="S", help="stop after S seconds (default: Ctrl-C)"
    )
    rec.add_argument(
        "--endpoint",
        default=None,
        metavar="URL",
        help="another server for every URL (an emulator, a testnet)",
    )
    rec.add_argument(
        "--depth", type=_levels, default=20, metavar="N", help="book levels per side (default 20)"
    )


def run_record(args: argparse.Namespace) -> int:
    from mm_bot.record import RecordError, RecordOptions

    options = RecordOptions(
        exchange_id=args.exchange,
        symbol=args.symbol,
        out=args.out,
        duration_s=args.duration,
        endpoint=args.endpoint,
        depth=args.depth,
    )
    try:
        return _run(options)
    except RecordError as exc:
        print(f"mm-bot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"mm-bot: {exc.filename or options.out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_ERROR


def _run(options: RecordOptions) -> int:
    from mm_bot.logging import configure_logging

    configure_logging("INFO")  # stderr: JSON lines, or the console renderer on a terminal
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency everywhere but Windows
        return asyncio.run(_main(options))
    return uvloop.run(_main(options))


async def _main(options: RecordOptions) -> int:
    import ccxt.pro as ccxtpro

    from mm_bot.record import record

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        summary = await record(options, stop)
    except (TimeoutError, ccxtpro.BaseError) as exc:
        problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        print(f"mm-bot: {options.exchange_id}: cannot load the markets ({problem})", file=sys.stderr)
        return EXIT_ERROR
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
    print(summary.line())
    return EXIT_OK
