"""PPO on ``MarketMaking-v0`` with Stable-Baselines3 (the optional extra ``mm-bot[rl]``), and the
trained policy as the study's ``trained`` strategy.

The agent sees the environment through two fixed transforms, written into the policy's metadata so
the study replays exactly what was trained: actions rescaled to [-1, 1] (``RescaleAction``), and
each observation divided by its scale in ``OBS_SCALE`` (no running statistics: the same observation
always means the same input). ``train`` saves ``PATH`` (SB3's zip) and ``PATH.json`` (the
environment's keyword arguments, the scales, the action bounds, the timesteps and seed).
``TrainedPolicy(PATH)`` maps an environment observation to an action in ticks, deterministically.

Only ``train`` and ``TrainedPolicy`` import torch and SB3, when called.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import numpy.typing as npt

from mm_bot.gym.env import OBSERVATION, MarketMakingEnv

__all__ = ["INSTALL_HINT", "OBS_SCALE", "TrainedPolicy", "train"]

INSTALL_HINT = (
    "mm-bot study rl needs Stable-Baselines3 and torch: pip install 'mm-bot[rl]' "
    "(a CPU build of torch first, e.g. pip install torch==2.13.0, spares a GPU build's download)"
)
OBS_SCALE = {  # what one unit of the network's input is, per observation
    "inventory": 1.0,
    "sigma_bps": 1.0,
    "spread_ticks": 1000.0,
    "imbalance": 1.0,
    "bid_resting": 1.0,
    "ask_resting": 1.0,
    "bid_queue_ahead": 10.0,
    "ask_queue_ahead": 10.0,
    "bid_distance_ticks": 1000.0,
    "ask_distance_ticks": 1000.0,
    "time_left": 1.0,
    "recent_pnl_bps": 10.0,
}
Obs = npt.NDArray[np.float32]


def _scales() -> Obs:
    return np.array([OBS_SCALE[n] for n in OBSERVATION], np.float32)


def wrap(env: MarketMakingEnv) -> gym.Env[Any, Any]:
    """The environment as the agent trains on it: actions in [-1, 1], observations scaled."""
    scales = _scales()
    low = env.observation_space.low / scales  # type: ignore[attr-defined]
    high = env.observation_space.high / scales  # type: ignore[attr-defined]
    space = gym.spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)
    n = env.action_space.shape[0]  # type: ignore[index]
    ones = np.ones(n, np.float32)
    rescaled = gym.wrappers.RescaleAction(env, -ones, ones)
    return gym.wrappers.TransformObservation(rescaled, lambda o: (o / scales).astype(np.float32), space)


def train(
    out: Path,
    *,
    timesteps: int,
    seed: int = 0,
    envs: int = 2,
    env_kwargs: Mapping[str, Any] | None = None,
    config: str | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train PPO for ``timesteps`` environment steps on ``envs`` copies (subprocesses when > 1);
    save the policy and its metadata; return the metadata."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    kwargs = dict(env_kwargs or {})
    probe = MarketMakingEnv(config, **kwargs)
    vec_cls = SubprocVecEnv if envs > 1 else DummyVecEnv
    vec = make_vec_env(
        lambda: wrap(MarketMakingEnv(config, **kwargs)), n_envs=envs, seed=seed, vec_env_cls=vec_cls
    )
    try:
        model = PPO(
            "MlpPolicy",
            vec,
            n_steps=1024,
            batch_size=256,
            learning_rate=3e-4,
            gamma=0.99,
            gae_lambda=0.95,
            ent_coef=0.0,
            seed=seed,
            device="cpu",
            verbose=0,
        )
        model.learn(total_timesteps=timesteps, progress_bar=False)
    finally:
        vec.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(out))
    meta = {
        "algorithm": "PPO",
        "timesteps": timesteps,
        "seed": seed,
        "envs": envs,
        "config": config,
        "env_kwargs": kwargs,
        "observation": list(OBSERVATION),
        "obs_scale": [OBS_SCALE[n] for n in OBSERVATION],
        "action_low": probe.action_space.low.tolist(),  # type: ignore[attr-defined]
        "action_high": probe.action_space.high.tolist(),  # type: ignore[attr-defined]
    }
    _meta_path(out).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    log(f"saved {_zip(out)} and {_meta_path(out)}")
    return meta


class TrainedPolicy:
    """A saved PPO policy: ``policy(obs)`` -> the action in ticks the environment takes."""

    def __init__(self, path: Path) -> None:
        from stable_baselines3 import PPO

        self.meta = json.loads(_meta_path(path).read_text(encoding="utf-8"))
        if self.meta["observation"] != list(OBSERVATION):
            raise ValueError(f"{path} was trained on other observations: {self.meta['observation']}")
        self.model = PPO.load(str(_zip(path)), device="cpu")
        self._scale = np.array(self.meta["obs_scale"], np.float32)
        self._low = np.array(self.meta["action_low"], np.float64)
        self._high = np.array(self.meta["action_high"], np.float64)

    @property
    def env_kwargs(self) -> dict[str, Any]:
        return dict(self.meta["env_kwargs"])

    def __call__(self, obs: Obs) -> Obs:
        action, _ = self.model.predict(obs / self._scale, deterministic=True)
        unit = np.clip(np.asarray(action, np.float64), -1.0, 1.0)
        return (self._low + (unit + 1.0) / 2.0 * (self._high - self._low)).astype(np.float32)


def _zip(path: Path) -> Path:
    return path if path.suffix == ".zip" else path.with_name(path.name + ".zip")


def _meta_path(path: Path) -> Path:
    return _zip(path).with_suffix(".json")
