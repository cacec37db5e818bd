"""``MarketMaking-v0``: Gymnasium's own checker, registration by import path, determinism, and the
rules the bot's orders obey holding for the agent's: tick rounding, post-only, position limits."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from mm_bot.config import load_config
from mm_bot.engine.core_types import Command, Place
from mm_bot.engine.market import Event
from mm_bot.errors import VerificationFailed
from mm_bot.gym import OBSERVATION, MarketMakingEnv, make_vec
from mm_bot.model import OrderType, Side
from mm_bot.verify import policy_spec, verify_spec

ROOT = Path(__file__).resolve().parents[3]
SPOT = ROOT / "tests" / "data" / "binance-btcusdt-2024-08-08" / "spot_btcusdt_20240808.gz"


def rollout(env: MarketMakingEnv, seed: int, actions: list[list[float]]) -> list[tuple[object, ...]]:
    obs, _ = env.reset(seed=seed)
    out: list[tuple[object, ...]] = [tuple(obs.tolist())]
    for a in actions:
        obs, reward, done, truncated, info = env.step(np.array(a, np.float32))
        out.append((tuple(obs.tolist()), reward, done, truncated, info["fills"], info["pnl"]))
        if done:
            break
    return out


# The action is in ticks, as the bot quotes; RL code rescales it (gymnasium.wrappers.RescaleAction), as
# `mm-bot study rl` does. Every other warning of the checker fails the test.
@pytest.mark.filterwarnings("ignore:.*symmetric and normalized space:UserWarning")
def test_gymnasium_checker_passes() -> None:
    env = MarketMakingEnv(duration_s=20.0)
    check_env(env, skip_render_check=True)
    sized = MarketMakingEnv(duration_s=20.0, sizes=True)
    check_env(sized, skip_render_check=True)


def test_make_by_import_path_takes_the_market_as_keywords() -> None:
    env = gym.make(
        "mm_bot.gym:MarketMaking-v0", duration_s=10.0, step_s=0.5, set={"markets.0.order_size_base": 0.002}
    )
    inner = env.unwrapped
    assert isinstance(inner, MarketMakingEnv)
    assert inner.cfg.markets[0].order_size_base == 0.002
    obs, _ = env.reset(seed=0)
    assert obs.shape == (len(OBSERVATION),)
    steps = 0
    done = False
    while not done:
        _, _, done, _, _ = env.step(env.action_space.sample())
        steps += 1
    assert steps == 19  # reset runs the first half second (a book, no quotes); 19 more to 10 s


def test_same_seed_same_episode_other_seed_other_market() -> None:
    env = MarketMakingEnv(duration_s=30.0)
    actions = [[200.0 + 10 * k, 400.0 - 5 * k] for k in range(30)]
    a = rollout(env, 7, actions)
    b = rollout(env, 7, actions)
    c = rollout(env, 8, actions)
    assert a == b
    assert a != c
    assert sum(int(step[4]) for step in a[1:]) > 0  # it traded


class Watch:
    """Records every command the core sends, with the book it decided on (the core's own view)."""

    def __init__(self, env: MarketMakingEnv) -> None:
        assert env.session is not None
        self.session = env.session
        self.core = env.session.core
        self.places: list[tuple[Place, int | None, int | None, float, int]] = []
        self.inner = env.session.driver.step
        env.session.driver.step = self

    def __call__(self, event: Event, now_ns: int) -> list[Command]:
        commands = self.inner(event, now_ns)
        book = self.core.book
        for c in commands:
            if isinstance(c, Place):
                position = self.core.ledger.position_lots
                self.places.append((c, book.best_bid, book.best_ask, book.mid, position))
        return commands


def test_the_agents_orders_obey_the_bots_limits() -> None:
    """Offsets of 0 and fractions of a tick: the pipeline must round outward, stay behind the touch
    (post-only), and never let a fill take the position past max position."""
    env = MarketMakingEnv(duration_s=240.0, step_s=0.5, max_offset_ticks=400)
    env.reset(seed=11)
    watch = Watch(env)
    mcfg = env.cfg.markets[0]
    max_lots = round(mcfg.risk.max_position_base / mcfg.lot_size)
    order_lots = round(mcfg.order_size_base / mcfg.lot_size)
    tick = mcfg.tick_size
    rng = np.random.default_rng(0)
    done = False
    positions = []
    while not done:
        offsets = rng.choice([0.0, 0.4, 37.5, 120.25], size=2)
        _, _, done, _, info = env.step(offsets.astype(np.float32))
        positions.append(round(info["position_base"] / mcfg.lot_size))
    quotes = [p for p in watch.places if p[0].request.order_type is OrderType.POST_ONLY]
    assert len(quotes) > 50
    assert max(abs(p) for p in positions) == max_lots  # the limit was reached, and held
    assert watch.core.ledger.max_abs_position_lots <= max_lots
    min_spread_ticks = math.ceil(min(p[3] for p in quotes) * mcfg.quoting.min_spread_bps * 1e-4 / tick)
    for place, best_bid, best_ask, mid, position in quotes:
        r = place.request
        assert isinstance(r.price_ticks, int) and isinstance(r.qty_lots, int)
        assert best_bid is not None and best_ask is not None
        if r.side is Side.BUY:
            assert r.price_ticks <= best_ask - 1  # post-only: never through the touch
            assert r.price_ticks * tick <= mid  # outward rounding: never closer than asked
            assert position + r.qty_lots <= max_lots
        else:
            assert r.price_ticks >= best_bid + 1
            assert r.price_ticks * tick >= mid
            assert position - r.qty_lots >= -max_lots
        assert 0 < r.qty_lots <= order_lots
    assert min_spread_ticks >= 1
    fills = watch.session.venue.fills("agent")
    assert fills and all(f.liquidity == "maker" for f in fills)


def test_sizes_scale_the_orders() -> None:
    env = MarketMakingEnv(duration_s=20.0, sizes=True)
    env.reset(seed=4)
    watch = Watch(env)
    for _ in range(10):
        env.step(np.array([300, 300, 0.5, 0.0], np.float32))
    order_lots = round(env.cfg.markets[0].order_size_base / env.cfg.markets[0].lot_size)
    quotes = [p[0].request for p in watch.places if p[0].request.order_type is OrderType.POST_ONLY]
    assert quotes
    assert {q.side for q in quotes} == {Side.BUY}  # a zero size quotes nothing on the ask
    assert all(q.qty_lots <= order_lots // 2 for q in quotes)


def test_rewards_split_as_documented() -> None:
    actions = [[250.0, 250.0]] * 60
    by_name = {}
    for name in ("pnl", "pnl_inventory", "spread_inventory", "dampened"):
        env = MarketMakingEnv(duration_s=60.0, reward=name, inventory_penalty=0.05, dampening=0.5)
        env.reset(seed=9)
        steps = []
        for a in actions:
            _, reward, done, _, info = env.step(np.array(a, np.float32))
            steps.append((reward, info))
            if done:
                break
        by_name[name] = steps
    bp = env._notional_bp
    order = env.cfg.markets[0].order_size_base
    assert sum(abs(i["position_base"]) for _, i in by_name["pnl"]) > 0
    for k, (r_pnl, info) in enumerate(by_name["pnl"]):
        q = info["position_base"] / order
        assert r_pnl == pytest.approx(info["pnl"] / bp)
        assert by_name["pnl_inventory"][k][0] == pytest.approx(info["pnl"] / bp - 0.05 * q * q)
        assert by_name["spread_inventory"][k][0] == pytest.approx(info["spread_capture"] / bp - 0.05 * q * q)
        damp = (info["pnl"] - 0.5 * max(0.0, info["inventory_pnl"])) / bp
        assert by_name["dampened"][k][0] == pytest.approx(damp)


def test_observation_reads_the_book_and_our_quotes() -> None:
    env = MarketMakingEnv(duration_s=30.0)
    obs, _ = env.reset(seed=3)
    o = dict(zip(OBSERVATION, obs.tolist(), strict=True))
    assert o["spread_ticks"] >= 1 and o["sigma_bps"] > 0 and o["bid_resting"] == o["ask_resting"] == 0
    obs, *_ = env.step(np.array([150, 600], np.float32))
    o = dict(zip(OBSERVATION, obs.tolist(), strict=True))
    assert o["bid_resting"] == 1 and o["ask_resting"] == 1
    assert 150 <= o["bid_distance_ticks"] < 152 and 600 <= o["ask_distance_ticks"] < 602
    assert o["bid_queue_ahead"] >= 0 and -1 <= o["imbalance"] <= 1
    assert 0 < o["time_left"] < 1


def test_a_recorded_book_drives_the_episode(tmp_path: Path) -> None:
    data = tmp_path / SPOT.name
    shutil.copy(SPOT, data)  # the parse cache goes beside it
    env = MarketMakingEnv(data=[data], duration_s=60.0)
    obs, info = env.reset(seed=0)
    assert np.all(np.isfinite(obs))
    steps = fills = 0
    done = False
    while not done:
        obs, _, done, _, info = env.step(np.array([100, 100], np.float32))
        steps += 1
        fills += info["fills"]
        assert np.all(np.isfinite(obs))
    assert steps == 59 and fills > 0


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_vectorized_form_steps_copies_together(mode: str) -> None:
    envs = make_vec(2, mode, duration_s=5.0)  # type: ignore[arg-type]
    try:
        obs, _ = envs.reset(seed=[1, 2])
        assert obs.shape == (2, len(OBSERVATION))
        obs, rewards, done, _, _ = envs.step(np.full((2, 2), 200, np.float32))
        assert rewards.shape == (2,) and not done.any()
    finally:
        envs.close()


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="reward must be one of"):
        MarketMakingEnv(reward="sharpe")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="step_s"):
        MarketMakingEnv(duration_s=1.0, step_s=2.0)
    env = MarketMakingEnv(duration_s=5.0)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(2, np.float32))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array([np.nan, 1.0], np.float32))


