"""``MarketMakingEnv``: a Gymnasium environment over the bot's own core and simulator.

One episode is one ``Session`` (``session.py``): the configured market's core with strategy
"policy" against the synthetic market (seeded by ``reset``) or a recorded book. One step is one
decision interval of ``step_s`` seconds of virtual time: the action sets the depths the core quotes
at, the market runs for the interval (the core re-centres on every book, keeps a resting order within
its tolerance band, waits out its lockouts), and the observation and reward are read at its end.

**Action** (``Box``, float32): ``[bid_offset, ask_offset]`` in ticks from the mid, each in
``[0, max_offset_ticks]``; with ``sizes=True`` also ``[bid_size, ask_size]``, fractions of the
configured order size in ``[0, 1]``. Values outside the box are clipped. The depths go through the
bot's quote pipeline, so orders get its spread and distance clamps, outward tick rounding, post-only
bounds (never through the touch) and inventory gating (no fill can breach max position).

**Observation** (``Box``, float32), in the order of ``OBSERVATION``:

==================  ==========================================================================
inventory           position / max position (-1 .. 1)
sigma_bps           the core's volatility estimate, bps of the mid per sqrt(second)
spread_ticks        best ask - best bid of the last accepted book, ticks
imbalance           (bid - ask) / (bid + ask) lots over the top ``imbalance_levels`` levels (-1 .. 1)
bid_resting         1 if a quote of ours rests on the bid, else 0 (likewise ``ask_resting``)
bid_queue_ahead     lots resting ahead of our bid in the venue's queue, in order sizes (0: none)
bid_distance_ticks  mid - our bid price, ticks (0: none); ``ask_distance_ticks``: our ask - mid
time_left           share of the episode still to run (1 .. 0)
recent_pnl_bps      PnL of the last interval, in bps of one order's notional at the mid
==================  ==========================================================================

**Reward** (``reward=``), in bps of one order's notional at the starting mid, with ``q`` the
position in order sizes at the end of the interval:

- ``"pnl_inventory"`` (default): ΔPnL − ``inventory_penalty``·q²;
- ``"pnl"``: ΔPnL;
- ``"spread_inventory"``: spread capture − ``inventory_penalty``·q²: what the quotes earned against
  the mid at each fill, less fees, without the inventory's mark to market;
- ``"dampened"``: ΔPnL − ``dampening``·max(0, mark to market) (Spooner et al. 2018): gains from
  holding inventory count less than losses from it.

``info`` holds each part in quote currency (``pnl``, ``spread_capture``, ``inventory_pnl``), the
``fills`` of the interval, ``position_base``, the core's ``gate`` (why it quotes nothing, or None)
and the episode's PnL so far (``episode_pnl``).

The episode ends (``terminated``) when its ``duration_s`` has run, when the kill switch fires, or
when a recording ends; time left is part of the observation, so the end is a state of the process,
not a truncation.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from mm_bot.config import AppConfig, MarketConfig
from mm_bot.config.loader import load_config
from mm_bot.config_cli import config_path
from mm_bot.gym.session import Interval, Session, book_imbalance
from mm_bot.model import Side
from sim.data import Recording

__all__ = ["OBSERVATION", "REWARDS", "MarketMakingEnv"]

RewardName = Literal["pnl_inventory", "pnl", "spread_inventory", "dampened"]
REWARDS: tuple[RewardName, ...] = ("pnl_inventory", "pnl", "spread_inventory", "dampened")
_BIG = 1e7
_OBS_BOUNDS = {  # name: (low, high); the wide ones are finite only so that agents can scale them
    "inventory": (-1.0, 1.0),
    "sigma_bps": (0.0, 1e4),
    "spread_ticks": (0.0, _BIG),
    "imbalance": (-1.0, 1.0),
    "bid_resting": (0.0, 1.0),
    "ask_resting": (0.0, 1.0),
    "bid_queue_ahead": (0.0, _BIG),
    "ask_queue_ahead": (0.0, _BIG),
    "bid_distance_ticks": (-_BIG, _BIG),
    "ask_distance_ticks": (-_BIG, _BIG),
    "time_left": (0.0, 1.0),
    "recent_pnl_bps": (-_BIG, _BIG),
}
OBSERVATION = tuple(_OBS_BOUNDS)
Obs = npt.NDArray[np.float32]


class MarketMakingEnv(gym.Env[Obs, Obs]):
    metadata = {"render_modes": []}  # noqa: RUF012 - gymnasium declares it an instance attribute

    def __init__(
        self,
        config: str | Path | AppConfig | None = None,
        *,
        market: int = 0,
        set: Mapping[str, object] | None = None,  # the CLI's --set, by name
        data: Sequence[str | Path] | Recording | None = None,
        queue: str = "conservative",
        duration_s: float = 300.0,
        step_s: float = 1.0,
        max_offset_ticks: float | None = None,
        sizes: bool = False,
        reward: RewardName = "pnl_inventory",
        inventory_penalty: float = 0.01,
        dampening: float = 0.5,
        imbalance_levels: int = 5,
        verify: bool = True,
    ) -> None:
        """``config``: a config file (default: as ``mm-bot run``'s), or an ``AppConfig``; ``set``:
        dotted keys to override in it, as ``--set`` does (``{"paper.fees.maker_bps": 0}``);
        ``market``: which of its markets. ``data``: recorded book files (or a loaded ``Recording``) to
        replay instead of the synthetic market, with the ``queue`` model. ``max_offset_ticks``:
        default half the configured max spread at the synthetic market's starting mid. ``verify``:
        prove the quote invariants for the agent's depths first (``mm_bot.verify.policy_spec``, once
        per market config in a process); a failed proof raises ``VerificationFailed``."""
        if reward not in REWARDS:
            raise ValueError(f"reward must be one of {REWARDS}, got {reward!r}")
        if not (duration_s > 0 and step_s > 0 and step_s <= duration_s):
            raise ValueError(f"need 0 < step_s <= duration_s, got step_s={step_s}, duration_s={duration_s}")
        self.cfg = _config(config, set or {})
        self.market = market
        mcfg = self.cfg.markets[market]
        if verify:
            _prove(mcfg.model_dump_json(), self.cfg.verify.timeout_ms)
        self.recording = _recording(data)
        self.queue = queue
        self.duration_ns = round(duration_s * 1e9)
        self.step_ns = round(step_s * 1e9)
        self.sizes = sizes
        self.reward_name: RewardName = reward
        self.inventory_penalty = inventory_penalty
        self.dampening = dampening
        self.imbalance_levels = imbalance_levels
        self._tick = mcfg.tick_size
        self._order_lots = mcfg.order_size_base / mcfg.lot_size
        self._max_position = mcfg.risk.max_position_base
        s0 = self._reference_mid()
        self._notional_bp = s0 * mcfg.order_size_base * 1e-4  # quote currency per bp of one order
        if max_offset_ticks is None:
            max_offset_ticks = s0 * mcfg.quoting.max_spread_bps * 1e-4 / 2 / mcfg.tick_size
        self.max_offset_ticks = float(max_offset_ticks)
        high = [self.max_offset_ticks] * 2 + ([1.0, 1.0] if sizes else [])
        self._action_low, self._action_high = np.zeros(len(high)), np.array(high)
        self.action_space = spaces.Box(np.zeros(len(high), np.float32), np.array(high, np.float32))
        self._obs_low, self._obs_high = (
            np.array([b[i] for b in _OBS_BOUNDS.values()], np.float32) for i in (0, 1)
        )
        # observations are clipped to these bounds
        self.observation_space = spaces.Box(self._obs_low, self._obs_high, dtype=np.float32)
        self.session: Session | None = None
        self._end_ns = 0
        self._last_pnl_bps = 0.0

    # ------------------------------------------------------------------------------ the API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Obs, dict[str, Any]]:
        """A new episode; ``seed`` seeds the synthetic market (the same seed, the same market), or
        ``options={"market_seed": n}`` gives the market's seed itself (``mm-bot study`` runs every
        strategy on the same market seeds)."""
        super().reset(seed=seed)
        market_seed = int(self.np_random.integers(0, 2**31 - 1))
        if options and "market_seed" in options:
            market_seed = int(options["market_seed"])
        self.session = session = Session(
            self.cfg,
            market=self.market,
            strategy="policy",
            seed=market_seed,
            recording=self.recording,
            queue=self.queue,
        )
        self._end_ns = session.start_ns + self.duration_ns
        if session.end_ns is not None:
            self._end_ns = min(self._end_ns, session.end_ns)
        session.advance(session.start_ns + min(self.step_ns, self.duration_ns))  # a first book, no quotes yet
        self._last_pnl_bps = 0.0
        return self._observe(), {"market_seed": market_seed, "gate": _gate(session)}

    def step(self, action: Obs) -> tuple[Obs, float, bool, bool, dict[str, Any]]:
        session = self.session
        if session is None:
            raise RuntimeError("call reset() before step()")
        a = np.clip(np.asarray(action, np.float64).reshape(-1), self._action_low, self._action_high)
        if not np.all(np.isfinite(a)):
            raise ValueError(f"the action must be finite, got {action!r}")
        sizes = (float(a[2]), float(a[3])) if self.sizes else None
        session.set_depths(float(a[0]), float(a[1]), sizes)
        interval = session.advance(min(session.now_ns + self.step_ns, self._end_ns))
        self._last_pnl_bps = interval.pnl / self._notional_bp
        reward = self._reward(interval)
        done = session.now_ns >= self._end_ns or session.core.kill_reason is not None
        if session.end_ns is not None and session.now_ns >= session.end_ns:
            done = True
        info = {
            "pnl": interval.pnl,
            "spread_capture": interval.spread_capture,
            "inventory_pnl": interval.inventory_pnl,
            "fills": interval.fills,
            "position_base": interval.position_base,
            "gate": _gate(session),
            "episode_pnl": session.pnl(),
        }
        return self._observe(), reward, done, False, info

    # ------------------------------------------------------------------------------ parts
    def _reward(self, i: Interval) -> float:
        q = i.position_base / self.cfg.markets[self.market].order_size_base
        bp = self._notional_bp
        name = self.reward_name
        if name == "pnl":
            return i.pnl / bp
        if name == "dampened":
            return (i.pnl - self.dampening * max(0.0, i.inventory_pnl)) / bp
        earned = i.pnl if name == "pnl_inventory" else i.spread_capture
        return earned / bp - self.inventory_penalty * q * q

    def _observe(self) -> Obs:
        session = self.session
        assert session is not None
        core = session.core
        book = core.book
        mid = book.mid
        have_mid = mid == mid and book.best_bid is not None and book.best_ask is not None
        obs = dict.fromkeys(OBSERVATION, 0.0)
        obs["inventory"] = max(-1.0, min(1.0, core.ledger.position_base / self._max_position))
        if have_mid:
            assert book.best_bid is not None and book.best_ask is not None
            obs["sigma_bps"] = core.sigma() / mid * 1e4
            obs["spread_ticks"] = float(book.best_ask - book.best_bid)
            mid_ticks = mid / self._tick
            for side, name in ((Side.BUY, "bid"), (Side.SELL, "ask")):
                resting = session.resting(side)
                if resting is not None:
                    price, ahead = resting
                    obs[f"{name}_resting"] = 1.0
                    obs[f"{name}_queue_ahead"] = ahead / self._order_lots
                    obs[f"{name}_distance_ticks"] = side * (mid_ticks - price)
        obs["imbalance"] = book_imbalance(session.last_book, self.imbalance_levels)
        left = (self._end_ns - session.now_ns) / self.duration_ns
        obs["time_left"] = max(0.0, min(1.0, left))
        obs["recent_pnl_bps"] = self._last_pnl_bps
        return np.clip(np.array([obs[n] for n in OBSERVATION], np.float32), self._obs_low, self._obs_high)

    def _reference_mid(self) -> float:
        """The synthetic market's starting mid, or the recording's first mid."""
        if self.recording is None:
            symbol = self.cfg.markets[self.market].symbol
            return float(self.cfg.paper.synthetic.markets[symbol].s0)
        session = Session(self.cfg, market=self.market, recording=self.recording, queue=self.queue)
        while math.isnan(session.core.book.mid) and session.now_ns < (session.end_ns or 0):
            session.advance(session.now_ns + 1_000_000_000)
        mid = session.core.book.mid
        return float(mid) if math.isfinite(mid) else 1.0


@functools.cache
def _prove(market_json: str, timeout_ms: int) -> None:
    """The proofs of ``verify.policy_spec`` for this market config (its JSON), once per process."""
    from mm_bot.errors import VerificationFailed
    from mm_bot.verify import format_report, policy_spec, verify_spec
    from mm_bot.verify.report import VerifyReport

    report = verify_spec(policy_spec(MarketConfig.model_validate_json(market_json)), timeout_ms)
    if not report.ok:
        raise VerificationFailed(format_report(VerifyReport((report,), timeout_ms, report.seconds)))


def _gate(session: Session) -> str | None:
    gate = session.core.gate(session.now_ns)
    return None if gate is None else gate.value


def _config(config: str | Path | AppConfig | None, sets: Mapping[str, object]) -> AppConfig:
    if isinstance(config, AppConfig):
        if sets:
            raise ValueError("set= applies to a config file, not to an AppConfig")
        return config
    pairs = [(key, _text(value)) for key, value in sets.items()]
    return load_config(config_path(None if config is None else str(config)), sets=pairs, sets_origin="set=")


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _recording(data: Sequence[str | Path] | Recording | None) -> Recording | None:
    """The recording to replay (its numpy cache is written beside the files, as ``mm-bot backtest``
    does); the session checks that it is of the configured market."""
    if data is None or isinstance(data, Recording):
        return data
    from sim.data import load

    return load([Path(p) for p in data])
