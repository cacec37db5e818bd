"""mm-bot as a Gymnasium environment: ``gymnasium.make("mm_bot.gym:MarketMaking-v0", **kwargs)``.

Importing this package registers ``MarketMaking-v0`` (``env.MarketMakingEnv``; its keyword arguments
are the environment's: ``config``, ``market``, ``set``, ``data``, ``duration_s``, ``step_s``, ``reward``
...). ``make_vec(n, ...)`` is its vectorized form: ``n`` copies stepped together, in subprocesses
(``"async"``, one per core pays) or in this process (``"sync"``).
"""

from __future__ import annotations

from typing import Any, Literal

import gymnasium as gym

from mm_bot.gym.env import OBSERVATION, REWARDS, MarketMakingEnv

__all__ = ["ENV_ID", "OBSERVATION", "REWARDS", "MarketMakingEnv", "make_vec"]

ENV_ID = "MarketMaking-v0"

if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point="mm_bot.gym.env:MarketMakingEnv")


def make_vec(
    num_envs: int, mode: Literal["async", "sync"] = "async", **kwargs: Any
) -> gym.vector.VectorEnv[Any, Any, Any]:
    """``num_envs`` environments with these keyword arguments, stepped as one (seed ``reset`` with
    one seed: copy i gets seed + i)."""
    return gym.make_vec(ENV_ID, num_envs=num_envs, vectorization_mode=mode, **kwargs)
