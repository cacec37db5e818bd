"""One market-making episode in virtual time, sans-IO: the bot's ``MarketCore`` against the synthetic
market (``SimExchange``, seeded) or a recorded book (``ReplayVenue``), advanced by the caller one
decision interval at a time. The Gymnasium environment and ``mm-bot study`` are built on it.

The core is built as a paper or backtest market's core is (``wiring.market_params`` of the configured
market, restored with the starting balances as the reconciliation baseline) and driven by
``mm_bot.backtest.driver.Driver`` with the live runner's refresh timer, so every gate, lockout,
tolerance band and position limit applies as in a paper run. ``strategy`` chooses the quotes:

- ``"as"``, ``"glft"``, ``"fixed"``: the strategy of that kind, with the config's parameters;
- ``"policy"``: the quote pipeline's kind ``"depths"``, the depths set by ``set_depths`` (an agent's
  action): the same clamps, tick rounding, post-only bounds and position gating as the strategies.

Per interval it keeps what a reward needs: the PnL change and its split into spread capture (each
fill's edge against the mid the core saw when it came, less its fee) and the inventory's mark to
market (the rest). A ``TraceRecorder`` samples the run for ``mm_bot.backtest.metrics``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal

from mm_bot.backtest.driver import Driver, VirtualVenue
from mm_bot.backtest.metrics import run_metrics
from mm_bot.backtest.recorder import TraceRecorder
from mm_bot.backtest.replay import Latency, check_market, replay_venue
from mm_bot.backtest.trace import RunTrace
from mm_bot.config import AppConfig, with_strategy_kind
from mm_bot.engine.core_types import Command, Tick
from mm_bot.engine.ids import ClientOrderIds, run_prefix
from mm_bot.engine.market import CoreRestore, Event, MarketCore
from mm_bot.model import BookSnapshot, OwnFill, Side
from mm_bot.wiring import market_params, refresh_interval_s, sim_exchange
from sim.data import Recording
from sim.replay import Tape, queue_model

__all__ = ["ACCOUNT", "EPOCH_NS", "STRATEGIES", "Interval", "Session"]

StrategyName = Literal["as", "glft", "fixed", "policy"]
STRATEGIES: tuple[StrategyName, ...] = ("as", "glft", "fixed", "policy")
ACCOUNT = "agent"
TAG = "rl"  # client order ids of these sessions start with it
EPOCH_NS = 1_767_225_600_000_000_000  # synthetic sessions start at 2026-01-01T00:00:00Z
SAMPLE_NS = 100_000_000  # the trace's sampling interval (as a backtest's)


@dataclass(frozen=True, slots=True)
class Interval:
    """What happened in one ``advance``: money in quote currency, positions in base units."""

    pnl: float  # the PnL change, marked at the core's mid
    spread_capture: float  # sum over fills of side * (mid at the fill - price) * qty - fee
    inventory_pnl: float  # pnl - spread_capture: the position's mark to market
    fills: int
    position_base: float  # at the end of the interval


class Session:
    """One episode: see the module docstring. ``recording``: replay it instead of the synthetic
    market (``seed`` then changes nothing: no replay model draws random numbers)."""

    def __init__(
        self,
        cfg: AppConfig,
        *,
        market: int = 0,
        strategy: StrategyName = "policy",
        seed: int = 0,
        recording: Recording | None = None,
        queue: str = "conservative",
        tape: Tape | None = None,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
        if strategy not in ("policy", cfg.markets[market].strategy.kind):
            cfg = with_strategy_kind(cfg, market, strategy, f"the session's strategy {strategy!r}")
        mcfg = cfg.markets[market]
        self.mcfg = mcfg
        self.strategy = strategy
        params = market_params(mcfg, cfg.execution, TAG)
        if strategy == "policy":
            params = dataclasses.replace(params, quote=dataclasses.replace(params.quote, kind="depths"))
        starting = {a: float(cfg.paper.balances.get(a, 0.0)) for a in (mcfg.base_asset, mcfg.quote_asset)}
        venue: VirtualVenue
        if recording is None:
            self.start_ns = EPOCH_NS
            venue = sim_exchange(cfg, mcfg, EPOCH_NS, starting, ACCOUNT, seed=seed)
            self.end_ns: int | None = None
        else:
            check_market(recording, mcfg, market)
            latency = Latency.from_config(cfg)
            tape = tape or Tape(recording, feed=latency.feed, base_latency_ns=latency.base_ns)
            self.start_ns, self.end_ns = tape.start_ns, tape.end_ns
            venue = replay_venue(tape, cfg, mcfg, latency, queue_model(queue), 20, starting, ACCOUNT)
        self.venue = venue
        self.core = core = MarketCore(params, ClientOrderIds(run_prefix(self.start_ns, TAG)), self.start_ns)
        core.restore(CoreRestore(baseline=starting))
        core.reconciler.compare_assets = frozenset(starting)
        self.recorder = TraceRecorder(core, SAMPLE_NS)
        self.last_book: BookSnapshot | None = None  # the last book the core accepted
        self._tick = mcfg.tick_size
        self._lot = mcfg.lot_size
        self._capture = 0.0
        self._fills = 0
        self._pnl = 0.0
        self.driver = Driver(
            core,
            venue,
            account=ACCOUNT,
            refresh_ns=round(refresh_interval_s(mcfg) * 1e9),
            on_book=self.recorder.on_book,
            on_fill=self.recorder.on_fill,
            step=self._step,
        )
        self.driver.start()

    @property
    def now_ns(self) -> int:
        return self.venue.now_ns

    def set_depths(
        self, bid_ticks: float, ask_ticks: float, size_fractions: tuple[float, float] | None = None
    ) -> None:
        """Quote ``bid_ticks`` below and ``ask_ticks`` above the mid from now on (strategy "policy"),
        at these fractions of the order size (None: the whole size); the core re-quotes at once."""
        if self.strategy != "policy":
            raise RuntimeError(f"the {self.strategy!r} strategy quotes by itself")
        if not (bid_ticks >= 0 and ask_ticks >= 0 and math.isfinite(bid_ticks) and math.isfinite(ask_ticks)):
            raise ValueError(
                f"depths must be finite and >= 0 (what the proofs cover), got {bid_ticks}, {ask_ticks}"
            )
        quoter = self.core.quoter
        quoter.policy_depths = (bid_ticks * self._tick, ask_ticks * self._tick)
        quoter.policy_size_fractions = size_fractions
        self.driver.inject(Tick(self.now_ns))

    def advance(self, until_ns: int) -> Interval:
        """Run the market and the core to ``until_ns``."""
        self._capture, self._fills = 0.0, 0
        self.driver.run_until(until_ns)
        pnl = self.pnl()
        change, self._pnl = pnl - self._pnl, pnl
        return Interval(
            change, self._capture, change - self._capture, self._fills, self.core.ledger.position_base
        )

    def pnl(self) -> float:
        """The session's PnL in quote currency, marked at the core's mid (0 before the first book)."""
        pnl = self.core.pnl_quote()
        return pnl if pnl == pnl else 0.0

    def resting(self, side: Side) -> tuple[int, float] | None:
        """Our resting quote on ``side``: (price in ticks, lots ahead of it in the venue's queue), or
        None. The lots ahead are what the venue's queue model says (0 while it cannot say)."""
        order = self.core.table.side_summary(side).newest
        if order is None:
            return None
        cid = order.request.client_order_id
        try:
            ahead = self.venue.queue_ahead(ACCOUNT, cid)
        except KeyError:  # not resting at the venue (yet, or any more)
            return None
        return order.request.price_ticks, float(ahead or 0.0)

    def trace(self) -> RunTrace:
        end = self.now_ns
        return self.recorder.build(symbol=self.mcfg.symbol, start_ns=self.start_ns, end_ns=end)

    def metrics(self) -> dict[str, object]:
        """``mm_bot.backtest.metrics.run_metrics`` of the session so far."""
        return run_metrics(self.trace())

    def _step(self, event: Event, now_ns: int) -> list[Command]:
        core = self.core
        if type(event) is OwnFill:
            assert isinstance(event, OwnFill)
            fresh = not core.ledger.seen(event)
            mid = core.book.mid
            commands = core.on_event(event, now_ns)
            if fresh and mid == mid:
                edge = event.side * (mid - event.price_ticks * self._tick) * event.qty_lots * self._lot
                self._capture += edge - event.fee_quote
                self._fills += 1
            return commands
        commands = core.on_event(event, now_ns)
        if type(event) is BookSnapshot and core.book.last_seq == event.seq:
            self.last_book = event
        return commands


def book_imbalance(book: BookSnapshot | None, levels: int) -> float:
    """(bid - ask) / (bid + ask) lots over the top ``levels`` of each side; 0 without a book."""
    if book is None:
        return 0.0
    bids = sum(q for _, q in book.bids[:levels])
    asks = sum(q for _, q in book.asks[:levels])
    total = bids + asks
    return (bids - asks) / total if total else 0.0
