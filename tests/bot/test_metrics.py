"""Metrics: typed recording methods move the exported samples; the /metrics server scrapes for real."""

from __future__ import annotations

import asyncio
import math
from collections import Counter

import aiohttp
import prometheus_client
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from mm_bot import __version__
from mm_bot.engine.reasons import Action, KillReason, Reason
from mm_bot.metrics import DECISION_LATENCY_BUCKETS_S, Metrics, MetricsServer, serve_metrics
from mm_bot.model import Side

MKT = "BTC/USDT"


class FakeClock:
    def __init__(self, now_ns: int = 0) -> None:
        self.now_ns = now_ns

    def __call__(self) -> int:
        return self.now_ns


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> Metrics:
    return Metrics(registry)


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_counters_move_with_their_recording_methods(metrics: Metrics, registry: CollectorRegistry) -> None:
    """Each counter method increments exactly its own series, with the market label."""
    m = metrics.market(MKT)
    m.order_sent(Side.BUY)
    m.order_sent(Side.BUY)
    m.cancel_sent(Side.SELL)
    m.order_rejected(Side.SELL, "post_only_would_cross")
    m.fill(Side.BUY, "maker", 0.25)
    m.fill(Side.BUY, "taker", 0.5)
    m.market_event("book_diff")
    m.venue_error("place")
    m.venue_event("disconnect")
    m.observe_request("place", 0.012)
    m.kill_switch(KillReason.DAILY_LOSS_LIMIT)
    decisions: Counter[tuple[Side, Action, Reason]] = Counter()
    dropped: Counter[str] = Counter()
    m.watch(decisions, dropped)
    decisions[Side.BUY, Action.SEND, Reason.OPTIMAL_PRICE] += 1  # the core counts; a scrape reads
    decisions[Side.SELL, Action.NOTHING, Reason.MAX_POSITION] += 1
    dropped["book_diff"] += 1

    assert value(registry, "mm_orders_sent_total", market=MKT, side="bid") == 2
    assert value(registry, "mm_orders_sent_total", market=MKT, side="ask") == 0
    assert value(registry, "mm_cancels_sent_total", market=MKT, side="ask") == 1
    assert (
        value(registry, "mm_order_rejects_total", market=MKT, side="ask", reason="post_only_would_cross") == 1
    )
    assert value(registry, "mm_fills_total", market=MKT, side="bid", liquidity="maker") == 1
    assert value(registry, "mm_fills_total", market=MKT, side="bid", liquidity="taker") == 1
    assert value(registry, "mm_fill_volume_base_total", market=MKT, side="bid") == 0.75
    assert (
        value(registry, "mm_decisions_total", market=MKT, side="bid", action="send", reason="optimal_price")
        == 1
    )
    assert (
        value(registry, "mm_decisions_total", market=MKT, side="ask", action="nothing", reason="max_position")
        == 1
    )
    assert value(registry, "mm_market_events_total", market=MKT, kind="book_diff") == 1
    assert value(registry, "mm_malformed_events_total", market=MKT, kind="book_diff") == 1
    assert value(registry, "mm_venue_errors_total", market=MKT, op="place") == 1
    assert value(registry, "mm_venue_events_total", market=MKT, kind="disconnect") == 1
    assert value(registry, "mm_venue_events_total", market=MKT, kind="reconnect") == 0
    assert value(registry, "mm_request_seconds_count", market=MKT, op="place") == 1
    assert value(registry, "mm_request_seconds_bucket", market=MKT, op="place", le="0.025") == 1
    assert value(registry, "mm_kill_switch_total", market=MKT, reason="daily_loss_limit") == 1


