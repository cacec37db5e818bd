"""deploy/ against a real Prometheus (Debian's ``prometheus`` package): promtool accepts the shipped
config and rules; a paper run scraped every second answers every Grafana panel query with data and
every alert expression evaluates; a kill switch makes ``MmBotKillSwitchFired`` fire while the bot
still serves /metrics (``metrics.kill_grace_s``). Without ``prometheus``/``promtool`` these skip.

The Prometheus config is deploy/prometheus.yml with only the target, the intervals (1 s) and the
rule file's path replaced; the rules are deploy/alerts.yml, the kill-switch alert without a ``for:``
(it has none as shipped; one added later would outlast this test's wait, not change the rule).
Prometheus starts first, on a free port, scraping a free port the run then listens on: it applies a
new target only every 5 s, and the kill-switch run trips within a second of starting.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from prometheus_client import CollectorRegistry

from mm_bot.app import EXIT_KILL_SWITCH, RunOptions, RunResult, run_app
from mm_bot.config import AppConfig, load_config
from tests.bot.test_paper_run import ROOT, lively_config
from tests.test_deploy import DEPLOY, alert_exprs, dashboard_exprs

MARKET = "BTC/USDT"
KILL_ALERT = "MmBotKillSwitchFired"


def _tool(name: str) -> str | None:
    found = shutil.which(name)
    if found is None and os.access(f"/usr/bin/{name}", os.X_OK):
        found = f"/usr/bin/{name}"
    return found


PROMETHEUS, PROMTOOL = _tool("prometheus"), _tool("promtool")
NO_PACKAGE = (
    "needs Debian's prometheus package (apt-get install -y prometheus): {} not on PATH nor in /usr/bin"
)
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason=NO_PACKAGE.format("promtool"))
needs_prometheus = pytest.mark.skipif(PROMETHEUS is None, reason=NO_PACKAGE.format("prometheus"))


@needs_promtool
@pytest.mark.parametrize(("check", "path"), [("config", "prometheus.yml"), ("rules", "alerts.yml")])
def test_promtool_accepts_the_shipped_files(check: str, path: str) -> None:
    """`promtool check config` (which also checks the rule file it names) and `check rules` pass on
    deploy/ as shipped."""
    assert PROMTOOL is not None
    proc = subprocess.run(
        [PROMTOOL, "check", check, path], cwd=DEPLOY, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout + proc.stderr


# ---------------------------------------------------------------------------------- a real Prometheus
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _test_config(target_port: int, rules: Path) -> dict[str, Any]:
    """deploy/prometheus.yml scraping ``127.0.0.1:target_port`` every second, evaluating ``rules``."""
    config: dict[str, Any] = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(rules)]
    (job,) = config["scrape_configs"]
    (targets,) = job["static_configs"]
    targets["targets"] = [f"127.0.0.1:{target_port}"]
    return config


def _test_rules() -> dict[str, Any]:
    rules: dict[str, Any] = yaml.safe_load((DEPLOY / "alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == KILL_ALERT:
                rule.pop("for", None)
    return rules


class Prometheus:
    """The HTTP API of a running Prometheus."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session, self.url = session, url

    async def api(self, path: str, **params: str) -> Any:
        async with self.session.get(f"{self.url}/api/v1/{path}", params=params) as resp:
            body = await resp.json()
        assert body["status"] == "success", f"{path} {params}: {body}"
        return body["data"]

    async def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result (a vector); an expression that does not parse or evaluate fails."""
        data = await self.api("query", query=expr)
        assert data["resultType"] == "vector", f"{expr}: {data}"
        result: list[dict[str, Any]] = data["result"]
        return result


@asynccontextmanager
async def prometheus(tmp_path: Path, target_port: int) -> AsyncIterator[Prometheus]:
    """Prometheus on a free loopback port, its TSDB in ``tmp_path``, scraping ``target_port`` once its
    scrape loop for that target runs (the target may still be down); stopped at the end."""
    assert PROMETHEUS is not None
    rules = tmp_path / "alerts.yml"
    rules.write_text(yaml.safe_dump(_test_rules()))
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(_test_config(target_port, rules)))
    port = _free_port()
    log = tmp_path / "prometheus.log"
    with log.open("w") as out:
        proc = await asyncio.create_subprocess_exec(
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            url = f"http://127.0.0.1:{port}"
            async with asyncio.timeout(20):
                while True:
                    assert proc.returncode is None, f"prometheus exited: {log.read_text()[-3000:]}"
                    try:
                        async with session.get(f"{url}/-/ready") as resp:
                            if resp.status == 200:
                                break
                    except aiohttp.ClientConnectionError:
                        pass
                    await asyncio.sleep(0.05)
            prom = Prometheus(session, url)
            await eventually("the target not being scraped", lambda: _not_scraping(prom, target_port))
            yield prom
    finally:
        proc.terminate()
        try:
            async with asyncio.timeout(10):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()


@asynccontextmanager
async def paper_run(
    cfg: AppConfig, port: int
) -> AsyncIterator[tuple[asyncio.Event, asyncio.Task[RunResult]]]:
    """A paper run in-process with /metrics on ``port``, started: (its stop event, its task). Stopped at
    the end if still running."""
    stop = asyncio.Event()
    started = asyncio.Event()
    run = asyncio.create_task(
        run_app(
            cfg,
            RunOptions("paper", duration_s=60.0, metrics_port=port),
            stop=stop,
            registry=CollectorRegistry(),
            on_started=lambda info: started.set(),
        )
    )
    waiter = asyncio.ensure_future(started.wait())
    try:
        await asyncio.wait([run, waiter], timeout=30, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        assert started.is_set(), f"the run ended before it started: {run.result()}"
        yield stop, run
    finally:
        stop.set()
        await run


async def eventually(what: str, check: Callable[[], Awaitable[list[str]]], timeout_s: float = 25.0) -> None:
    """Poll ``check`` (what is still missing) until it returns an empty list."""
    missing: list[str] = []
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                missing = await check()
                if not missing:
                    return
                await asyncio.sleep(0.25)
    except TimeoutError:
        pytest.fail(f"{what} after {timeout_s} s: {missing}")


@needs_prometheus
@pytest.mark.timeout(90)
async def test_every_dashboard_query_has_data_and_every_alert_evaluates(tmp_path: Path) -> None:
    """While a paper run trades, scraped every second: the dashboard's market variable lists the
    market, each panel query (``$market`` substituted) returns at least one series, each alert
    expression parses and evaluates through /api/v1/query, and Prometheus' own evaluation of every
    rule is healthy. The kill-switch series is there at 0 before any trip."""
    port = _free_port()
    async with prometheus(tmp_path, port) as prom, paper_run(lively_config(tmp_path), port) as (stop, run):
        await eventually(
            "the run not scraped", lambda: _missing(prom, ['up{job="mm-bot"} == 1', "mm_fills_total > 0"])
        )
        markets = await prom.api("label/market/values", **{"match[]": "mm_position_base"})
        assert markets == [MARKET]
        panel_queries = [re.sub(r"\$\{?market\}?", MARKET, e) for e in dashboard_exprs()]
        assert not [q for q in panel_queries if "$" in q], "a dashboard variable left unsubstituted"
        await eventually("panel queries without data", lambda: _missing(prom, panel_queries))
        for expr in alert_exprs():
            await prom.query(expr)
        await eventually("rules not evaluated cleanly", lambda: _unhealthy_rules(prom))
        zero = await prom.query(f'mm_kill_switch_total{{market="{MARKET}",reason="daily_loss_limit"}} == 0')
        assert len(zero) == 1
        assert not await _firing(prom, KILL_ALERT)
        assert not run.done()
        stop.set()
        assert (await run).exit_code == 0


@needs_prometheus
@pytest.mark.timeout(90)
async def test_a_kill_switch_fires_its_alert_while_the_bot_still_serves_metrics(tmp_path: Path) -> None:
    """The kill-switch run of tests/bot/test_paper_run.py (50 bps maker fee, 0.1 USDT daily loss
    limit: the first fills trip it, usually before the first scrape): the bot keeps /metrics up for
    kill_grace_s, Prometheus scrapes the trip, and MmBotKillSwitchFired is firing, with the market
    and the reason, before the run has returned; the run then exits 3."""
    cfg = load_config(
        ROOT / "config.yaml",
        environ={
            "MM_BOT__paper__synthetic__markets__BTC/USDT__as_flow__a_per_s": "15.0",
            "MM_BOT__paper__fees__maker_bps": "50",
            "MM_BOT__markets__0__risk__daily_loss_limit_quote": "0.1",
            "MM_BOT__journal__paper_path": str(tmp_path / "journal.sqlite"),
            "MM_BOT__metrics__kill_grace_s": "5.0",
        },
    )
    port = _free_port()
    async with prometheus(tmp_path, port) as prom, paper_run(cfg, port) as (_, run):
        await eventually("not firing", lambda: _not_firing(prom, KILL_ALERT), timeout_s=20.0)
        assert not run.done(), "the run returned before its alert fired: is kill_grace_s honoured?"
        (alert,) = await _firing(prom, KILL_ALERT)
        assert alert["labels"]["market"] == MARKET and alert["labels"]["reason"] == "daily_loss_limit"
        assert alert["labels"]["severity"] == "page"
        result = await run
    assert result.exit_code == EXIT_KILL_SWITCH
    assert result.summary["kill_reason"] == "daily_loss_limit"
    assert result.summary["markets"][MARKET]["open_orders_at_exit"] == 0


async def _not_scraping(prom: Prometheus, port: int) -> list[str]:
    targets = (await prom.api("targets", state="active"))["activeTargets"]
    url = f"http://127.0.0.1:{port}/metrics"
    return [] if any(t["scrapeUrl"] == url for t in targets) else [url]


async def _missing(prom: Prometheus, exprs: list[str]) -> list[str]:
    return [e for e in exprs if not await prom.query(e)]


async def _unhealthy_rules(prom: Prometheus) -> list[str]:
    groups = (await prom.api("rules"))["groups"]
    rules = [r for g in groups for r in g["rules"]]
    assert len(rules) == len(alert_exprs())
    return [f"{r['name']}: {r['health']} {r.get('lastError', '')}" for r in rules if r["health"] != "ok"]


async def _firing(prom: Prometheus, name: str) -> list[dict[str, Any]]:
    alerts = (await prom.api("alerts"))["alerts"]
    return [a for a in alerts if a["labels"]["alertname"] == name and a["state"] == "firing"]


async def _not_firing(prom: Prometheus, name: str) -> list[str]:
    return [] if await _firing(prom, name) else [name]
