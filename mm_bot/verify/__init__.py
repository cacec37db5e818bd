"""Z3 proofs of the quote invariants, per market, over the configured ranges, on the code that trades.

``mm-bot verify`` (and every ``mm-bot run`` before it starts) proves, for every market and for ALL
inputs in its ranges (any uncrossed book, in integer ticks, whose mid (bb + ba) / 2 * tick is in
[verify.mid_min, verify.mid_max]; inventory in [-R, R], R the hard position limit or else the max
position; sigma in [floor, cap] or fixed; A and k in their clamps or fixed; tau in its horizon's
range), the claims of ``properties.PROPERTIES``: ordered quotes, minimum spread, post-only
non-crossing, maximum distance from the mid, inventory skew direction, position limit, tolerance
band narrower than the half-spread, positive prices, spread cap, no bid at/above the mid while long
(no ask at/below it while short), and a well-defined pipeline.

How: ``strategy.quote.compute_quote`` is generic over a numeric backend. Proving evaluates it on
Z3 terms (``Z3Ops``: exact tick rounding with ``ToInt``, sound linear bounds for log/exp/sqrt),
with the ``QuoteParams`` built by ``mm_bot.wiring.market_params`` exactly as the bot builds them,
and asks Z3 for an input that violates each claim (one query per conjunct, restarted with new
seeds when the nonlinear search stalls): ``unsat`` is a proof. A model is a counterexample; it is
replayed through the same claim on the float trading path (``FLOAT_OPS``) and reported as
``failed`` only if the floats really violate it; otherwise, and on a solver timeout, the status is
``unknown``, which also refuses to start.

What a proof means: the claim holds in exact real arithmetic with the config's decimal values and,
for constant arguments of log/exp, the value libm returns (what the bot uses). The float pipeline
agrees except for float rounding exactly at a boundary; the integer steps of the pipeline (post-only,
minimum spread) make ordered/min_spread/post_only exact on floats too. For GLFT with a session
horizon the bot quotes from the exact depth table (numpy); the depths are then free inputs, and the
two model-dependent claims (inventory_skew, mid_side) assume the table's monotonicity and mirror
symmetry (GLFT 2013; checked numerically in the tests).

API: ``verify_config(cfg) -> VerifyReport``, ``verify_market(market_cfg, timeout_ms) ->
MarketReport``, ``verify_spec(spec, timeout_ms)`` for hand-built ranges and params,
``format_report(report)``, ``report.to_json()``, ``ensure_verified(cfg)`` (raises
``VerificationFailed`` carrying the formatted report). ``policy_spec(market_cfg)``: the market quoting
an agent's depths (``mm_bot.gym``), proved without the two claims about a strategy's model
(inventory skew, mid side).
"""

from mm_bot.verify.properties import PROPERTIES, Property
from mm_bot.verify.prove import ensure_verified, verify_config, verify_market, verify_spec
from mm_bot.verify.report import MarketReport, PropertyResult, Status, VerifyReport, format_report
from mm_bot.verify.spec import MarketSpec, Range, market_spec, policy_spec
from mm_bot.verify.z3ops import Z3Ops

__all__ = [
    "PROPERTIES",
    "MarketReport",
    "MarketSpec",
    "Property",
    "PropertyResult",
    "Range",
    "Status",
    "VerifyReport",
    "Z3Ops",
    "ensure_verified",
    "format_report",
    "market_spec",
    "policy_spec",
    "verify_config",
    "verify_market",
    "verify_spec",
]
