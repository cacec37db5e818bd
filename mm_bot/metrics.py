"""Every Prometheus metric the bot exports. The ``/metrics`` HTTP endpoint is in ``mm_bot.metrics_server``
(``MetricsServer`` and ``serve_metrics`` are re-exported here).

The registry is injected (``Metrics(CollectorRegistry())``); nothing here touches prometheus_client's
global default registry, so tests and several bots in one process never share samples.

Callers record through typed methods and never see prometheus objects. Per-market recording goes
through a ``MarketMetrics`` handle (``metrics.market("BTC/USDT")``) that keeps its labelled children,
and keeps gauge values as plain floats read at scrape time. The core's own counters (decisions by
side, action and reason; market data dropped by kind) are read at scrape time from the counters the
core keeps (``MarketMetrics.watch``), so every decision is counted, keeps and nothings included.

Only the runner and the venue adapters record metrics; pure code returns numbers.
Units are in the metric names: ``_base`` and ``_quote`` are asset units, ``_seconds`` seconds,
``_bps`` basis points of the mid.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import product
from typing import Any, Literal, TypeVar, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.metrics import MetricWrapperBase

from mm_bot import __version__
from mm_bot.engine.reasons import KillReason
from mm_bot.metrics_server import MetricsServer, serve_metrics
from mm_bot.model import Side

__all__ = [
    "DECISION_LATENCY_BUCKETS_S",
    "MarketMetrics",
    "Metrics",
    "MetricsServer",
    "VenueEvent",
    "serve_metrics",
]

# Decision latency (event received to request issued) is local work: microseconds to milliseconds.
DECISION_LATENCY_BUCKETS_S = (1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 0.1)
# A venue request's round trip: a network call takes 1-50 ms, and times out after seconds.
REQUEST_BUCKETS_S = (1e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# mm_venue_events_total's kinds: a stream dropped, every stream back after one did, market data
# restarted after a gap, a reconciliation the venue disagreed with.
VenueEvent = Literal["disconnect", "reconnect", "resync", "reconcile_mismatch"]

SideLike = Side | str  # ``Side.BUY`` or its label "bid"; both map to side="bid"
LabelValue = Side | str
Key = LabelValue | tuple[LabelValue, ...]
M = TypeVar("M", bound=MetricWrapperBase)


def _label(value: LabelValue) -> str:
    return value.label if isinstance(value, Side) else value


class _Children(dict[Key, M]):
    """The labelled children of one metric for one market, created on first use and kept.

    Keys are the caller's raw label values (a ``Side``, a string, or a tuple of them for several
    labels), so a hit is one C-level dict lookup: no method call, no string conversion.
    """

    __slots__ = ("_market", "_metric")

    def __init__(self, metric: M, market: str, preset: Iterable[Key] = ()) -> None:
        """``preset``: keys exported at 0 from the start, so that ``increase()`` in an alert sees
        their first event and a dashboard panel shows 0 rather than no data."""
        super().__init__()
        self._metric = metric
        self._market = market
        for key in preset:
            self.__missing__(key)

    def __missing__(self, key: Key) -> M:
        labels = key if isinstance(key, tuple) else (key,)
        child = self[key] = self._metric.labels(self._market, *(_label(v) for v in labels))
        return child


_SIDE_INDEX: dict[SideLike, int] = {Side.BUY: 0, "bid": 0, Side.SELL: 1, "ask": 1}


def _by_side(metric: M, market: str) -> dict[SideLike, M]:
    """Children keyed by both ``Side`` members and their labels; an unknown side is a KeyError."""
    children: dict[SideLike, M] = {}
    for side in (Side.BUY, Side.SELL):
        children[side] = children[side.label] = metric.labels(market, side.label)
    return children


class MarketMetrics:
    """Recording handle for one market; get it from ``Metrics.market``, keep it, call it per event.

    Counters and the latency histogram are prometheus children resolved once. Gauges are plain
    attributes read by the registry at scrape time (``Gauge.set_function``): a gauge only matters
    at its last value, so the hot path stores a float (~50 ns) instead of taking a lock per update.
    """

    __slots__ = (
        "_cancels_sent",
        "_clock_ns",
        "_connected",
        "_decision_latency",
        "_fees_quote",
        "_fill_volume",
        "_fills",
        "_intensity_a",
        "_intensity_k",
        "_kill_switch",
        "_last_book_ns",
        "_market_events",
        "_mid",
        "_open_orders",
        "_orders_sent",
        "_pnl_quote",
        "_position_base",
        "_quote_px",
        "_rejects",
        "_request_seconds",
        "_reservation",
        "_sigma",
        "_spread_bps",
        "_venue_errors",
        "_venue_events",
        "decisions",
        "dropped",
        "market",
    )

    def __init__(self, m: Metrics, market: str, clock_ns: Callable[[], int]) -> None:
        self.market = market
        self._clock_ns = clock_ns
        self._orders_sent = _by_side(m._orders_sent, market)
        self._cancels_sent = _by_side(m._cancels_sent, market)
        self._rejects = _Children(m._order_rejects, market)
        self._fills = _Children(m._fills, market, product((Side.BUY, Side.SELL), ("maker", "taker")))
        self._fill_volume = _by_side(m._fill_volume_base, market)
        self._market_events = _Children(m._market_events, market)
        self._venue_errors = _Children(m._venue_errors, market)
        self._venue_events = _Children(m._venue_events, market, get_args(VenueEvent))
        self._kill_switch = _Children(m._kill_switch, market, [reason.value for reason in KillReason])
        self._decision_latency = m._decision_latency_seconds.labels(market)
        self._request_seconds = _Children(m._request_seconds, market)
        # The core's counters, read at scrape time: (side, action, reason) -> n and kind -> n.
        self.decisions: Mapping[tuple[Side, str, str], int] = {}
        self.dropped: Mapping[str, int] = {}
        self._connected = 1.0
        m._venue_connected.labels(market).set_function(lambda: self._connected)

        # Gauge values. Unknown until measured is NaN, not 0: a mid of 0 would be a lie on a chart.
        self._position_base = 0.0
        self._pnl_quote = 0.0
        self._fees_quote = 0.0
        self._open_orders = 0
        self._mid = math.nan
        self._reservation = math.nan
        self._spread_bps = math.nan
        self._sigma = math.nan
        self._intensity_a = math.nan
        self._intensity_k = math.nan
        self._quote_px = [math.nan, math.nan]  # indexed by _SIDE_INDEX
        self._last_book_ns: int | None = None
        m._position_base.labels(market).set_function(lambda: self._position_base)
        m._pnl_quote.labels(market).set_function(lambda: self._pnl_quote)
        m._fees_quote.labels(market).set_function(lambda: self._fees_quote)
        m._open_orders.labels(market).set_function(lambda: self._open_orders)
        m._mid_price.labels(market).set_function(lambda: self._mid)
        m._reservation_price.labels(market).set_function(lambda: self._reservation)
        m._spread_bps.labels(market).set_function(lambda: self._spread_bps)
        m._sigma.labels(market).set_function(lambda: self._sigma)
        m._intensity_a.labels(market).set_function(lambda: self._intensity_a)
        m._intensity_k.labels(market).set_function(lambda: self._intensity_k)
        m._quote_price.labels(market, "bid").set_function(lambda: self._quote_px[0])
        m._quote_price.labels(market, "ask").set_function(lambda: self._quote_px[1])
        m._book_age_seconds.labels(market).set_function(self.book_age_s)

    # -- counters ---------------------------------------------------------------------------

    def order_sent(self, side: SideLike) -> None:
        self._orders_sent[side].inc()

    def cancel_sent(self, side: SideLike) -> None:
        self._cancels_sent[side].inc()

    def order_rejected(self, side: SideLike, reason: str) -> None:
        """``reason`` is a short machine name (``post_only_would_cross``), never a venue message."""
        self._rejects[side, reason].inc()

    def fill(self, side: SideLike, liquidity: str, qty_base: float) -> None:
        """One own fill: ``liquidity`` is "maker" or "taker", ``qty_base`` the filled size."""
        self._fills[side, liquidity].inc()
        self._fill_volume[side].inc(qty_base)

    def watch(self, decisions: Mapping[Any, int], dropped: Mapping[str, int]) -> None:
        """Export these counters, kept by the core, at scrape time: ``decisions`` by (side, action,
        reason) as ``mm_decisions_total``, ``dropped`` market data by kind as
        ``mm_malformed_events_total``."""
        self.decisions, self.dropped = decisions, dropped

    def market_event(self, kind: str) -> None:
        """A market-data event taken in: ``book``, ``trade``, ..."""
        self._market_events[kind].inc()

    def venue_event(self, kind: VenueEvent) -> None:
        self._venue_events[kind].inc()

    def set_connected(self, connected: bool) -> None:
        self._connected = 1.0 if connected else 0.0

    def observe_request(self, op: str, seconds: float) -> None:
        """One venue request's round trip (``place``, ``cancel``, ``order_status``, ...)."""
        self._request_seconds[op].observe(seconds)

    def venue_error(self, op: str) -> None:
        """A venue call that failed (timed out, refused, lost), by the call: ``place``, ``cancel``,
        ``order_status``, ``reconcile``, ..."""
        self._venue_errors[op].inc()

    def kill_switch(self, reason: str) -> None:
        """The kill switch fired with ``reason`` (a ``KillReason``)."""
        self._kill_switch[reason].inc()

    def observe_decision_latency(self, seconds: float) -> None:
        """Time from an event's receipt to the first venue request it caused."""
        self._decision_latency.observe(seconds)

    # -- gauges: plain stores, read at scrape time ------------------------------------------

    def set_position(self, base: float) -> None:
        """Inventory in base units, long > 0."""
        self._position_base = base

    def set_pnl(self, quote: float) -> None:
        """Mark-to-mid PnL in quote units, after fees."""
        self._pnl_quote = quote

    def set_fees(self, quote: float) -> None:
        """Cumulative fees paid, in quote units (negative when maker rebates dominate)."""
        self._fees_quote = quote

    def set_mid(self, price: float) -> None:
        self._mid = price

    def set_reservation(self, price: float) -> None:
        self._reservation = price

    def set_quote_price(self, side: SideLike, price: float | None) -> None:
        """The price we quote on ``side``; ``None`` (not quoting) exports NaN."""
        self._quote_px[_SIDE_INDEX[side]] = math.nan if price is None else price

    def set_spread_bps(self, bps: float) -> None:
        """Our quoted ask-bid spread in basis points of the mid."""
        self._spread_bps = bps

    def set_sigma(self, sigma: float) -> None:
        """Volatility estimate in price units per sqrt(second), as the strategy uses it."""
        self._sigma = sigma

    def set_intensity(self, a: float, k: float) -> None:
        """Fitted order-arrival intensity ``A*exp(-k*delta)``: A per second, k per price unit."""
        self._intensity_a = a
        self._intensity_k = k

    def set_open_orders(self, count: int) -> None:
        self._open_orders = count

    def book_updated(self, ts_ns: int) -> None:
        """A book update was received at ``ts_ns`` (the ``Metrics`` clock's timebase).

        The age is computed at scrape time, so a dead feed shows a growing age rather than the
        small age of its last update.
        """
        self._last_book_ns = ts_ns

    def book_age_s(self) -> float:
        """Seconds since the last book update; +inf before the first one."""
        last = self._last_book_ns
        return math.inf if last is None else (self._clock_ns() - last) / 1e9


