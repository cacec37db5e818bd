"""The report in a real headless Chromium: it loads with no console error, every chart renders, and a
screenshot is kept. Driven over the DevTools protocol (aiohttp's WebSocket client), which reports
uncaught exceptions, console.error calls and browser log errors (refused loads, CSP violations) as
events. Skipped only when no Chromium can be found (Debian: ``apt-get install chromium``).

The screenshot and the page go to ``$MM_BOT_ARTIFACTS/report_browser/`` when that is set, else to the
test's ``tmp_path``; the path is printed."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from mm_bot.backtest.metrics import run_metrics
from mm_bot.backtest.report import CSP, write_report
from tests.bot.backtest.test_report import PLOT_IDS, compare_runs, synthetic_trace

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 20.0


def find_chromium() -> str | None:
    override = os.environ.get("MM_BOT_CHROMIUM")
    if override:
        return shutil.which(override) or override
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A headless Chromium for this module; yields its DevTools WebSocket URL."""
    exe = find_chromium()
    if exe is None:
        pytest.skip("Chromium not found on PATH (install it: apt-get install chromium)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    log = (profile / "stderr.log").open("wb")
    proc = subprocess.Popen(
        [
            exe,
            "--headless=new",
            "--no-sandbox",  # CI containers run as root, where the sandbox will not start
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-extensions",
            "--disable-background-networking",
            "--no-first-run",
            "--no-default-browser-check",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            "--window-size=1280,2400",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + TIMEOUT_S
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Chromium did not start: {(profile / 'stderr.log').read_text()[-2000:]}")
            time.sleep(0.05)
        port, path = port_file.read_text().split()[:2]
        yield f"ws://127.0.0.1:{port}{path}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        log.close()


@dataclass
class Page:
    errors: list[str] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    png: bytes = b""


class Cdp:
    """One DevTools connection: calls answered in order, events kept as they arrive."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    async def call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> Any:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        await self.ws.send_json(msg)
        while True:
            reply = await self.ws.receive_json()
            if reply.get("id") == self.next_id:
                assert "error" not in reply, f"{method}: {reply['error']}"
                return reply["result"]
            self.events.append(reply)

    async def until_event(self, method: str) -> dict[str, Any]:
        while True:
            for event in self.events:
                if event.get("method") == method:
                    return event
            self.events.append(await self.ws.receive_json())

    def errors(self) -> list[str]:
        out = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                out.append(details.get("exception", {}).get("description") or details.get("text", ""))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                out.append(
                    " ".join(str(a.get("value", a.get("description"))) for a in params.get("args", []))
                )
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                out.append(f"{params['entry'].get('text')} {params['entry'].get('url', '')}".strip())
        return out


CHECK_JS = """({
  ok: document.body.dataset.plotsOk, total: document.body.dataset.plotsTotal,
  withData: document.body.dataset.plotsWithData,
  rendered: Array.from(document.querySelectorAll("figure.plot[data-rendered='1']")).map(f => f.id),
  height: Math.ceil(document.documentElement.scrollHeight)
})"""


async def load(ws_url: str, page: Path, *, screenshot: bool) -> Page:
    """Open ``page`` in a new tab, wait for its self-check, collect errors and a full-page screenshot."""
    async with (
        asyncio.timeout(TIMEOUT_S),
        aiohttp.ClientSession() as http,
        http.ws_connect(ws_url, max_msg_size=64 * 2**20) as ws,
    ):
        cdp = Cdp(ws)
        target = (await cdp.call("Target.createTarget", {"url": "about:blank"}))["targetId"]
        session = (await cdp.call("Target.attachToTarget", {"targetId": target, "flatten": True}))[
            "sessionId"
        ]
        for domain in ("Runtime", "Log", "Page"):
            await cdp.call(f"{domain}.enable", session=session)
        await cdp.call("Page.navigate", {"url": page.as_uri()}, session=session)
        await cdp.until_event("Page.loadEventFired")
        result: dict[str, Any] = {}
        while result.get("ok") is None:
            got = await cdp.call("Runtime.evaluate", {"expression": CHECK_JS, "returnByValue": True}, session)
            result = got["result"].get("value") or {}
            if result.get("ok") is None:
                await asyncio.sleep(0.05)
        png = b""
        if screenshot:
            metrics = {"width": 1280, "height": max(int(result["height"]), 800), "deviceScaleFactor": 1}
            await cdp.call("Emulation.setDeviceMetricsOverride", {**metrics, "mobile": False}, session)
            shot = await cdp.call(
                "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session
            )
            png = base64.b64decode(shot["data"])
        await cdp.call("Target.closeTarget", {"targetId": target})
        return Page(errors=cdp.errors(), state=result, png=png)


def artifact_dir(tmp_path: Path) -> Path:
    root = os.environ.get("MM_BOT_ARTIFACTS")
    out = Path(root) / "report_browser" if root else tmp_path / "artifacts"
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_report_renders_in_chromium_without_errors(browser: str, tmp_path: Path) -> None:
    """The report loads in headless Chromium with no console error and all six charts drawn with data;
    the full-page screenshot is kept as an artifact."""
    trace = synthetic_trace()
    out = artifact_dir(tmp_path)
    page = write_report(trace, run_metrics(trace), out, title="Synthetic backtest", compare=compare_runs())
    got = asyncio.run(load(browser, page, screenshot=True))
    shot = out / "report.png"
    shot.write_bytes(got.png)
    print(f"report screenshot: {shot} (page: {page})")
    assert got.errors == []
    assert got.state["total"] == got.state["ok"] == got.state["withData"] == str(len(PLOT_IDS))
    assert sorted(got.state["rendered"]) == sorted(PLOT_IDS)
    assert got.png[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(got.png[16:20], "big") == 1280
    assert int.from_bytes(got.png[20:24], "big") > 2000  # the whole page, not one screen


def test_the_browser_check_sees_errors_and_blocked_loads(browser: str, tmp_path: Path) -> None:
    """The error capture is not vacuous: an uncaught exception, a console.error and a load the
    report's Content-Security-Policy refuses are all reported."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        f'<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="{CSP}"></head>'
        '<body><img src="https://example.invalid/x.png"><script>console.error("shown");'
        'document.body.dataset.plotsOk = "0"; throw new Error("boom")</script></body></html>'
    )
    errors = asyncio.run(load(browser, bad, screenshot=False)).errors
    assert any("boom" in e for e in errors), errors
    assert any("shown" in e for e in errors), errors
    assert any("Content Security Policy" in e and "example.invalid" in e for e in errors), errors