def test_known_label_values_are_exported_at_zero_from_the_start(
    metrics: Metrics, registry: CollectorRegistry
) -> None:
    """Every kill-switch reason, venue health event and fill kind has its series at 0 as soon as the
    market exists, so ``increase()`` sees the first trip and a panel shows 0 instead of no data."""
    metrics.market(MKT)
    for reason in KillReason:
        assert value(registry, "mm_kill_switch_total", market=MKT, reason=reason.value) == 0
    for kind in ("disconnect", "reconnect", "resync", "reconcile_mismatch"):
        assert value(registry, "mm_venue_events_total", market=MKT, kind=kind) == 0
    for side in ("bid", "ask"):
        for liquidity in ("maker", "taker"):
            assert value(registry, "mm_fills_total", market=MKT, side=side, liquidity=liquidity) == 0
    assert value(registry, "mm_venue_connected", market=MKT) == 1


def test_side_enum_and_label_are_the_same_series(metrics: Metrics, registry: CollectorRegistry) -> None:
    """Side.BUY and "bid" (Side.SELL and "ask") record into one series, never two."""
    m = metrics.market(MKT)
    m.order_sent(Side.SELL)
    m.order_sent("ask")
    assert value(registry, "mm_orders_sent_total", market=MKT, side="ask") == 2
    text = prometheus_client.generate_latest(registry).decode()
    assert sum(line.startswith("mm_orders_sent_total{") for line in text.splitlines()) == 2


def test_unknown_side_is_refused(metrics: Metrics) -> None:
    """A side that is neither bid nor ask is a bug in the caller, not a new label value."""
    m = metrics.market(MKT)
    with pytest.raises(KeyError):
        m.order_sent("buy")
    with pytest.raises(KeyError):
        m.set_quote_price("sell", 1.0)


def test_gauges_export_the_last_value_set(metrics: Metrics, registry: CollectorRegistry) -> None:
    """Gauge setters are read at scrape time; unknown values are NaN until first set."""
    m = metrics.market(MKT)
    assert math.isnan(value(registry, "mm_mid_price", market=MKT) or 0.0)
    assert math.isnan(value(registry, "mm_quote_price", market=MKT, side="bid") or 0.0)
    assert value(registry, "mm_position_base", market=MKT) == 0

    m.set_position(-0.5)
    m.set_pnl(12.5)
    m.set_fees(-0.25)
    m.set_mid(100.0)
    m.set_reservation(99.5)
    m.set_quote_price(Side.BUY, 99.0)
    m.set_quote_price("ask", 101.0)
    m.set_spread_bps(200.0)
    m.set_sigma(0.3)
    m.set_intensity(1.5, 2.0)
    m.set_open_orders(2)
    m.set_mid(100.5)  # only the last value counts

    assert value(registry, "mm_position_base", market=MKT) == -0.5
    assert value(registry, "mm_pnl_quote", market=MKT) == 12.5
    assert value(registry, "mm_fees_quote", market=MKT) == -0.25
    assert value(registry, "mm_mid_price", market=MKT) == 100.5
    assert value(registry, "mm_reservation_price", market=MKT) == 99.5
    assert value(registry, "mm_quote_price", market=MKT, side="bid") == 99.0
    assert value(registry, "mm_quote_price", market=MKT, side="ask") == 101.0
    assert value(registry, "mm_spread_bps", market=MKT) == 200.0
    assert value(registry, "mm_sigma", market=MKT) == 0.3
    assert value(registry, "mm_intensity_a", market=MKT) == 1.5
    assert value(registry, "mm_intensity_k", market=MKT) == 2.0
    assert value(registry, "mm_open_orders", market=MKT) == 2

    m.set_quote_price(Side.BUY, None)  # stopped quoting the bid
    assert math.isnan(value(registry, "mm_quote_price", market=MKT, side="bid") or 0.0)


def test_book_age_grows_at_scrape_time(registry: CollectorRegistry) -> None:
    """The book age is measured when scraped, so a dead feed shows a growing age."""
    clock = FakeClock(now_ns=5_000_000_000)
    m = Metrics(registry, clock_ns=clock).market(MKT)
    assert value(registry, "mm_book_age_seconds", market=MKT) == math.inf  # no book yet
    m.book_updated(4_750_000_000)
    assert value(registry, "mm_book_age_seconds", market=MKT) == pytest.approx(0.25)
    clock.now_ns += 10_000_000_000  # no updates for 10 s
    assert value(registry, "mm_book_age_seconds", market=MKT) == pytest.approx(10.25)