class Metrics:
    """All metric families of one bot, registered on the injected registry.

    Record per-market values through ``market(symbol)``; the prometheus families are private so
    every caller goes through the typed methods. ``clock_ns`` must be the clock that stamps the
    ``ts_ns`` passed to ``MarketMetrics.book_updated`` (the live clock: wall time in ns).
    """

    def __init__(self, registry: CollectorRegistry, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.registry = registry
        self._clock_ns = clock_ns
        r = registry

        def counter(name: str, doc: str, labels: list[str]) -> Counter:
            return Counter(name, doc, labels, registry=r)

        def gauge(name: str, doc: str, labels: list[str]) -> Gauge:
            return Gauge(name, doc, labels, registry=r)

        self._orders_sent = counter("mm_orders_sent_total", "Orders sent to the venue.", ["market", "side"])
        self._cancels_sent = counter(
            "mm_cancels_sent_total", "Cancels sent to the venue.", ["market", "side"]
        )
        self._order_rejects = counter(
            "mm_order_rejects_total", "Orders the venue rejected.", ["market", "side", "reason"]
        )
        self._fills = counter("mm_fills_total", "Own fills.", ["market", "side", "liquidity"])
        self._fill_volume_base = counter(
            "mm_fill_volume_base_total", "Own filled size in base units.", ["market", "side"]
        )
        self._market_events = counter(
            "mm_market_events_total", "Market-data events taken in.", ["market", "kind"]
        )
        self._venue_errors = counter("mm_venue_errors_total", "Failed venue calls.", ["market", "op"])
        self._venue_events = counter(
            "mm_venue_events_total",
            "Venue health: disconnects, reconnects, resyncs, reconciliation mismatches.",
            ["market", "kind"],
        )
        self._venue_connected = gauge("mm_venue_connected", "1 while the venue's streams are up.", ["market"])
        self._kill_switch = counter("mm_kill_switch_total", "Kill-switch trips.", ["market", "reason"])

        self._position_base = gauge("mm_position_base", "Inventory in base units (long > 0).", ["market"])
        self._pnl_quote = gauge("mm_pnl_quote", "Mark-to-mid PnL in quote units, after fees.", ["market"])
        self._fees_quote = gauge("mm_fees_quote", "Cumulative fees in quote units.", ["market"])
        self._mid_price = gauge("mm_mid_price", "Book mid price.", ["market"])
        self._reservation_price = gauge("mm_reservation_price", "Strategy reservation price.", ["market"])
        self._quote_price = gauge(
            "mm_quote_price", "Our quote price per side (NaN: none).", ["market", "side"]
        )
        self._spread_bps = gauge("mm_spread_bps", "Our quoted spread in bps of mid.", ["market"])
        self._sigma = gauge("mm_sigma", "Volatility estimate, price units per sqrt(second).", ["market"])
        self._intensity_a = gauge("mm_intensity_a", "Order-arrival intensity A, per second.", ["market"])
        self._intensity_k = gauge("mm_intensity_k", "Order-arrival decay k, per price unit.", ["market"])
        self._open_orders = gauge("mm_open_orders", "Own open orders.", ["market"])
        self._book_age_seconds = gauge(
            "mm_book_age_seconds", "Seconds since the last book update.", ["market"]
        )
        self._up = Gauge("mm_up", "1 while the bot is running.", registry=r)
        self._build_info = gauge("mm_build_info", "Always 1; labels describe the build.", ["version", "mode"])

        self._decision_latency_seconds = Histogram(
            "mm_decision_latency_seconds",
            "Time from an event's receipt to the first venue request it caused.",
            ["market"],
            buckets=DECISION_LATENCY_BUCKETS_S,
            registry=r,
        )
        self._request_seconds = Histogram(
            "mm_request_seconds",
            "Round trip of venue requests.",
            ["market", "op"],
            buckets=REQUEST_BUCKETS_S,
            registry=r,
        )
        self._markets: dict[str, MarketMetrics] = {}
        r.register(_CoreCounters(self._markets))

    def market(self, market: str) -> MarketMetrics:
        """The recording handle for ``market``, created once; callers should keep it."""
        try:
            return self._markets[market]
        except KeyError:
            handle = self._markets[market] = MarketMetrics(self, market, self._clock_ns)
            return handle

    def set_up(self, up: bool) -> None:
        self._up.set(1 if up else 0)

    def set_build_info(self, mode: str, version: str = __version__) -> None:
        """``mode`` is ``paper``, ``live`` or ``backtest``; one series, replaced on each call."""
        self._build_info.clear()
        self._build_info.labels(version, mode).set(1)


class _CoreCounters:
    """``mm_decisions_total`` and ``mm_malformed_events_total``, read from the cores' own counters."""

    def __init__(self, markets: dict[str, MarketMetrics]) -> None:
        self._markets = markets

    def describe(self) -> list[Metric]:
        return list(self._families())

    def collect(self) -> Iterator[Metric]:
        yield from self._families()

    def _families(self) -> Iterator[Metric]:
        decisions = CounterMetricFamily(
            "mm_decisions", "Per-side quote decisions.", labels=["market", "side", "action", "reason"]
        )
        dropped = CounterMetricFamily(
            "mm_malformed_events", "Market-data events dropped by validation.", labels=["market", "kind"]
        )
        for market, m in self._markets.items():
            for (side, action, reason), n in sorted(m.decisions.items(), key=str):
                decisions.add_metric([market, _label(side), str(action), str(reason)], n)
            for kind, n in sorted(m.dropped.items()):
                dropped.add_metric([market, kind], n)
        yield decisions
        yield dropped