def test_the_agents_quotes_are_proved_before_it_trades() -> None:
    """A coarse tick near the bottom of the mid range with a 90% fat-finger guard: a deep enough bid
    rounds down to tick 0. Z3 finds it for the agent's depths, and the environment refuses to start."""
    coarse = {
        "markets.0.tick_size": 100,
        "markets.0.verify.mid_min": 150,
        "markets.0.verify.mid_max": 1000,
        "paper.synthetic.markets.BTC/USDT.s0": 500,
        "markets.0.quoting.max_distance_bps": 9000,
        "markets.0.quoting.max_spread_bps": 15000,
        "markets.0.quoting.min_spread_bps": 0.5,
        "markets.0.quoting.tolerance_bps": 0.2,
    }
    with pytest.raises(VerificationFailed, match="positive_prices"):
        MarketMakingEnv(duration_s=5.0, set=coarse)
    MarketMakingEnv(duration_s=5.0, set=coarse, verify=False)  # the config itself is valid


def test_policy_proofs_cover_the_pipeline_without_the_model_claims() -> None:
    cfg = load_config(ROOT / "config.yaml")
    report = verify_spec(policy_spec(cfg.markets[0]), 30_000)
    names = {r.name for r in report.results}
    assert report.ok and {"post_only", "position_limit", "max_distance", "min_spread"} <= names
    assert not {"inventory_skew", "mid_side"} & names


def test_session_refuses_depths_the_proofs_do_not_cover() -> None:
    env = MarketMakingEnv(duration_s=5.0)
    env.reset(seed=0)
    assert env.session is not None
    for bad in (-1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="depths must be finite"):
            env.session.set_depths(bad, 10.0)
