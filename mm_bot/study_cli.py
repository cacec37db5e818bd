"""``mm-bot study compare`` and ``mm-bot study rl``: the A-S vs naive vs RL study on the synthetic market.

``compare`` runs A-S, GLFT, fixed spread, a random policy and (with ``--policy``) a trained one on
market seeds ``--seed-base`` .. ``--seed-base + --seeds - 1`` of the configured synthetic market,
prints the table (or ``--json``), and with ``--report DIR`` writes ``DIR/index.html`` and
``DIR/study.json``. ``rl --train`` trains PPO (``study/rl.py``; the extra ``mm-bot[rl]``) and saves
the policy to ``--out``. Exit codes: 0 done, 2 a bad flag, config or policy, or the extra missing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any

from mm_bot.config_cli import CONFIG_HELP, config_path
from mm_bot.errors import EXIT_CONFIG, EXIT_OK
from mm_bot.gym.env import REWARDS

__all__ = ["add_study_parser", "run_study_command"]

DEFAULT_SEED_BASE = 1000  # far from the seeds training draws (random 31-bit numbers)


def add_study_parser(ss: Any) -> None:
    """``compare`` and ``rl`` under ``mm-bot study`` (``ss``: its subparsers; ``as2008`` is the CLI's own)."""
    cp = ss.add_parser("compare", help="every strategy on the same seeds; table and HTML report")
    cp.add_argument("--seeds", type=int, default=10, metavar="N", help="market seeds (default 10)")
    cp.add_argument("--seed-base", type=int, default=DEFAULT_SEED_BASE, metavar="S", help="first seed")
    cp.add_argument(
        "--duration", type=float, default=300.0, metavar="S", help="seconds per run (default 300)"
    )
    cp.add_argument("--step-s", type=float, default=1.0, metavar="S", help="decision interval (default 1)")
    cp.add_argument("--policy", type=Path, default=None, metavar="PATH", help="a policy `study rl` saved")
    cp.add_argument("--json", action="store_true", help="print the result as JSON")
    cp.add_argument("--report", type=Path, default=None, metavar="DIR", help="write DIR/index.html")
    cp.add_argument("--config", default=None, help=CONFIG_HELP)
    rl = ss.add_parser("rl", help="train PPO on MarketMaking-v0 (needs mm-bot[rl])")
    rl.add_argument("--train", action="store_true", required=True, help="train a policy")
    rl.add_argument("--timesteps", type=int, default=200_000, metavar="N", help="default 200000")
    rl.add_argument(
        "--out", type=Path, default=Path("policies/ppo"), metavar="PATH", help="PATH.zip, PATH.json"
    )
    rl.add_argument("--seed", type=int, default=0)
    rl.add_argument("--envs", type=int, default=2, metavar="N", help="environment copies (default 2)")
    rl.add_argument(
        "--duration", type=float, default=300.0, metavar="S", help="episode seconds (default 300)"
    )
    rl.add_argument("--step-s", type=float, default=1.0, metavar="S", help="decision interval (default 1)")
    rl.add_argument("--reward", default="pnl_inventory", choices=REWARDS, help="default pnl_inventory")
    rl.add_argument(
        "--inventory-penalty",
        type=float,
        default=0.01,
        metavar="L",
        help="lambda of the reward (default 0.01)",
    )
    rl.add_argument("--config", default=None, help=CONFIG_HELP)


def run_study_command(args: argparse.Namespace) -> int:
    if args.study == "rl":
        return _train(args)
    return _compare(args)


def _compare(args: argparse.Namespace) -> int:
    from mm_bot.config import load_config
    from mm_bot.study.compare import BASELINES, run_all, summarize, table

    if args.seeds < 1 or args.duration <= 0 or not 0 < args.step_s <= args.duration:
        print("mm-bot: need --seeds >= 1 and 0 < --step-s <= --duration", file=sys.stderr)
        return EXIT_CONFIG
    path = config_path(args.config)
    cfg = load_config(path)  # a ConfigError: the CLI reports it, exit 2
    policy = None
    env_kwargs: dict[str, Any] = {}
    strategies = list(BASELINES)
    if args.policy is not None:
        loaded = _load_policy(args.policy)
        if loaded is None:
            return EXIT_CONFIG
        policy, env_kwargs = loaded, loaded.env_kwargs
        strategies.append("trained")
    seeds = range(args.seed_base, args.seed_base + args.seeds)
    total = len(seeds) * len(strategies)
    done = 0
    started = time.monotonic()

    def progress(run: Any) -> None:
        nonlocal done
        done += 1
        if not args.json:
            print(
                f"\r{done}/{total} runs ({run.strategy} seed {run.seed})", end="", file=sys.stderr, flush=True
            )

    runs = run_all(
        cfg,
        strategies,
        list(seeds),
        duration_s=args.duration,
        step_s=args.step_s,
        env_kwargs=env_kwargs,
        policy=policy,
        progress=progress,
    )
    if not args.json:
        print(file=sys.stderr)
    rows = summarize(runs)
    result = {
        "config": str(path),
        "symbol": cfg.markets[0].symbol,
        "seeds": list(seeds),
        "duration_s": args.duration,
        "step_s": args.step_s,
        "policy": None if args.policy is None else str(args.policy),
        "seconds": round(time.monotonic() - started, 2),
        "strategies": [r.to_json() for r in rows],
        "runs": [{"strategy": r.strategy, "seed": r.seed, "metrics": r.metrics} for r in runs],
    }
    if args.report is not None:
        from mm_bot.study.report import write_report

        facts = {
            "market": f"{cfg.markets[0].symbol} (synthetic)",
            "seeds": f"{args.seed_base}..{args.seed_base + args.seeds - 1}",
            "duration": f"{args.duration:g} s",
            "decision interval": f"{args.step_s:g} s",
            "policy": "none" if args.policy is None else str(args.policy),
        }
        page = write_report(
            args.report, title="mm-bot study: A-S vs naive vs RL", facts=facts, rows=rows, runs=runs
        )
        (args.report / "study.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        if not args.json:
            print(f"report: {page}")
    if args.json:
        print(json.dumps(result))
    else:
        print(table(rows))
    return EXIT_OK


def _load_policy(path: Path) -> Any:
    if importlib.util.find_spec("stable_baselines3") is None:
        from mm_bot.study.rl import INSTALL_HINT

        print(f"mm-bot: --policy: {INSTALL_HINT}", file=sys.stderr)
        return None
    from mm_bot.study.rl import TrainedPolicy

    try:
        return TrainedPolicy(path)
    except (OSError, ValueError, KeyError) as exc:
        print(f"mm-bot: --policy {path}: cannot load it: {exc}", file=sys.stderr)
        return None


def _train(args: argparse.Namespace) -> int:
    from mm_bot.study.rl import INSTALL_HINT, train

    if importlib.util.find_spec("stable_baselines3") is None:
        print(f"mm-bot: {INSTALL_HINT}", file=sys.stderr)
        return EXIT_CONFIG
    if args.timesteps < 1 or args.envs < 1:
        print("mm-bot: need --timesteps >= 1 and --envs >= 1", file=sys.stderr)
        return EXIT_CONFIG
    from mm_bot.config import load_config

    config = str(config_path(args.config))
    load_config(config)  # checked before training starts; a ConfigError: exit 2
    started = time.monotonic()
    env_kwargs = {
        "duration_s": args.duration,
        "step_s": args.step_s,
        "reward": args.reward,
        "inventory_penalty": args.inventory_penalty,
    }
    train(
        args.out,
        timesteps=args.timesteps,
        seed=args.seed,
        envs=args.envs,
        env_kwargs=env_kwargs,
        config=config,
    )
    print(f"trained {args.timesteps} steps in {time.monotonic() - started:.0f} s")
    return EXIT_OK
