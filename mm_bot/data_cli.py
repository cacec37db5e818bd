"""``mm-bot data info|book|convert``: inspect and convert recorded order books (``sim/data`` does the
work; this module parses arguments and prints).

Exit codes: 0 ok; 1 ``book`` found the book unknown at the asked time (before the first snapshot,
or after a sequence gap and before the next snapshot; the output says which); 2 a usage error or a
file that cannot be used, with one line on stderr naming the file (and line). Lines skipped as
unreadable are warned about on stderr and do not change the exit code (``--strict`` makes them
exit 2).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.data import Recording

__all__ = ["add_data_parser", "parse_timestamp", "run_data"]

EXIT_OK = 0
EXIT_UNKNOWN_BOOK = 1
EXIT_USAGE = 2

_ISO = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)(?:\.(?P<frac>\d{1,9}))?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?"
)


def parse_timestamp(text: str) -> int:
    """Nanoseconds since the epoch, from an integer of ns or an ISO-8601 time (UTC unless it has an
    offset; up to nine fractional digits)."""
    text = text.strip()
    if text.isdigit():
        if int(text) >= 2**63:
            raise argparse.ArgumentTypeError(f"{text} is beyond the last representable ns (2**63 - 1)")
        return int(text)
    match = _ISO.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither ns since the epoch nor ISO-8601 (e.g. 2024-08-08T23:58:00.5Z)"
        )
    zone = match["zone"] or "+00:00"
    try:
        moment = datetime.fromisoformat(f"{match['date']}T{match['time']}{'+00:00' if zone == 'Z' else zone}")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None
    fraction = int((match["frac"] or "").ljust(9, "0"))
    ns = int(moment.astimezone(UTC).timestamp()) * 1_000_000_000 + fraction
    if not 0 <= ns < 2**63:  # as an integer --at must be: the data's times are int64 ns since 1970
        raise argparse.ArgumentTypeError(f"{text!r} is outside 1970-01-01 .. 2262-04-11 (int64 ns)")
    return ns


def _depth(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of levels")
    return int(text)


def add_data_parser(sub: Any) -> None:
    """Register ``data`` and its sub-commands on the top-level sub-parsers."""
    data = sub.add_parser("data", help="inspect and convert recorded order books")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    info = data_sub.add_parser("info", help="span, events and messages by kind, gaps, snapshots")
    book = data_sub.add_parser("book", help="the rebuilt order book at a time")
    convert = data_sub.add_parser("convert", help="write the normalized events, or hftbacktest's .npz")
    for parser in (info, book, convert):
        parser.add_argument(
            "files", nargs="+", metavar="FILE", help="raw files of one recording, or one .npz"
        )
        parser.add_argument("--market", choices=("spot", "usdm"), default=None, help="default: from the data")
        parser.add_argument(
            "--tick-size", default=None, help="price step, e.g. 0.01 (default: from the data)"
        )
        parser.add_argument(
            "--lot-size", default=None, help="quantity step, e.g. 0.00001 (default: from the data)"
        )
        parser.add_argument("--no-cache", action="store_true", help="neither read nor write <file>.mmbot.npz")
        parser.add_argument("--strict", action="store_true", help="any unreadable line is an error (exit 2)")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    book.add_argument(
        "--at", required=True, type=parse_timestamp, metavar="TS", help="ns since the epoch or ISO-8601"
    )
    book.add_argument("--depth", type=_depth, default=10, metavar="N", help="levels per side (default 10)")
    book.add_argument("--json", action="store_true", help="print one JSON object")
    convert.add_argument("--out", required=True, type=Path, metavar="PATH", help="the .npz to write")
    convert.add_argument(
        "--format",
        choices=("npz", "hftbacktest"),
        default="npz",
        help="npz: our events and messages (default); hftbacktest: its feed .npz",
    )
    convert.add_argument(
        "--keep-local-ts",
        action="store_true",
        help="hftbacktest: keep the recorded receive times even where they precede the venue's",
    )


def run_data(args: argparse.Namespace) -> int:
    from sim.data import DataError

    try:
        recording = _load(args)
        if args.data_command == "info":
            return _info(recording, args)
        if args.data_command == "book":
            return _book(recording, args)
        return _convert(recording, args)
    except DataError as exc:
        print(f"mm-bot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # writing --out
        print(f"mm-bot: {exc.filename or args.out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE


def _load(args: argparse.Namespace) -> Recording:
    from sim.data import load

    recording = load(
        args.files,
        market=args.market,
        tick_size=args.tick_size,
        lot_size=args.lot_size,
        cache=not args.no_cache,
        strict=args.strict,
    )
    warn_about_damage(recording)
    return recording


def warn_about_damage(recording: Recording) -> None:
    """One warning line on stderr per damaged file (lines skipped; a file cut short names its damage
    as its last problem), and for gaps and a book never known: what a replay of it will lack.
    ``data`` and ``backtest`` both say it."""
    for report in recording.report.files:
        if report.problems:
            first = f" (first: {report.examples[0]})" if report.examples else ""
            print(
                f"mm-bot: warning: {report.name}: {report.problems} unreadable lines skipped{first}",
                file=sys.stderr,
            )
    gaps = recording.report.gaps
    if gaps:
        print(
            f"mm-bot: warning: {len(gaps)} sequence gap(s): the book is unknown from each until the next"
            " snapshot (nothing is quoted or filled meanwhile)",
            file=sys.stderr,
        )
    if not recording.report.snapshots:
        print("mm-bot: warning: no book snapshot: the book is never known", file=sys.stderr)


def _info(recording: Recording, args: argparse.Namespace) -> int:
    from sim.data import format_info, info

    summary = info(recording)
    print(json.dumps(summary, indent=2) if args.json else format_info(summary))
    return EXIT_OK


def _book(recording: Recording, args: argparse.Namespace) -> int:
    from sim.data import MSG_GAP, BookReplay, iso_utc

    replay = BookReplay(recording)
    book = replay.at(args.at)
    last = replay.last_message_at(args.at)
    messages = recording.messages
    meta = recording.meta
    bids, asks = book.top(args.depth) if book.known else ([], [])
    out: dict[str, Any] = {
        "ts": args.at,
        "ts_iso": iso_utc(args.at),
        "symbol": meta.symbol,
        "known": book.known,
        "update_id": book.update_id if book.known else None,
        "last_message_local_ts": int(messages["local_ts"][last]) if last >= 0 else None,
        "after_end": bool(len(messages)) and args.at > int(messages["local_ts"][-1]),
        "bids": [[meta.price(p), meta.quantity(q)] for p, q in bids],
        "asks": [[meta.price(p), meta.quantity(q)] for p, q in asks],
    }
    if not book.known:
        gaps = messages[: last + 1][messages["kind"][: last + 1] == MSG_GAP]
        if last < 0:
            out["reason"] = "before the first message" + (
                f" (received {iso_utc(int(messages['local_ts'][0]))})" if len(messages) else ""
            )
        elif len(gaps):
            out["reason"] = (
                f"after a sequence gap at {iso_utc(int(gaps['local_ts'][-1]))}, before the next snapshot"
            )
        else:
            out["reason"] = "before the first usable snapshot"
    if args.json:
        print(json.dumps(out))
    else:
        print(_format_book(out))
    if not book.known:
        print(f"mm-bot: the book is unknown at {out['ts_iso']}: {out['reason']}", file=sys.stderr)
        return EXIT_UNKNOWN_BOOK
    return EXIT_OK


def _format_book(out: dict[str, Any]) -> str:
    head = f"{out['symbol']} at {out['ts_iso']} ({out['ts']})"
    if not out["known"]:
        return f"{head}: book unknown ({out['reason']})"
    lines = [
        head + f", update id {out['update_id']}" + (" (after the last message)" if out["after_end"] else "")
    ]
    lines += [f"  ask {price:>14} {qty:>14}" for price, qty in reversed(out["asks"])]
    lines += [f"  bid {price:>14} {qty:>14}" for price, qty in out["bids"]]
    return "\n".join(lines)


def _convert(recording: Recording, args: argparse.Namespace) -> int:
    from sim.data import save_hftbacktest, save_normalized

    out = Path(args.out)
    for source in args.files:
        if out.exists() and out.samefile(source):
            print(f"mm-bot: --out {out} is one of the input files: give another path", file=sys.stderr)
            return EXIT_USAGE
    if args.format == "hftbacktest":
        save_hftbacktest(recording, args.out, correct_latency=not args.keep_local_ts)
    else:
        save_normalized(recording, args.out)
    events, messages = len(recording.events), len(recording.messages)
    print(f"wrote {events} events ({messages} messages) as {args.format} to {args.out}")
    return EXIT_OK
