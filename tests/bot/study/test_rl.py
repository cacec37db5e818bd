"""``mm-bot study rl``: PPO trains on the environment, the saved policy loads and acts in the study.
Needs the optional extra ``mm-bot[rl]`` (torch); without it the command says how to install it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from mm_bot.cli import main
from mm_bot.config import load_config
from mm_bot.gym import MarketMakingEnv
from mm_bot.study.compare import run_one

ROOT = Path(__file__).resolve().parents[3]
HAVE_SB3 = importlib.util.find_spec("stable_baselines3") is not None


@pytest.mark.skipif(HAVE_SB3, reason="checks the message shown without the rl extra")
def test_without_the_extra_it_says_what_to_install(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["study", "rl", "--train", "--timesteps", "10"]) == 2
    assert "pip install 'mm-bot[rl]'" in capsys.readouterr().err


@pytest.mark.skipif(not HAVE_SB3, reason="needs the rl extra: pip install 'mm-bot[rl]'")
def test_train_save_load_and_act(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mm_bot.study.rl import TrainedPolicy

    out = tmp_path / "ppo"
    config = str(ROOT / "config.yaml")
    args = [
        "study",
        "rl",
        "--train",
        "--timesteps",
        "300",
        "--envs",
        "1",
        "--duration",
        "30",
        "--out",
        str(out),
        "--inventory-penalty",
        "0.1",
    ]
    assert main([*args, "--config", config]) == 0
    meta = json.loads((tmp_path / "ppo.json").read_text())
    assert meta["timesteps"] == 300
    assert meta["env_kwargs"] == {
        "duration_s": 30.0,
        "step_s": 1.0,
        "reward": "pnl_inventory",
        "inventory_penalty": 0.1,
    }
    policy = TrainedPolicy(out)
    env = MarketMakingEnv(config, duration_s=30.0)
    obs, _ = env.reset(seed=0)
    action = policy(obs)
    assert env.action_space.contains(action)
    assert np.array_equal(action, policy(obs))  # deterministic
    run = run_one(load_config(config), "trained", 5, duration_s=30.0, step_s=1.0, policy=policy)
    assert run.metrics["quotes_sent"] >= 0
    code = main(["study", "compare", "--seeds", "1", "--duration", "10", "--policy", str(out), "--json",
                 "--config", config])  # fmt: skip
    assert code == 0
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert [s["strategy"] for s in result["strategies"]][-1] == "trained"
