"""Binance's error answers: the HTTP status, the numeric code and the exact message.

ccxt maps an error by its message first and its code second (see docs/ccxt_binance_spot.md
section 4), so the messages here are Binance's, word for word.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["BinanceError"]

LEGAL_NUMBER: Final = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"


class BinanceError(Exception):
    """A refusal as Binance words it; ``retry_after_s`` becomes a ``Retry-After`` header."""

    def __init__(self, code: int, msg: str, status: int = 400, retry_after_s: int | None = None) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status
        self.retry_after_s = retry_after_s

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "msg": self.msg}


def unknown() -> BinanceError:
    return BinanceError(-1000, "An unknown error occurred while processing the request.")


def too_many_requests(retry_after_s: int) -> BinanceError:
    msg = (
        "Too many requests; current limit of IP(127.0.0.1) is 6000 requests per minute. "
        "Please use WebSocket Streams for live updates to avoid polling the API."
    )
    return BinanceError(-1003, msg, 429, retry_after_s)


def banned(until_ms: int, retry_after_s: int) -> BinanceError:
    msg = (
        f"Way too many requests; IP(127.0.0.1) banned until {until_ms}. "
        "Please use WebSocket Streams for live updates to avoid bans."
    )
    return BinanceError(-1003, msg, 418, retry_after_s)


def outside_recv_window() -> BinanceError:
    return BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")


def bad_signature() -> BinanceError:
    return BinanceError(-1022, "Signature for this request is not valid.")


def illegal_number(name: str) -> BinanceError:
    return BinanceError(
        -1100, f"Illegal characters found in parameter '{name}'; legal range is '{LEGAL_NUMBER}'."
    )


def illegal_value(name: str) -> BinanceError:
    return BinanceError(-1100, f"Illegal characters found in parameter '{name}'.")


def duplicate_parameter() -> BinanceError:
    return BinanceError(-1101, "Duplicate values for a parameter detected.")


def mandatory(name: str) -> BinanceError:
    return BinanceError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def invalid_tif() -> BinanceError:
    return BinanceError(-1115, "Invalid timeInForce.")


def invalid_order_type() -> BinanceError:
    return BinanceError(-1116, "Invalid orderType.")


def invalid_side() -> BinanceError:
    return BinanceError(-1117, "Invalid side.")


def invalid_symbol() -> BinanceError:
    return BinanceError(-1121, "Invalid symbol.")


def window_too_long() -> BinanceError:
    return BinanceError(-1127, "More than 24 hours between startTime and endTime.")


def bad_recv_window() -> BinanceError:
    return BinanceError(-1131, "recvWindow must be less than 60000")


def filter_failure(name: str) -> BinanceError:
    """``name``: LOT_SIZE, PRICE_FILTER or NOTIONAL."""
    return BinanceError(-1013, f"Filter failure: {name}")


def would_take() -> BinanceError:
    return BinanceError(-2010, "Order would immediately match and take.")


def duplicate_order() -> BinanceError:
    return BinanceError(-2010, "Duplicate order sent.")


def insufficient_balance() -> BinanceError:
    return BinanceError(-2010, "Account has insufficient balance for requested action.")


def unknown_order() -> BinanceError:
    return BinanceError(-2011, "Unknown order sent.")


def no_such_order() -> BinanceError:
    return BinanceError(-2013, "Order does not exist.")


def bad_api_key_format() -> BinanceError:
    return BinanceError(-2014, "API-key format invalid.", 401)


def rejected_api_key() -> BinanceError:
    return BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
