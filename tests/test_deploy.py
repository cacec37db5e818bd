"""Deploy files stay in step with the code: every metric the alert rules and the Grafana dashboard
query is exported by the bot, the files parse, compose publishes on loopback only with its volumes,
the image runs as a user with a working healthcheck, systemd does not restart into a kill switch.
(tests/test_deploy_prometheus.py runs them through promtool and a real Prometheus.)"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest

from mm_bot.metrics import Metrics, MetricsServer
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


def load_default_metrics_port() -> int:
    from mm_bot.config import load_config

    return load_config(DEPLOY.parent / "config.yaml", environ={}).metrics.port


def test_prometheus_scrapes_the_default_metrics_port() -> None:
    """The scrape target's port is the config default (metrics.port)."""
    port = load_default_metrics_port()
    scrape = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    targets = scrape["scrape_configs"][0]["static_configs"][0]["targets"]
    assert any(t.endswith(f":{port}") for t in targets)


# ----------------------------------------------------------------------------------- compose, image
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return data


def test_compose_runs_the_bot_prometheus_and_grafana_on_loopback_ports() -> None:
    """The three services exist, the bot paper-trades without the TUI, and every published port is
    bound to 127.0.0.1 (nothing listens on the host's other interfaces)."""
    services = compose()["services"]
    assert set(services) == {"mm-bot", "prometheus", "grafana"}
    assert services["mm-bot"]["command"] == ["mm-bot", "run", "--paper", "--no-tui"]
    ports = [(name, p) for name, svc in services.items() for p in svc.get("ports", [])]
    assert {name for name, _ in ports} == set(services)
    for name, port in ports:
        assert isinstance(port, str) and port.startswith("127.0.0.1:"), f"{name}: {port!r}"
    port = load_default_metrics_port()
    assert f"127.0.0.1:{port}:{port}" in services["mm-bot"]["ports"]


def test_compose_keeps_the_journal_and_the_prometheus_data_in_volumes() -> None:
    """Named volumes hold the journals and Prometheus' TSDB; every file mounted from deploy/ exists."""
    doc = compose()
    services = doc["services"]
    named = set(doc["volumes"])

    def mounts(service: str) -> dict[str, str]:
        return {v.split(":")[1]: v.split(":")[0] for v in services[service]["volumes"]}

    assert mounts("mm-bot")["/var/lib/mm-bot"] in named
    assert mounts("prometheus")["/prometheus"] in named
    assert "--storage.tsdb.path=/prometheus" in services["prometheus"]["command"]
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), volume
    # Prometheus reads the alert rules next to its config, where compose mounts them.
    assert mounts("prometheus")["/etc/prometheus/alerts.yml"] == "./alerts.yml"
    assert yaml.safe_load((DEPLOY / "prometheus.yml").read_text())["rule_files"] == ["alerts.yml"]


def test_compose_provisions_grafanas_datasource_and_dashboard() -> None:
    """Grafana gets the Prometheus datasource and a file provider whose path holds mm-bot.json."""
    grafana = compose()["services"]["grafana"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in grafana["volumes"]}
    assert mounts["/etc/grafana/provisioning"] == "./grafana/provisioning"
    provisioning = DEPLOY / "grafana" / "provisioning"
    sources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"]
    assert [(s["type"], s["url"], s["isDefault"]) for s in sources] == [
        ("prometheus", "http://prometheus:9090", True)
    ]
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "mm-bot.yml").read_text())["providers"]
    path = provider["options"]["path"]
    assert mounts[f"{path}/mm-bot.json"] == "./grafana/mm-bot.json"


def test_the_image_runs_as_a_user_with_a_healthcheck_and_builds_from_the_repo_root() -> None:
    """compose builds deploy/Dockerfile from the repository root; the Dockerfile switches to a
    non-root user, checks health on /metrics, and a root .dockerignore keeps secrets and state out
    of the context without dropping what the image copies."""
    bot = compose()["services"]["mm-bot"]
    build = bot["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    assert "user" not in bot and "healthcheck" not in bot, "compose keeps the image's user and healthcheck"
    lines = [line.strip() for line in (DEPLOY / "Dockerfile").read_text().splitlines()]
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert any(line.startswith("HEALTHCHECK ") for line in lines)
    assert healthcheck_code().count(f"http://127.0.0.1:{load_default_metrics_port()}/metrics") == 1
    ignored = {
        line.strip()
        for line in (DEPLOY.parent / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", ".env", "**/.env", "**/*.sqlite", "var"} <= ignored
    copied = {part for line in lines if line.startswith("COPY ") for part in line.split()[1:-1]}
    assert copied == {"pyproject.toml", "README.md", "mm_bot", "sim"}  # the config ships in mm_bot
    assert not copied & ignored


def healthcheck_code() -> str:
    """The Python one-liner of the Dockerfile's HEALTHCHECK (its CMD, a JSON array)."""
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    (line,) = [line for line in text.splitlines() if line.startswith("HEALTHCHECK ")]
    argv = json.loads(line[line.index("CMD") + 3 :])
    assert argv[:2] == ["python", "-c"]
    return str(argv[2])


async def test_the_healthcheck_one_liner_passes_on_a_live_endpoint_and_fails_without() -> None:
    """The HEALTHCHECK's code (its port swapped for a free one) exits 0 while /metrics answers, and
    non-zero once nothing listens."""
    server = MetricsServer(CollectorRegistry())
    await server.start()
    code = healthcheck_code().replace(f":{load_default_metrics_port()}/", f":{server.port}/")

    async def run_check() -> int:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        return await proc.wait()

    try:
        assert await run_check() == 0
    finally:
        await server.stop()
    assert await run_check() != 0


def test_systemd_restarts_on_a_crash_but_not_on_a_config_error_or_a_kill_switch() -> None:
    """Restart=on-failure with exit codes 2 (config) and 3 (kill switch) exempt: the app's codes."""
    from mm_bot.app import EXIT_ERROR, EXIT_KILL_SWITCH

    settings: dict[str, str] = {}
    for line in (DEPLOY / "mm-bot.service").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, val = line.partition("=")
            settings[key.strip()] = val.strip()
    assert settings["Restart"] == "on-failure"
    assert set(settings["RestartPreventExitStatus"].split()) == {"2", str(EXIT_KILL_SWITCH)}
    assert EXIT_ERROR not in {int(code) for code in settings["RestartPreventExitStatus"].split()}
    assert "run --paper --no-tui" in settings["ExecStart"]


def test_every_dashboard_query_is_filtered_by_the_market_variable() -> None:
    """The dashboard has a ``market`` query variable over the markets the bot exports, and every
    panel query selects on it."""
    dash = json.loads((DEPLOY / "grafana" / "mm-bot.json").read_text())
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    market = variables["market"]
    assert market["type"] == "query" and market["query"]["query"] == "label_values(mm_position_base, market)"
    for expr in dashboard_exprs():
        selectors = re.findall(r"\bmm_[a-z_]+\{([^}]*)\}", expr)
        assert len(selectors) == len(METRIC.findall(expr)), f"a metric without a selector: {expr}"
        assert all('market=~"$market"' in s for s in selectors), expr
