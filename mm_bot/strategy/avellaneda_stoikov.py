"""Avellaneda & Stoikov (2008), "High-frequency trading in a limit order book".

Model: the mid follows ds = sigma dW (arithmetic Brownian motion); a quote at depth delta from the
mid is hit by market orders with intensity A*exp(-k*delta); the market maker maximises
E[-exp(-gamma*(X_T + q_T*S_T))]. The approximate solution used here (their eqs. 29-30):

    reservation price   r = s - q*gamma*sigma^2*tau
    total spread        delta_a + delta_b = gamma*sigma^2*tau + (2/gamma)*ln(1 + gamma/k)
    quotes              bid = r - spread/2,  ask = r + spread/2

Units and conventions (shared with ``glft`` and ``quote``):

- prices (s, r, quotes, depths) in quote-currency price units;
- ``sigma``: volatility of the mid in PRICE units per sqrt(second) (arithmetic, as in the model);
  ``estimators.EwmaVolatility`` converts log-return volatility with sigma = mid * vol;
- ``k``: 1/price units; ``A`` (used by GLFT): 1/second;
- inventory ``q`` in LOTS, i.e. in units of the quote's order size (``inventory_base /
  order_size_base``), the same convention as GLFT where one fill moves q by Delta = 1. Consequently
  ``gamma`` is risk aversion per (price unit x lot), and ``gamma/k`` is dimensionless (it is really
  gamma*Delta/k with Delta = 1 lot). A gamma expressed per unit of quote-currency wealth converts as
  ``gamma_lot = gamma_quote * order_size_base``;
- ``tau_s``: the horizon over which inventory risk is charged, in seconds.

Horizon convention. The paper has a finite horizon T and tau = T - t, which makes the inventory skew
vanish as t -> T; a market maker that runs indefinitely has no T. The default here is a ROLLING
horizon: tau_s is a fixed config value (e.g. 60 s: "charge inventory risk as if it were held for
tau_s"), so quotes are stationary in time. A finite-horizon session passes
``horizon_tau_s(now_s, end_s)`` = max(T - t, 0) instead; at tau = 0 the quotes are mid -+
(1/gamma)ln(1 + gamma/k) with no skew.

All functions are generic over the numeric backend (see ``numeric``): arithmetic is written directly,
the rest goes through ``ops``. Preconditions (not checked, they are the caller's): gamma > 0, k > 0,
sigma >= 0, tau_s >= 0.
"""

from __future__ import annotations

from mm_bot.strategy.numeric import FLOAT_OPS, Ops


def reservation_price(mid: float, inventory_lots: float, gamma: float, sigma: float, tau_s: float) -> float:
    """A-S reservation price r = s - q*gamma*sigma^2*tau (pure arithmetic, so backend-generic).

    Long inventory (q > 0) puts r below the mid: both quotes move down, the ask becomes more likely
    to fill and the bid less likely.
    """
    return mid - inventory_lots * gamma * sigma * sigma * tau_s


def inventory_risk_spread(gamma: float, sigma: float, tau_s: float) -> float:
    """The inventory-risk part of the total spread, gamma*sigma^2*tau (price units)."""
    return gamma * sigma * sigma * tau_s


def liquidity_spread(gamma: float, k: float, ops: Ops = FLOAT_OPS) -> float:
    """The order-flow part of the total spread, (2/gamma)*ln(1 + gamma/k) (price units).

    As gamma -> 0 it tends to 2/k, the risk-neutral monopolist's spread.
    """
    return (2.0 / gamma) * ops.log1p(gamma / k)


def optimal_spread(gamma: float, sigma: float, tau_s: float, k: float, ops: Ops = FLOAT_OPS) -> float:
    """A-S total spread delta_a + delta_b = gamma*sigma^2*tau + (2/gamma)*ln(1 + gamma/k): the sum of
    ``inventory_risk_spread`` and ``liquidity_spread``, written out because it runs on every quote."""
    return gamma * sigma * sigma * tau_s + (2.0 / gamma) * ops.log1p(gamma / k)


def optimal_quotes(
    mid: float,
    inventory_lots: float,
    gamma: float,
    sigma: float,
    tau_s: float,
    k: float,
    ops: Ops = FLOAT_OPS,
) -> tuple[float, float]:
    """(bid, ask) prices: the reservation price -+ half the optimal spread (before any rounding)."""
    r = reservation_price(mid, inventory_lots, gamma, sigma, tau_s)
    half = optimal_spread(gamma, sigma, tau_s, k, ops) / 2.0
    return r - half, r + half


def horizon_tau_s(now_s: float, end_s: float, ops: Ops = FLOAT_OPS) -> float:
    """Finite-horizon time to go, tau = max(T - t, 0) in seconds (never negative past the end)."""
    return ops.max(end_s - now_s, 0.0)
