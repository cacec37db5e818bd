"""The quoter: the model inputs (sigma, A and k, tau) and the quote the strategy wants (sans-IO).

It owns the estimators: EWMA sigma, fed by accepted books, and the online A/k fit, fed by usable
public trades. ``quote`` runs ``strategy.quote.compute_quote``, the pipeline the Z3 proofs cover; for
GLFT with a session horizon it first takes the exact depths from the finite-horizon solution.
``target`` turns the quote into a side's order in lots, shrunk to the room left under max position.

Kind "depths" without a session horizon quotes the depths set in ``policy_depths`` from outside (the
Gymnasium environment's action, ``mm_bot.gym``): they go through the same pipeline, so the agent's
orders get the same clamps, tick rounding, post-only bounds and position gating as the strategies'.
Until they are set, ``needs_policy`` holds and the core quotes nothing (``Reason.NO_POLICY``).

The figures shown to people (``sigma``, ``last_a_k``) are the ones the last quote used: reading them
never refits anything, so what a dashboard asks cannot change what the core decides.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from mm_bot.engine.core_types import MarketParams, trading_quote_params
from mm_bot.engine.decide import SideTarget
from mm_bot.engine.horizon import HorizonState
from mm_bot.engine.reasons import Reason
from mm_bot.model import PublicTrade, Side
from mm_bot.strategy.estimators import EwmaVolatility, IntensityCalibration, TradeIntensity
from mm_bot.strategy.glft import GlftDepthTable, exact_depth_table
from mm_bot.strategy.quote import Quote, QuoteInputs, compute_quote

NO_TARGET = SideTarget(0, 0)


class Quoter:
    def __init__(self, params: MarketParams, horizon: HorizonState, start_ns: int) -> None:
        self.params = params
        self.horizon = horizon
        self._tick = float(params.instrument.tick_size)
        self._lot = float(params.instrument.lot_size)
        self._fixed_a_k = None if params.intensity_fixed is None else (*params.intensity_fixed, True)
        self._max_lots = params.risk.max_position_lots
        self._min_lots = params.instrument.min_qty_lots
        self.vol = EwmaVolatility(params.volatility) if params.volatility is not None else None
        self.intensity = TradeIntensity(params.intensity, start_ns) if params.intensity is not None else None
        self.quote_params, exact = trading_quote_params(params)
        self._exact_glft = exact
        # (bid, ask) depths from the mid in price units, for kind "depths" from outside (see above)
        self.policy_depths: tuple[float, float] | None = None
        # (bid, ask) fractions of the quote's size in [0, 1], from outside too (None: the whole size)
        self.policy_size_fractions: tuple[float, float] | None = None
        self._table: GlftDepthTable | None = None
        self._table_key: tuple[object, ...] = ()
        self.sigma = params.sigma_prior  # price units per sqrt(s), as the last update left it
        self.last_quote: Quote | None = None
        self._last_key: tuple[object, ...] = ()
        self.last_a_k = params.intensity_fixed or (math.nan, math.nan)
        self.status = "fixed" if self.intensity is None else "warming_up"  # of the last A/k used

    # ------------------------------------------------------------------------------- inputs
    def on_book(
        self, ts_ns: int, mid: float, bids: Sequence[tuple[int, int]], asks: Sequence[tuple[int, int]]
    ) -> None:
        """A trusted book: the volatility's mid, and the levels the intensity fit sees exposed."""
        if self.intensity is not None:
            tick = self._tick
            self.intensity.on_book(ts_ns, mid, [p * tick for p, _ in bids], [p * tick for p, _ in asks])
        if self.vol is None:
            return
        self.vol.update(ts_ns, mid)
        if self.vol.is_warm:
            p = self.params
            self.sigma = min(max(self.vol.sigma_price_per_sqrt_s(), p.sigma_floor), p.sigma_cap)

    def book_lost(self, ts_ns: int) -> None:
        """The book is no longer trusted: no level counts as exposed until the next trusted one (the
        trades in between are not seen, so exposure without them would read the intensity low)."""
        if self.intensity is not None:
            self.intensity.on_book(ts_ns, math.nan, (), ())

    def on_trade(self, trade: PublicTrade, mid: float) -> None:
        if self.intensity is not None:
            price, size = trade.price_ticks * self._tick, trade.qty_lots * self._lot
            self.intensity.on_trade(trade.ts_ns, price, size, mid, int(trade.aggressor), trade.exchange_ts_ns)

    def intensity_a_k(self, now_ns: int) -> tuple[float, float, bool]:
        """(A per s, k per price, ready) to quote with at ``now_ns``."""
        if self._fixed_a_k is not None:
            return self._fixed_a_k
        assert self.intensity is not None
        cal = self.intensity.calibration(now_ns)
        self.status = cal.status
        return cal.A_per_s, cal.k_per_price, cal.ready

    def calibration(self, now_ns: int) -> IntensityCalibration | None:
        """A fresh fit of the online estimator, for reports (None with fixed A and k)."""
        return None if self.intensity is None else self.intensity.fit(now_ns)

    @property
    def needs_policy(self) -> bool:
        """Kind "depths" from outside, and no depths given yet."""
        return self.quote_params.kind == "depths" and not self._exact_glft and self.policy_depths is None

    def tau_s(self, now_ns: int) -> float:
        return self.horizon.tau_s(now_ns)

    # ------------------------------------------------------------------------------- quoting
    def quote(
        self, mid: float, best_bid: int, best_ask: int, position_lots: int, a: float, k: float, tau_s: float
    ) -> Quote:
        """The strategy's quote for these inputs: ``compute_quote``, the code the Z3 proofs cover. It is
        a function of these inputs (and sigma) alone; order events do not move them, so for those the
        last quote is the answer and is not computed again."""
        key = (mid, best_bid, best_ask, position_lots, self.sigma, a, k, tau_s, self.policy_depths)
        if key == self._last_key and self.last_quote is not None:
            return self.last_quote
        self._last_key = key
        position_base = position_lots * self._lot
        bid_depth = ask_depth = 0.0
        if self._exact_glft:
            table = self._depth_table(self.sigma, a, k, tau_s)
            bid_depth, ask_depth = table.depths_at(position_base / self.quote_params.order_size_base)
        elif self.policy_depths is not None:
            bid_depth, ask_depth = self.policy_depths
        inputs = QuoteInputs(
            mid=mid,
            inventory_base=position_base,
            sigma=self.sigma,
            A=a,
            k=k,
            tau_s=tau_s,
            best_bid=best_bid * self._tick,
            best_ask=best_ask * self._tick,
            bid_depth=bid_depth,
            ask_depth=ask_depth,
        )
        self.last_quote = compute_quote(inputs, self.quote_params)
        self.last_a_k = (a, k)
        return self.last_quote

    def target(self, quote: Quote, side: Side, position_lots: int, others_lots: int) -> SideTarget:
        """The quote's order on ``side`` in lots. ``others_lots``: what the side's other live orders
        (e.g. one whose cancel is on the way) may still fill; the new order only gets the room left."""
        if side is Side.BUY:
            ticks, size_base, allowed = quote.bid_ticks, quote.bid_size_base, quote.bid_allowed
        else:
            ticks, size_base, allowed = quote.ask_ticks, quote.ask_size_base, quote.ask_allowed
        if self.policy_size_fractions is not None:  # only ever shrinks the pipeline's size
            fraction = self.policy_size_fractions[0 if side is Side.BUY else 1]
            size_base *= min(max(fraction, 0.0), 1.0)
        room = self._max_lots - side * position_lots - others_lots
        lots = min(int(size_base / self._lot + 1e-9), room)
        if not allowed or lots < self._min_lots or ticks <= 0:
            return SideTarget(ticks, 0, Reason.MAX_POSITION)
        return SideTarget(ticks, lots)

    def _depth_table(self, sigma: float, a: float, k: float, tau_s: float) -> GlftDepthTable:
        """The exact GLFT depth table (session horizons), recomputed when tau moves by a second or
        sigma, A, k by more than their third significant digit (a solve is a matrix exponential)."""
        key = (int(tau_s), f"{sigma:.3g}", f"{a:.3g}", f"{k:.3g}")
        if self._table is None or key != self._table_key:
            p = self.params.quote
            q_max = max(1, int(p.max_position_base / p.order_size_base + 1e-9))
            self._table = exact_depth_table(q_max, p.gamma, sigma, a, k, tau_s)
            self._table_key = key
        return self._table
