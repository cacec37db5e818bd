"""Logging: JSON lines or console by stream, levels, logger names, and secrets never written."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest
import structlog
from structlog.testing import capture_logs

from mm_bot.logging import (
    REDACTED,
    clear_secrets,
    configure_logging,
    get_logger,
    redact_secrets,
    register_secret,
)

SECRET = "k3y-S3cr3t/v4lue+0123456789"  # regex metacharacters on purpose


class TtyStream(io.StringIO):
    """A StringIO that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.reset_defaults()
    clear_secrets()
    root.handlers[:] = handlers
    root.setLevel(level)


def json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_timestamp_level_logger_and_fields() -> None:
    """JSON mode writes one object per event: ISO UTC timestamp, level, logger name, event, fields."""
    out = io.StringIO()
    configure_logging("INFO", json=True, stream=out)
    log = get_logger("mm_bot.engine.runner", market="BTC/USDT")
    log.info("quote_sent", side="bid", price_ticks=1001, cid="c-1")

    [line] = json_lines(out)
    assert list(line)[:4] == ["timestamp", "level", "logger", "event"]
    assert line["event"] == "quote_sent"
    assert line["level"] == "info"
    assert line["logger"] == "mm_bot.engine.runner"
    assert line["market"] == "BTC/USDT"
    assert (line["side"], line["price_ticks"], line["cid"]) == ("bid", 1001, "c-1")
    stamp = str(line["timestamp"])
    assert stamp.endswith("Z")
    assert datetime.fromisoformat(stamp.replace("Z", "+00:00")).utcoffset() is not None


def test_level_filters_structlog_and_stdlib_records() -> None:
    """Below-level events are dropped from both structlog loggers and stdlib loggers."""
    out = io.StringIO()
    configure_logging("WARNING", json=True, stream=out)
    log = get_logger("mm_bot.app")
    log.info("quote_sent")
    log.warning("book_stale", age_s=3.5)
    logging.getLogger("ccxt.base.exchange").info("chatty")
    logging.getLogger("ccxt.base.exchange").error("request failed: %s", "timeout")

    lines = json_lines(out)
    assert [(x["level"], x["event"]) for x in lines] == [
        ("warning", "book_stale"),
        ("error", "request failed: timeout"),
    ]
    assert lines[1]["logger"] == "ccxt.base.exchange"


def test_renderer_follows_the_stream() -> None:
    """json=False: console on a TTY, JSON lines otherwise; json=True: JSON even on a TTY."""
    tty = TtyStream()
    configure_logging("INFO", json=False, stream=tty)
    get_logger("mm_bot.app").info("run_started", mode="paper")
    text = tty.getvalue()
    assert "run_started" in text and "mode" in text and "paper" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])

    pipe = io.StringIO()
    configure_logging("INFO", json=False, stream=pipe)
    get_logger("mm_bot.app").info("run_started", mode="paper")
    assert json_lines(pipe)[0]["event"] == "run_started"

    tty_json = TtyStream()
    configure_logging("INFO", json=True, stream=tty_json)
    get_logger("mm_bot.app").info("run_started", mode="paper")
    assert json_lines(tty_json)[0]["mode"] == "paper"