def test_decision_latency_histogram_buckets(metrics: Metrics, registry: CollectorRegistry) -> None:
    """Buckets span 10 µs .. 100 ms and observations land in the right ones."""
    assert DECISION_LATENCY_BUCKETS_S[0] == 1e-5
    assert DECISION_LATENCY_BUCKETS_S[-1] == 0.1
    assert list(DECISION_LATENCY_BUCKETS_S) == sorted(DECISION_LATENCY_BUCKETS_S)
    m = metrics.market(MKT)
    for seconds in (4e-6, 3e-5, 3e-5, 0.2):
        m.observe_decision_latency(seconds)
    name = "mm_decision_latency_seconds_bucket"
    assert value(registry, name, market=MKT, le="1e-05") == 1
    assert value(registry, name, market=MKT, le="5e-05") == 3
    assert value(registry, name, market=MKT, le="0.1") == 3
    assert value(registry, name, market=MKT, le="+Inf") == 4
    assert value(registry, "mm_decision_latency_seconds_count", market=MKT) == 4
    assert value(registry, "mm_decision_latency_seconds_sum", market=MKT) == pytest.approx(0.200064)


def test_up_and_build_info(metrics: Metrics, registry: CollectorRegistry) -> None:
    """mm_up follows set_up; build info keeps one series with the version and mode."""
    assert value(registry, "mm_up") == 0
    metrics.set_up(True)
    assert value(registry, "mm_up") == 1
    metrics.set_build_info("paper")
    metrics.set_build_info("live")
    assert value(registry, "mm_build_info", version=__version__, mode="live") == 1
    assert value(registry, "mm_build_info", version=__version__, mode="paper") is None
    metrics.set_up(False)
    assert value(registry, "mm_up") == 0


def test_market_handles_are_cached_and_separate(metrics: Metrics, registry: CollectorRegistry) -> None:
    """market() returns one handle per symbol; two markets never share a series."""
    assert metrics.market(MKT) is metrics.market(MKT)
    metrics.market(MKT).order_sent(Side.BUY)
    metrics.market("ETH/USDT").set_mid(2000.0)
    assert value(registry, "mm_orders_sent_total", market="ETH/USDT", side="bid") == 0
    assert value(registry, "mm_orders_sent_total", market=MKT, side="bid") == 1
    assert math.isnan(value(registry, "mm_mid_price", market=MKT) or 0.0)


def test_separate_registries_do_not_interfere() -> None:
    """Two Metrics on their own registries keep their own samples and leave the global one alone."""
    reg_a, reg_b = CollectorRegistry(), CollectorRegistry()
    a, b = Metrics(reg_a), Metrics(reg_b)  # the same names twice: no "Duplicated timeseries" error
    a.market(MKT).order_sent(Side.BUY)
    a.market(MKT).set_mid(1.0)
    b.market(MKT).set_mid(2.0)
    assert value(reg_a, "mm_orders_sent_total", market=MKT, side="bid") == 1
    assert value(reg_b, "mm_orders_sent_total", market=MKT, side="bid") == 0
    assert value(reg_a, "mm_mid_price", market=MKT) == 1.0
    assert value(reg_b, "mm_mid_price", market=MKT) == 2.0
    assert prometheus_client.REGISTRY.get_sample_value("mm_up") is None


