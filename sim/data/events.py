"""The normalized event layout: hftbacktest's event rows, plus a message table that groups them.

Events
------
``EVENT_DTYPE`` is hftbacktest's ``event_dtype``, field for field and aligned the same way (64 bytes
a row), and the flag and kind constants below are its values; both are copied from
``py-hftbacktest/hftbacktest/types.py`` (github.com/nkaz001/hftbacktest, commit 5f3ec40b, December
2025; ``hftbacktest/src/types.rs`` has the same numbers). ``ev`` is the event kind in its low 8 bits
(``ev & KIND_MASK``) or'ed with flags: ``EXCH_EVENT`` and ``LOCAL_EVENT`` (the row is valid for the
exchange side at ``exch_ts`` / for the local side at ``local_ts``), and ``BUY_EVENT`` or
``SELL_EVENT`` (bid or ask side for depth kinds; the aggressor's side for trades).

How our rows use the fields (what hftbacktest leaves unused for these kinds carries our extras):

============================  ===========================================================================
kind (``ev & KIND_MASK``)     ``px``, ``qty``; ``order_id``; ``ival``; ``fval``
============================  ===========================================================================
``DEPTH_EVENT``               a level's price and new absolute quantity (0 deletes); ``order_id`` is the
                              venue's final update id ``u`` of the diff message; ``ival`` the message
``DEPTH_CLEAR_EVENT``         sided: clear that side from the best price through ``px`` (the snapshot's
                              worst price), as hftbacktest does before a snapshot; ``order_id`` is the
                              snapshot's ``lastUpdateId``
``DEPTH_SNAPSHOT_EVENT``      a snapshot level; ``order_id`` is the snapshot's ``lastUpdateId``
``DEPTH_BBO_EVENT``           one side of a ``bookTicker`` (best price and its quantity), one row per
                              side; ``order_id`` is the ticker's update id ``u``
``TRADE_EVENT``               price and quantity of a trade, side = aggressor (Binance ``m`` true means
                              the buyer was the maker, so a sell); ``order_id`` is the trade id (the
                              aggregate trade id for ``aggTrade``)
``BOOK_GAP_EVENT`` (ours)     the book is unknown from here until the next snapshot (a sequence break);
                              ``px`` and ``qty`` are 0; ``order_id`` is the ``u`` of the diff that broke
                              the chain. Exported to hftbacktest as an unsided ``DEPTH_CLEAR_EVENT``
                              (hftbacktest then clears its whole book), imported back the same way
============================  ===========================================================================

For every row ``ival`` is the number of its venue message (0, 1, 2 ... in row order) and ``fval`` is
0. Rows of one message are contiguous. In our own arrays every row carries both ``EXCH_EVENT`` and
``LOCAL_EVENT`` and the rows are in arrival (``local_ts``) order, never decreasing; the exchange-order
split that hftbacktest wants is made on export (``sim/data/hftbacktest.py``). Timestamps are integer
nanoseconds: ``local_ts`` is when the recorder received the message (its clock, not the venue's),
``exch_ts`` the venue's transaction time ``T``, else its event time ``E``; a message with neither (a
Binance spot ``bookTicker`` or REST snapshot) takes the ``exch_ts`` of the last message before it that
had one, and its message is flagged ``MSG_EXCH_TS_FILLED``.

Messages
--------
``MESSAGE_DTYPE`` has one row per venue message that produced rows, and ``messages[i]`` describes
the rows whose ``ival == i``, ``events[start:stop]``. ``kind`` is a ``MSG_*`` code; ``first_id``,
``last_id`` and ``prev_id`` are Binance's ``U``, ``u`` and ``pu`` for a diff (``lastUpdateId`` for a
snapshot, ``u`` for a ticker, the trade id for a trade; -1 where the venue gives none); ``file`` and
``line`` say where it came from (``line`` 0 for a row we made, such as a gap marker).

The strategy decides once per message: iterate ``messages``, apply ``events[start:stop]``, decide.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "BOOK_GAP_EVENT",
    "BUY_EVENT",
    "DEPTH_BBO_EVENT",
    "DEPTH_CLEAR_EVENT",
    "DEPTH_EVENT",
    "DEPTH_SNAPSHOT_EVENT",
    "EVENT_DTYPE",
    "EXCH_EVENT",
    "KIND_MASK",
    "LOCAL_EVENT",
    "MESSAGE_DTYPE",
    "MSG_AGG_TRADE",
    "MSG_BBO",
    "MSG_DEPTH",
    "MSG_EXCH_TS_FILLED",
    "MSG_GAP",
    "MSG_OTHER",
    "MSG_REPLAYED",
    "MSG_SNAPSHOT",
    "MSG_TRADE",
    "SELL_EVENT",
    "TRADE_EVENT",
    "EventArray",
    "MessageArray",
    "event_kind_name",
    "message_kind_name",
]

# hftbacktest's event kinds and flags (py-hftbacktest/hftbacktest/types.py).
DEPTH_EVENT: Final = 1
TRADE_EVENT: Final = 2
DEPTH_CLEAR_EVENT: Final = 3
DEPTH_SNAPSHOT_EVENT: Final = 4
DEPTH_BBO_EVENT: Final = 5
EXCH_EVENT: Final = 1 << 31
LOCAL_EVENT: Final = 1 << 30
BUY_EVENT: Final = 1 << 29
SELL_EVENT: Final = 1 << 28
KIND_MASK: Final = 0xFF
"""hftbacktest reads the kind as ``ev & 0xff`` (``Event::is`` in hftbacktest/src/types.rs)."""

BOOK_GAP_EVENT: Final = 200
"""Ours: the book is unknown until the next snapshot. hftbacktest uses no kind near 200 (its
converters' custom kinds are 100-104), and its backtest ignores kinds it does not know."""

EVENT_DTYPE: Final = np.dtype(
    [
        ("ev", "u8"),
        ("exch_ts", "i8"),
        ("local_ts", "i8"),
        ("px", "f8"),
        ("qty", "f8"),
        ("order_id", "u8"),
        ("ival", "i8"),
        ("fval", "f8"),
    ],
    align=True,
)

# Message kinds (ours).
MSG_DEPTH: Final = 1
MSG_SNAPSHOT: Final = 2
MSG_TRADE: Final = 3
MSG_AGG_TRADE: Final = 4
MSG_BBO: Final = 5
MSG_GAP: Final = 6
MSG_OTHER: Final = 7
"""Rows of a kind we do not interpret (e.g. hftbacktest's custom kinds in an imported file)."""

# Message flags.
MSG_EXCH_TS_FILLED: Final = 1
"""The venue gave no timestamp; ``exch_ts`` is the previous timestamped message's."""
MSG_REPLAYED: Final = 2
"""A diff received before the snapshot that synchronised the book, applied right after that
snapshot; its ``local_ts`` is the snapshot's (when it became usable), its ``exch_ts`` its own."""

MESSAGE_DTYPE: Final = np.dtype(
    [
        ("kind", "u1"),
        ("flags", "u1"),
        ("file", "u2"),
        ("line", "i8"),
        ("start", "i8"),
        ("stop", "i8"),
        ("exch_ts", "i8"),
        ("local_ts", "i8"),
        ("first_id", "i8"),
        ("last_id", "i8"),
        ("prev_id", "i8"),
    ]
)

EventArray = npt.NDArray[Any]
"""A 1-d array of ``EVENT_DTYPE``."""
MessageArray = npt.NDArray[Any]
"""A 1-d array of ``MESSAGE_DTYPE``."""

_EVENT_KIND_NAMES: Final = {
    DEPTH_EVENT: "depth",
    TRADE_EVENT: "trade",
    DEPTH_CLEAR_EVENT: "depth_clear",
    DEPTH_SNAPSHOT_EVENT: "depth_snapshot",
    DEPTH_BBO_EVENT: "bbo",
    BOOK_GAP_EVENT: "book_gap",
}
_MESSAGE_KIND_NAMES: Final = {
    MSG_DEPTH: "depth",
    MSG_SNAPSHOT: "snapshot",
    MSG_TRADE: "trade",
    MSG_AGG_TRADE: "agg_trade",
    MSG_BBO: "bbo",
    MSG_GAP: "gap",
    MSG_OTHER: "other",
}


def event_kind_name(kind: int) -> str:
    """``depth``, ``trade`` ... for a kind code (``ev & KIND_MASK``); ``kind_<n>`` for others."""
    return _EVENT_KIND_NAMES.get(kind, f"kind_{kind}")


def message_kind_name(kind: int) -> str:
    return _MESSAGE_KIND_NAMES.get(kind, f"kind_{kind}")