def test_console_respects_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR turns off ANSI colors even on a terminal."""
    monkeypatch.setenv("NO_COLOR", "1")
    tty = TtyStream()
    configure_logging("INFO", json=False, stream=tty)
    get_logger("mm_bot.app").info("run_started")
    assert "\x1b[" not in tty.getvalue()


def test_reconfiguring_replaces_the_stdlib_handler() -> None:
    """Calling configure_logging twice does not duplicate stdlib lines or keep writing to the old stream."""
    first, second = io.StringIO(), io.StringIO()
    configure_logging("INFO", json=True, stream=first)
    configure_logging("INFO", json=True, stream=second)
    logging.getLogger("aiohttp.client").warning("slow")
    assert first.getvalue() == ""
    assert len(json_lines(second)) == 1


def test_loggers_made_before_configure_use_the_new_configuration() -> None:
    """get_logger at import time is lazy: it writes where configure_logging later says."""
    log = get_logger("mm_bot.venues.ccxt")
    out = io.StringIO()
    configure_logging("INFO", json=True, stream=out)
    log.info("venue_connected")
    assert json_lines(out)[0]["logger"] == "mm_bot.venues.ccxt"


def test_unknown_level_is_refused() -> None:
    """A typo in the level is an error, not silently INFO."""
    with pytest.raises(ValueError, match="VERBOSE"):
        configure_logging("VERBOSE", json=True, stream=io.StringIO())


def test_capture_logs_sees_bound_market_and_fields() -> None:
    """Tests read events with capture_logs: bindings and contextvars arrive as fields."""
    log = get_logger("mm_bot.engine.runner", market="ETH/USDT")
    with capture_logs() as logs, structlog.contextvars.bound_contextvars(run_id="r1"):
        log.info("order_cancelled", cid="c-9", reason="stale_book")
    assert logs == [
        {
            "event": "order_cancelled",
            "log_level": "info",
            "market": "ETH/USDT",
            "cid": "c-9",
            "reason": "stale_book",
        }
    ]


@dataclass
class Credentials:
    venue: str
    key: str


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "console"])
def test_secrets_never_reach_the_output(as_json: bool) -> None:
    """A registered secret is replaced wherever it appears: value, nested, substring, exception, stdlib."""
    out: io.StringIO = io.StringIO() if as_json else TtyStream()
    configure_logging("DEBUG", json=as_json, stream=out)
    register_secret(SECRET)
    log = get_logger("mm_bot.venues.ccxt", market="BTC/USDT")

    log.info("credentials_loaded", key=SECRET)
    log.info("request_sent", params={"outer": {"list": [1, SECRET, (SECRET,)]}, "set": {SECRET}})
    log.info("request_sent", url=f"https://api.example/order?sig=x&key={SECRET}&t=1")
    log.info(f"connected with {SECRET}")  # even in the event name (which is bad style)
    log.info("venue_configured", creds=Credentials("binance", SECRET))  # only via repr
    log.info("raw_sent", body=SECRET.encode())
    log.info("keyed_by_secret", table={SECRET: 1})
    try:
        raise RuntimeError(f"auth failed for {SECRET}")
    except RuntimeError:
        log.exception("login_failed")
    try:
        raise ValueError(SECRET)
    except ValueError as exc:
        log.warning("order_rejected", error=exc)
    logging.getLogger("ccxt.base.exchange").debug("signing %s", SECRET)
    logging.getLogger("ccxt.base.exchange").info("headers", extra={"payload": {"x": SECRET}})

    text = out.getvalue()
    assert SECRET not in text
    assert REDACTED in text
    assert text.count("\n") >= 11
    assert "https://api.example/order?sig=x&key=***&t=1" in text
    assert "auth failed for ***" in text
    assert "login_failed" in text


def test_credential_named_fields_are_replaced_whole() -> None:
    """Fields named like credentials are redacted even when the value was never registered."""
    out = io.StringIO()
    configure_logging("INFO", json=True, stream=out)
    log = get_logger("mm_bot.venues.ccxt")
    log.info(
        "client_created",
        api_key="AK",
        secret="S",
        password="P",
        token="T",
        signature="SIG",
        apiKey="AK2",
        headers={"X-MBX-APIKEY": "AK3", "Accept": "application/json"},
        symbol="BTC/USDT",
    )
    logging.getLogger("aiohttp.client").info("sent", extra={"access_token": "T2"})

    client, stdlib = json_lines(out)
    for field in ("api_key", "secret", "password", "token", "signature", "apiKey"):
        assert client[field] == REDACTED
    assert client["headers"] == {"X-MBX-APIKEY": REDACTED, "Accept": "application/json"}
    assert client["symbol"] == "BTC/USDT"
    assert stdlib["access_token"] == REDACTED


def test_redaction_processor_rules() -> None:
    """The processor on its own: longest secret wins, empty secrets are ignored, scalars untouched."""
    register_secret("")  # would otherwise match everywhere
    register_secret("abc")
    register_secret("abcdef")
    event = {
        "event": "x_abcdef_y_abc",
        "n": 3,
        "ratio": 0.5,
        "ok": True,
        "none": None,
        "items": ("abc", ["zabcz"]),
    }
    out = redact_secrets(None, "info", event)
    assert out == {
        "event": "x_***_y_***",
        "n": 3,
        "ratio": 0.5,
        "ok": True,
        "none": None,
        "items": ("***", ["z***z"]),
    }
    clear_secrets()
    assert redact_secrets(None, "info", {"event": "abc"}) == {"event": "abc"}