def test_every_documented_metric_is_exported(metrics: Metrics, registry: CollectorRegistry) -> None:
    """The exposition names match the documented list (dashboards and alerts depend on them)."""
    metrics.market(MKT)
    metrics.set_build_info("paper")
    text = prometheus_client.generate_latest(registry).decode()
    families = {f.name: f.type for f in text_string_to_metric_families(text)}
    expected = {
        "mm_orders_sent": "counter",
        "mm_cancels_sent": "counter",
        "mm_order_rejects": "counter",
        "mm_fills": "counter",
        "mm_fill_volume_base": "counter",
        "mm_decisions": "counter",
        "mm_market_events": "counter",
        "mm_malformed_events": "counter",
        "mm_venue_errors": "counter",
        "mm_venue_events": "counter",
        "mm_venue_connected": "gauge",
        "mm_kill_switch": "counter",
        "mm_position_base": "gauge",
        "mm_pnl_quote": "gauge",
        "mm_fees_quote": "gauge",
        "mm_mid_price": "gauge",
        "mm_reservation_price": "gauge",
        "mm_quote_price": "gauge",
        "mm_spread_bps": "gauge",
        "mm_sigma": "gauge",
        "mm_intensity_a": "gauge",
        "mm_intensity_k": "gauge",
        "mm_open_orders": "gauge",
        "mm_book_age_seconds": "gauge",
        "mm_up": "gauge",
        "mm_build_info": "gauge",
        "mm_decision_latency_seconds": "histogram",
        "mm_request_seconds": "histogram",
    }
    assert {name: families.get(name) for name in expected} == expected
    assert 'mm_orders_sent_total{market="BTC/USDT",side="bid"} 0.0' in text


async def test_scrape_over_http(metrics: Metrics, registry: CollectorRegistry) -> None:
    """A real GET /metrics on 127.0.0.1 returns the samples in the Prometheus text format."""
    m = metrics.market(MKT)
    m.order_sent(Side.BUY)
    m.set_mid(101.25)
    server = await serve_metrics(registry, "127.0.0.1", 0)
    try:
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}/metrics"
        async with aiohttp.ClientSession() as session:
            async with session.get(server.url) as resp:
                assert resp.status == 200
                assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                text = await resp.text()
            async with session.get(f"http://127.0.0.1:{server.port}/healthz") as resp:
                assert resp.status == 200
                assert await resp.text() == "ok"
            async with session.get(f"http://127.0.0.1:{server.port}/nope") as resp:
                assert resp.status == 404
    finally:
        await server.stop()

    assert "# TYPE mm_orders_sent_total counter" in text
    assert 'mm_orders_sent_total{market="BTC/USDT",side="bid"} 1.0' in text
    assert 'mm_mid_price{market="BTC/USDT"} 101.25' in text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("mm_mid_price", (("market", MKT),))] == 101.25


async def test_scrape_negotiates_openmetrics(registry: CollectorRegistry) -> None:
    """A scraper asking for OpenMetrics (as Prometheus does) gets it, terminated by # EOF."""
    Metrics(registry).market(MKT).order_sent(Side.SELL)
    async with MetricsServer(registry) as server, aiohttp.ClientSession() as session:
        headers = {"Accept": "application/openmetrics-text; version=1.0.0"}
        async with session.get(server.url, headers=headers) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("application/openmetrics-text")
            text = await resp.text()
    assert text.endswith("# EOF\n")
    assert 'mm_orders_sent_total{market="BTC/USDT",side="ask"} 1.0' in text


async def test_stop_releases_the_port(registry: CollectorRegistry) -> None:
    """After stop() nothing listens on the port, a new server can bind it, and stop() is idempotent."""
    server = MetricsServer(registry, "127.0.0.1", 0)
    with pytest.raises(RuntimeError):
        _ = server.port  # not started
    await server.start()
    port = server.port
    async with aiohttp.ClientSession() as session, session.get(server.url) as resp:
        assert resp.status == 200
    await server.stop()
    await server.stop()

    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)

    again = await serve_metrics(registry, "127.0.0.1", port)
    try:
        assert again.port == port
    finally:
        await again.stop()


async def test_start_on_a_busy_port_fails_cleanly(registry: CollectorRegistry) -> None:
    """Binding a port in use raises OSError and leaves nothing running."""
    async with MetricsServer(registry) as first:
        second = MetricsServer(registry, "127.0.0.1", first.port)
        with pytest.raises(OSError, match=r"(?i)address already in use"):
            await second.start()
        with pytest.raises(RuntimeError):
            _ = second.port
        await second.stop()
