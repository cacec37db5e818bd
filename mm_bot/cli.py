"""The command line: parse, load config, call the app. No business logic lives here.

Exit codes (``mm_bot.errors``): 0 ok, 1 error (a crash, or a failed check), 2 config or usage
error, 3 risk kill switch, 130 interrupted before trading began.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from mm_bot import __version__
from mm_bot.backtest_cli import add_backtest_parser, run_backtest_command
from mm_bot.config_cli import CONFIG_HELP, config_path, init, show
from mm_bot.data_cli import add_data_parser, run_data
from mm_bot.errors import EXIT_CONFIG, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, ConfigError
from mm_bot.journal_cli import add_status_parser, add_trades_parser, run_status, run_trades, start_fresh
from mm_bot.record_cli import add_record_parser, run_record
from mm_bot.study_cli import add_study_parser, run_study_command
from mm_bot.sweep_cli import add_sweep_parser, run_sweep_command


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mm-bot", description=__doc__)
    parser.add_argument("--version", action="version", version=f"mm-bot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    study = sub.add_parser("study", help="reproducible experiments")
    study_sub = study.add_subparsers(dest="study", required=True)
    as2008 = study_sub.add_parser(
        "as2008", help="Avellaneda & Stoikov (2008) section 4 simulation: inventory vs symmetric"
    )
    as2008.add_argument("--gamma", type=float, required=True, help="risk aversion (paper: 0.01, 0.1, 0.5)")
    as2008.add_argument("--paths", type=int, default=1000, help="Monte Carlo paths (default 1000)")
    as2008.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    as2008.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    add_study_parser(study_sub)
    run = sub.add_parser("run", help="run the market maker (paper or live)")
    mode = run.add_mutually_exclusive_group(required=True)
    mode.add_argument("--paper", action="store_true", help="simulated fills (default: synthetic market)")
    mode.add_argument("--live", action="store_true", help="real orders on the configured venue")
    _add_config_arg(run)
    run.add_argument(
        "--duration", type=float, default=None, help="stop after S seconds (default: run until Ctrl-C)"
    )
    run.add_argument("--summary-json", type=Path, default=None, help="write the run summary here at exit")
    run.add_argument(
        "--report", type=Path, default=None, metavar="DIR", help="write the session's HTML report to DIR"
    )
    run.add_argument("--no-tui", action="store_true", help="no live terminal view; log lines only")
    run.add_argument(
        "--fresh",
        action="store_true",
        help="move the mode's journal aside (journal-paper.<UTC time>.sqlite) and start a new one",
    )
    run.add_argument(
        "--metrics-port",
        type=_port,
        default=None,
        metavar="P",
        help="instead of metrics.port (0: a free port)",
    )

    verify = sub.add_parser("verify", help="prove the quote invariants with Z3 for the configured ranges")
    _add_config_arg(verify)
    verify.add_argument("--json", action="store_true", help="print the report as one JSON object")

    check = sub.add_parser("check-config", help="validate the config; print every problem with its YAML path")
    _add_config_arg(check)
    check.add_argument(
        "--show",
        action="store_true",
        help="print the config as it resolves (overrides, defaults); no secrets",
    )

    init = sub.add_parser("init", help="write the commented default config as a starter")
    init.add_argument("path", nargs="?", default="config.yaml", metavar="PATH", help="default ./config.yaml")
    init.add_argument("--force", action="store_true", help="replace a file that is there")

    venue = sub.add_parser("venue", help="exchange emulators backed by the simulator")
    venue_sub = venue.add_subparsers(dest="venue", required=True)
    serve = venue_sub.add_parser(
        "serve", help="serve a simulated exchange until SIGTERM (loopback by default)"
    )
    serve.add_argument("--protocol", required=True, choices=("binance", "grpc"), help="wire protocol")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port (default 0: a free one, printed at start)")
    serve.add_argument(
        "--api-key", default=None, help="binance: API key of the one account (default: a test key)"
    )
    serve.add_argument("--api-secret", default=None, help="binance: its secret (default: a test secret)")
    serve.add_argument(
        "--token",
        default=None,
        help="grpc: bearer token of the one account (default on loopback: a test token)",
    )
    serve.add_argument("--tls-cert", default=None, help="grpc: PEM certificate chain; serve over TLS")
    serve.add_argument("--tls-key", default=None, help="grpc: PEM private key of --tls-cert")
    serve.add_argument("--symbols", default="BTC/USDT", help="comma-separated BASE/QUOTE (default BTC/USDT)")
    serve.add_argument("--balances", default="BTC=1,USDT=100000", help="starting balances, ASSET=amount,...")
    serve.add_argument("--seed", type=int, default=0, help="seed of the markets and the faults (default 0)")
    serve.add_argument(
        "--faults",
        default="",
        help="name=rate,... (see sim/servers/binance/faults.py, sim/servers/grpc/faults.py)",
    )
    serve.add_argument("--state-json", default=None, help="write orders, trades and balances here at exit")
    serve.add_argument("--maker-fee-bps", type=float, default=None, help="maker fee, bp (negative: rebate)")
    serve.add_argument("--taker-fee-bps", type=float, default=None, help="taker fee in bp")
    serve.add_argument(
        "--fee-asset",
        default="received",
        choices=("received", "quote"),
        help="fees in the asset a fill brings in (Binance spot without BNB; default) or always in quote",
    )
    add_data_parser(sub)
    add_backtest_parser(sub)
    add_sweep_parser(sub)
    add_record_parser(sub)
    add_status_parser(sub)
    add_trades_parser(sub)
    return parser


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port in 0..65535 (0: a free one)")
    return int(text)


def _add_config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None, help=CONFIG_HELP)


def _cmd_run(args: argparse.Namespace) -> int:
    # Before anything is loaded; argparse's float() also accepts "nan", "inf" and "1e400".
    if args.duration is not None and not (math.isfinite(args.duration) and args.duration > 0):
        msg = f"must be a finite number of seconds > 0 (got {args.duration})"
        raise ConfigError([("--duration", msg)], "arguments")
    from mm_bot.config import check_writable_paths, load_config

    cfg = load_config(args.config)
    check_writable_paths(cfg, "live" if args.live else "paper", args.summary_json, args.report)
    from mm_bot.app import RunOptions, format_summary, run
    from mm_bot.logging import configure_logging

    # Every run starts with the proofs; a failed one refuses to start, showing the counterexample.
    from mm_bot.verify import format_report, verify_config

    report = verify_config(cfg)
    if not report.ok:
        print(format_report(report), file=sys.stderr)
        print("mm-bot: refusing to start: a quote invariant does not hold (see above)", file=sys.stderr)
        return EXIT_ERROR
    tui = not args.no_tui and sys.stderr.isatty()
    # With the live view on, only warnings reach the terminal; otherwise the configured level.
    configure_logging(
        "WARNING" if tui else cfg.logging.level, json=cfg.logging.json_ or not sys.stderr.isatty()
    )
    mode = "live" if args.live else "paper"
    if args.fresh:  # after the proofs: a run that refuses to start keeps its journal
        start_fresh(cfg, mode)
    opts = RunOptions(
        mode=mode,
        duration_s=args.duration,
        summary_json=args.summary_json,
        tui=tui,
        metrics_port=args.metrics_port,
        report_dir=args.report,
    )
    result = run(cfg, opts)
    print(format_summary(result.summary))
    return result.exit_code


def _cmd_verify(args: argparse.Namespace) -> int:
    from mm_bot.config import load_config
    from mm_bot.verify import format_report, verify_config

    report = verify_config(load_config(args.config))
    print(json.dumps(report.to_json(), indent=2) if args.json else format_report(report))
    return EXIT_OK if report.ok else EXIT_ERROR


def _cmd_check_config(args: argparse.Namespace) -> int:
    from mm_bot.config import load_config

    cfg = load_config(args.config)
    if args.show:
        print(show(cfg), end="")
    else:
        print(f"config OK: {args.config}: {cfg.describe()}")
    return EXIT_OK


def _cmd_init(args: argparse.Namespace) -> int:
    written = init(Path(args.path), force=args.force)
    print(f"wrote {written}: the default config, commented; check it: mm-bot check-config --config {written}")
    return EXIT_OK


_PROTOCOL_FLAGS = {"binance": ("api_key", "api_secret"), "grpc": ("token", "tls_cert", "tls_key")}


def _cmd_venue_serve(args: argparse.Namespace) -> int:
    for protocol, names in _PROTOCOL_FLAGS.items():
        given = [name for name in names if getattr(args, name) is not None]
        if protocol != args.protocol and given:
            flag = "--" + given[0].replace("_", "-")
            print(f"mm-bot: {flag}: only for --protocol {protocol}", file=sys.stderr)
            return EXIT_CONFIG
    if args.protocol == "grpc":
        return _serve_grpc(args)
    from sim.servers.binance import OptionError, from_flags, serve

    try:
        options = from_flags(
            host=args.host,
            port=args.port,
            api_key=args.api_key,
            api_secret=args.api_secret,
            symbols=args.symbols,
            balances=args.balances,
            seed=args.seed,
            faults=args.faults,
            state_json=args.state_json,
            fee_asset=args.fee_asset,
            maker_fee_bps=args.maker_fee_bps,
            taker_fee_bps=args.taker_fee_bps,
        )
    except OptionError as exc:
        print(f"mm-bot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return serve(options)


def _serve_grpc(args: argparse.Namespace) -> int:
    from sim.servers.grpc import OptionError, from_flags, serve

    try:
        options = from_flags(
            host=args.host,
            port=args.port,
            token=args.token,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            symbols=args.symbols,
            balances=args.balances,
            seed=args.seed,
            faults=args.faults,
            state_json=args.state_json,
            fee_asset=args.fee_asset,
            maker_fee_bps=args.maker_fee_bps,
            taker_fee_bps=args.taker_fee_bps,
        )
    except OptionError as exc:
        print(f"mm-bot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return serve(options)


def _cmd_study_as2008(args: argparse.Namespace) -> int:
    from sim.studies.as2008 import StudyParams, format_table, run_study

    if not (math.isfinite(args.gamma) and args.gamma > 0) or args.paths <= 0 or args.seed < 0:
        print("mm-bot: --gamma and --paths must be positive and --seed non-negative", file=sys.stderr)
        return EXIT_CONFIG
    result = run_study(StudyParams(gamma=args.gamma, paths=args.paths, seed=args.seed))
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print(format_table(result))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    if hasattr(args, "config"):
        args.config = str(config_path(args.config))
    try:
        if args.command == "init":
            return _cmd_init(args)
        if args.command == "study" and args.study == "as2008":
            return _cmd_study_as2008(args)
        if args.command == "run":
            return _cmd_run(args)
        if args.command == "verify":
            return _cmd_verify(args)
        if args.command == "check-config":
            return _cmd_check_config(args)
        if args.command == "venue" and args.venue == "serve":
            return _cmd_venue_serve(args)
        if args.command == "data":
            return run_data(args)
        if args.command == "backtest":
            return run_backtest_command(args)
        if args.command == "sweep":
            return run_sweep_command(args)
        if args.command == "study":
            return run_study_command(args)
        if args.command == "record":
            return run_record(args)
        if args.command == "status":
            return run_status(args)
        if args.command == "trades":
            return run_trades(args)
    except ConfigError as exc:
        print(f"mm-bot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:  # Ctrl-C before a run installs its own handling (e.g. during the proofs)
        print("mm-bot: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    parser.error(f"unknown command {args.command!r}")  # exits with status 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
