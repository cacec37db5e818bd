"""Structured logging: events with fields, JSON lines in production, secrets never written.

Log events, not sentences: ``log.info("quote_sent", side="bid", price=..., cid=...)`` with
snake_case past-tense event names and the values in fields. Get a logger with
``get_logger(__name__, market="BTC/USDT")``, or bind the market for a whole task with
``structlog.contextvars.bound_contextvars(market=...)``: each task of the app's TaskGroup has its
own context copy, so per-market tasks do not leak their binding into each other.

``configure_logging`` routes two streams through one processor chain and one renderer:
structlog's own loggers, and the standard library's ``logging`` records (ccxt, aiohttp, asyncio),
so third-party lines are formatted and redacted the same way.

Redaction is the last processor before rendering, after exceptions are turned into text or dicts:
any value equal to or containing a registered secret (``register_secret``) has the secret replaced
by ``***``, in nested dicts, lists and tuples, in exception messages and tracebacks, and in the
``repr`` of other objects; any value under a key named like a credential (``api_key``,
``apiKey``, ``X-MBX-APIKEY``, ``secret``, ``password``, ``token``, ``signature``, ...) is
replaced whole. Tests that use ``structlog.testing.capture_logs()`` see raw, unredacted events.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
from collections.abc import Mapping
from typing import Any, TextIO, cast

import structlog
from structlog.tracebacks import ExceptionDictTransformer
from structlog.typing import EventDict, FilteringBoundLogger, Processor, WrappedLogger

__all__ = [
    "REDACTED",
    "clear_secrets",
    "configure_logging",
    "get_logger",
    "redact_secrets",
    "register_secret",
]

REDACTED = "***"

# A key is a credential if, lower-cased with everything but letters and digits removed, it contains
# one of these: "api_key", "apiKey", "X-MBX-APIKEY", "client_secret", "access_token" all match.
_CREDENTIAL_KEY_PARTS = (
    "apikey",
    "secret",
    "password",
    "passwd",
    "passphrase",
    "token",
    "signature",
    "privatekey",
    "authorization",
)
_NON_ALNUM = re.compile(r"[^0-9a-z]")
_MAX_DEPTH = 8  # deeper (or cyclic) containers are redacted through their repr

_secrets: set[str] = set()
_secret_pattern: re.Pattern[str] | None = None
_handler: logging.Handler | None = None  # the stdlib handler we installed, replaced on reconfigure


def register_secret(value: str) -> None:
    """Never log ``value``, whole or as part of a longer string. Empty values are ignored."""
    global _secret_pattern
    if not value or value in _secrets:
        return
    _secrets.add(value)
    # Longest first, so a secret that contains another is replaced whole.
    ordered = sorted(_secrets, key=len, reverse=True)
    _secret_pattern = re.compile("|".join(re.escape(s) for s in ordered))


def clear_secrets() -> None:
    """Forget every registered secret (for tests)."""
    global _secret_pattern
    _secrets.clear()
    _secret_pattern = None


@functools.lru_cache(maxsize=4096)  # keys repeat on every line
def _is_credential_key(key: str) -> bool:
    norm = _NON_ALNUM.sub("", key.lower())
    return any(part in norm for part in _CREDENTIAL_KEY_PARTS)


_PLAIN_SCALARS = frozenset({type(None), bool, int, float})


def _redact(value: Any, pattern: re.Pattern[str] | None, depth: int) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return pattern.sub(REDACTED, value) if pattern is not None else value
    if depth < _MAX_DEPTH:
        if isinstance(value, Mapping):
            return {
                _redact(k, pattern, depth + 1): (
                    REDACTED
                    if isinstance(k, str) and _is_credential_key(k)
                    else _redact(v, pattern, depth + 1)
                )
                for k, v in value.items()
            }
        if isinstance(value, list | tuple | set | frozenset):
            items = [_redact(v, pattern, depth + 1) for v in value]
            return tuple(items) if isinstance(value, tuple) else items
    if pattern is None:
        return value
    # bytes, dataclasses and other objects: renderers print their repr, so check that.
    text = repr(value)
    return pattern.sub(REDACTED, text) if pattern.search(text) else value


def redact_secrets(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """structlog processor: replace registered secrets and credential-named fields with ``***``."""
    pattern = _secret_pattern
    for key, value in event_dict.items():
        if _is_credential_key(key):
            event_dict[key] = REDACTED
        elif type(value) in _PLAIN_SCALARS:  # the common case: no copy, no recursion
            continue
        elif type(value) is str:
            if pattern is not None:
                event_dict[key] = pattern.sub(REDACTED, value)
        else:
            event_dict[key] = _redact(value, pattern, 0)
    return event_dict


def get_logger(name: str, **bindings: Any) -> FilteringBoundLogger:
    """A logger whose lines carry ``logger=name`` and ``bindings`` (e.g. ``market=...``).

    Lazy: safe at module level before ``configure_logging`` runs.
    """
    return cast(FilteringBoundLogger, structlog.get_logger(name, **bindings))


class _NamedWriteLogger(structlog.WriteLogger):
    """A ``WriteLogger`` that knows the name it was asked for (``get_logger(name)``)."""

    def __init__(self, file: TextIO, name: str) -> None:
        super().__init__(file)
        self.name = name


class _NamedWriteLoggerFactory:
    def __init__(self, file: TextIO) -> None:
        self._file = file

    def __call__(self, *args: Any) -> _NamedWriteLogger:
        return _NamedWriteLogger(self._file, str(args[0]) if args else "")


def _add_logger_name(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    name = getattr(logger, "name", "")
    if name:
        event_dict.setdefault("logger", name)
    return event_dict


_LEAD_KEYS = ("timestamp", "level", "logger", "event")
_render_json = structlog.processors.JSONRenderer()


def _json_renderer(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> str | bytes:
    """JSON lines that start with timestamp, level, logger and event, then the fields."""
    ordered = {k: event_dict.pop(k) for k in _LEAD_KEYS if k in event_dict}
    ordered.update(event_dict)
    return _render_json(logger, method_name, ordered)


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _level_number(level: str) -> int:
    number = logging.getLevelNamesMapping().get(level.upper())
    if number is None:
        raise ValueError(f"unknown log level {level!r}")
    return number


def configure_logging(
    level: str = "INFO",
    json: bool = False,
    stream: TextIO | None = None,
    *,
    cache_loggers: bool = False,
) -> None:
    """Set up structlog and the standard library's root logger to write to ``stream``.

    ``json=True`` always writes JSON lines. ``json=False`` writes the console renderer when
    ``stream`` is a terminal and JSON lines otherwise (systemd, Docker, a file, a pipe), so the
    default config is readable at a desk and parseable in production. Colors only on a terminal,
    and never with ``NO_COLOR`` set. ``stream`` defaults to stderr: stdout is for command output
    such as ``verify --json``.

    ``cache_loggers`` freezes each logger's configuration at its first use (faster; use it in
    the long-running app). Off by default so tests that reconfigure see their configuration.
    """
    global _handler
    out = stream if stream is not None else sys.stderr
    level_no = _level_number(level)
    console = not json and _is_tty(out)

    renderer: Processor
    exceptions: Processor
    if console:
        # Exceptions become text before redaction; ConsoleRenderer prints that text as is.
        exceptions = structlog.processors.format_exc_info
        renderer = structlog.dev.ConsoleRenderer(colors="NO_COLOR" not in os.environ)
    else:
        exceptions = structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False))
        renderer = _json_renderer

    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    tail: list[Processor] = [
        structlog.processors.StackInfoRenderer(),
        exceptions,
        redact_secrets,
        renderer,
    ]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _add_logger_name,
            timestamper,
            *tail,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level_no),
        logger_factory=_NamedWriteLoggerFactory(out),
        cache_logger_on_first_use=cache_loggers,
    )

    # Standard-library records (ccxt, aiohttp, asyncio) through the same tail.
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.contextvars.merge_contextvars,
                structlog.processors.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.stdlib.ExtraAdder(),
                timestamper,
            ],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail],
        )
    )
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    root.addHandler(handler)
    root.setLevel(level_no)
    _handler = handler
