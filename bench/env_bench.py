"""Steps per second of the Gymnasium environment ``MarketMaking-v0``, single and vectorized.

Each measurement runs ``--steps`` environment steps (random actions from a seeded action space, one
step = one decision interval of ``step_s``, default 1 s of the synthetic market) after a warm-up
episode, and reports steps per second of wall time and virtual seconds simulated per wall second.
Episodes end every ``--duration`` seconds and are reset inside the timing (a vectorized env resets
its copies itself). ``vector``: ``mm_bot.gym.make_vec`` with ``--envs`` copies, in subprocesses
(``async``) and in this process (``sync``); ``speedup`` is over the single env. On a shared host run
it when the machine is otherwise idle (``load_avg_1m`` is recorded).

Usage: ``python bench/env_bench.py [--json] [--steps N] [--envs N] [--step-s S] [--duration S]``
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from mm_bot.gym import MarketMakingEnv, make_vec


def single(steps: int, kwargs: dict[str, Any]) -> float:
    env = MarketMakingEnv(**kwargs)
    env.action_space.seed(0)
    env.reset(seed=0)
    for _ in range(50):  # warm-up
        env.step(env.action_space.sample())
    env.reset(seed=1)
    t0 = time.perf_counter()
    for _ in range(steps):
        _, _, done, truncated, _ = env.step(env.action_space.sample())
        if done or truncated:
            env.reset()
    return time.perf_counter() - t0


def vector(steps: int, n: int, mode: str, kwargs: dict[str, Any]) -> float:
    envs = make_vec(n, mode, **kwargs)  # type: ignore[arg-type]
    try:
        envs.action_space.seed(0)
        envs.reset(seed=0)
        for _ in range(50 // n + 1):
            envs.step(envs.action_space.sample())
        t0 = time.perf_counter()
        for _ in range(steps // n):
            envs.step(envs.action_space.sample())  # copies that end reset on their next step
        return time.perf_counter() - t0
    finally:
        envs.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--envs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--step-s", type=float, default=1.0)
    ap.add_argument("--duration", type=float, default=300.0)
    args = ap.parse_args()
    kwargs = {"duration_s": args.duration, "step_s": args.step_s}
    seconds = single(args.steps, kwargs)
    out: dict[str, Any] = {
        "steps": args.steps,
        "step_s": args.step_s,
        "episode_s": args.duration,
        "single": {
            "seconds": round(seconds, 3),
            "steps_per_sec": round(args.steps / seconds, 1),
            "virtual_s_per_sec": round(args.steps * args.step_s / seconds, 1),
        },
        "vector": {},
        "load_avg_1m": os.getloadavg()[0],
    }
    for mode in ("async", "sync"):
        v = vector(args.steps, args.envs, mode, kwargs)
        done = args.steps // args.envs * args.envs
        out["vector"][mode] = {
            "envs": args.envs,
            "seconds": round(v, 3),
            "steps_per_sec": round(done / v, 1),
            "speedup": round(done / v / (args.steps / seconds), 2),
        }
    if args.json:
        print(json.dumps(out))
    else:
        print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
