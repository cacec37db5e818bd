"""Deploy files stay in step with the code: every metric the alert rules and the Grafana dashboard
query is exported by the bot, and the files parse."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest

from mm_bot.metrics import Metrics
from mm_bot.model import Side

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
METRIC = re.compile(r"\bmm_[a-z_]+")


SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "gauge": ("",),
    "info": ("_info",),
}


def exported_names() -> set[str]:
    """Every sample name the bot's registry can expose (labelled series appear once recorded, so
    names come from the metric families), checked against a real exposition for one market."""
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    metrics.market("BTC/USDT").order_sent(Side.BUY)
    names = {f.name + suffix for f in registry.collect() for suffix in SUFFIXES.get(f.type, ("",))}
    text = generate_latest(registry).decode()
    assert "mm_orders_sent_total" in names
    assert 'mm_orders_sent_total{market="BTC/USDT",side="bid"} 1.0' in text
    return names


def alert_exprs() -> list[str]:
    rules = yaml.safe_load((DEPLOY / "alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    dash = json.loads((DEPLOY / "grafana" / "mm-bot.json").read_text())
    return [t["expr"] for panel in dash["panels"] for t in panel["targets"]]


@pytest.mark.parametrize("source", ["alerts", "dashboard"])
def test_queried_metrics_exist(source: str) -> None:
    """Each mm_* name in a query is a sample name the bot really exposes."""
    exprs = alert_exprs() if source == "alerts" else dashboard_exprs()
    names = {n for e in exprs for n in METRIC.findall(e)}
    assert names, "no metric referenced: the check would be vacuous"
    missing = names - exported_names()
    assert not missing, f"{source} query metrics the bot does not export: {sorted(missing)}"


def test_prometheus_scrapes_the_default_metrics_port() -> None:
    """The scrape target's port is the config default (metrics.port)."""
    from mm_bot.config import load_config

    port = load_config(DEPLOY.parent / "config.yaml", environ={}).metrics.port
    scrape = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    targets = scrape["scrape_configs"][0]["static_configs"][0]["targets"]
    assert any(t.endswith(f":{port}") for t in targets)
