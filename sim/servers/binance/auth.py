"""Binance request signing, checked: HMAC-SHA256 with the account's secret, hex digest.

REST (``X-MBX-APIKEY`` header): the signed text is the raw query string followed directly by the raw
form body (Binance's "totalParams"), each without its ``signature`` parameter, exactly as received:
nothing is decoded or re-encoded. ccxt signs the query of a GET/DELETE and the body of a POST.

WebSocket API: the key is the ``apiKey`` parameter; the signed text is every other parameter but
``signature`` sorted by name, as ``name=value`` joined by ``&``, booleans as ``true``/``false``,
numbers as sent (the ws-api reader keeps JSON floats as their text).

Time: ``timestamp`` (ms) must satisfy ``timestamp < now + 1000`` and ``now - timestamp <= recvWindow``,
else -1021; ``recvWindow`` defaults to 5000 ms and may not exceed 60000. No secret is ever logged,
echoed in an error or kept outside the mapping the caller passes in.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Final

from sim.servers.binance import errors

__all__ = ["sign", "verify_rest", "verify_ws"]

DEFAULT_RECV_WINDOW_MS: Final = 5_000
MAX_RECV_WINDOW_MS: Final = 60_000
FUTURE_SLACK_MS: Final = 1_000


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def verify_rest(
    api_key: str | None,
    raw_query: str,
    raw_body: str,
    params: Mapping[str, str],
    secrets: Mapping[str, str],
    now_ms: int,
) -> str:
    """Check a signed REST request (raising ``BinanceError``); return its API key. ``params`` are the
    decoded parameters of query and body together; ``secrets`` maps API keys to secrets."""
    secret = _secret_for(api_key, secrets)
    query, sig_q = _strip_signature(raw_query)
    body, sig_b = _strip_signature(raw_body)
    signature = sig_b if sig_b is not None else sig_q
    if not signature:
        raise errors.mandatory("signature")
    timestamp_ms, recv_window_ms = _times(params.get("timestamp"), params.get("recvWindow"))
    if not _same(sign(secret, query + body), signature):
        raise errors.bad_signature()
    _check_window(timestamp_ms, recv_window_ms, now_ms)
    assert api_key is not None
    return api_key


def verify_ws(params: Mapping[str, object], secrets: Mapping[str, str], now_ms: int) -> str:
    """Check a signed WebSocket API request's parameters; return its API key."""
    api_key = params.get("apiKey")
    if not isinstance(api_key, str) or not api_key:
        raise errors.mandatory("apiKey")
    secret = _secret_for(api_key, secrets)
    signature = params.get("signature")
    if not isinstance(signature, str) or not signature:
        raise errors.mandatory("signature")
    timestamp_ms, recv_window_ms = _times(params.get("timestamp"), params.get("recvWindow"))
    payload = "&".join(f"{k}={_render(params[k])}" for k in sorted(params) if k != "signature")
    if not _same(sign(secret, payload), signature):
        raise errors.bad_signature()
    _check_window(timestamp_ms, recv_window_ms, now_ms)
    return api_key


def _secret_for(api_key: str | None, secrets: Mapping[str, str]) -> str:
    if not api_key:
        raise errors.bad_api_key_format()
    secret = secrets.get(api_key)
    if secret is None:
        raise errors.rejected_api_key()
    return secret


def _strip_signature(raw: str) -> tuple[str, str | None]:
    """``raw`` without its ``signature=`` parameter, and that parameter's value (None: absent)."""
    if "signature=" not in raw:
        return raw, None
    kept: list[str] = []
    signature: str | None = None
    for part in raw.split("&"):
        if part.startswith("signature="):
            signature = part[len("signature=") :]
        else:
            kept.append(part)
    return "&".join(kept), signature


def _times(timestamp: object, recv_window: object) -> tuple[int, int]:
    ts = _as_int(timestamp)
    if ts is None:
        raise errors.mandatory("timestamp")
    if recv_window is None:
        return ts, DEFAULT_RECV_WINDOW_MS
    window = _as_int(recv_window)
    if window is None or not 0 < window <= MAX_RECV_WINDOW_MS:
        raise errors.bad_recv_window()
    return ts, window


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _check_window(timestamp_ms: int, recv_window_ms: int, now_ms: int) -> None:
    if not (timestamp_ms < now_ms + FUTURE_SLACK_MS and now_ms - timestamp_ms <= recv_window_ms):
        raise errors.outside_recv_window()


def _render(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _same(expected_hex: str, given: str) -> bool:
    return given.isascii() and hmac.compare_digest(expected_hex, given.lower())
