"""Our event rows to and from hftbacktest's feed format (pure; ``sim/data/store.py`` does the files).

hftbacktest reads a structured array of its ``event_dtype`` (ours, see ``sim/data/events.py``) from
an ``.npz`` under the key ``data`` (``np.savez_compressed(path, data=events)`` in its converters,
e.g. ``py-hftbacktest/hftbacktest/data/utils/binancefutures.py``). It processes the rows flagged
``EXCH_EVENT`` in ``exch_ts`` order on the exchange side and those flagged ``LOCAL_EVENT`` in
``local_ts`` order on the local side, so a row whose exchange time runs behind an earlier row's is
split in two (its ``correct_event_order``).

Export:
- our gap marker becomes an unsided ``DEPTH_CLEAR_EVENT``: hftbacktest clears its whole book and, as
  we emit no diffs while the book is unknown, it stays empty until the next snapshot;
- the local clock is shifted, as hftbacktest's ``correct_local_timestamp`` does, when any row was
  received before the venue stamped it (a recorder clock behind the venue's): every ``local_ts`` is
  raised by the most negative feed latency plus ``base_latency_ns``; ``correct_latency=False`` keeps
  the recorded times;
- the rows stay in our (local) order; a row whose ``exch_ts`` is behind an earlier row's keeps
  ``LOCAL_EVENT`` only and an ``EXCH_EVENT``-only copy of it goes where its exchange time belongs.
  Every other row carries both flags. ``order_id`` and ``ival`` keep our update ids and message
  numbers: hftbacktest's L2 processors do not read them for these kinds.

Import takes the ``LOCAL_EVENT`` rows in file order (each event exactly once, in local order), maps
an unsided ``DEPTH_CLEAR_EVENT`` back to our gap marker, and rebuilds the message table: from
``ival`` when it numbers messages the way we write it, else by grouping consecutive rows of one kind
and one timestamp pair (every trade is its own message).
"""

from __future__ import annotations

from typing import Final

import numpy as np

from sim.data.events import (
    BOOK_GAP_EVENT,
    BUY_EVENT,
    DEPTH_BBO_EVENT,
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    EXCH_EVENT,
    KIND_MASK,
    LOCAL_EVENT,
    MESSAGE_DTYPE,
    MSG_BBO,
    MSG_DEPTH,
    MSG_GAP,
    MSG_OTHER,
    MSG_SNAPSHOT,
    MSG_TRADE,
    SELL_EVENT,
    TRADE_EVENT,
    EventArray,
    MessageArray,
)

__all__ = ["from_hftbacktest", "messages_of", "to_hftbacktest"]

_BOTH: Final = np.uint64(EXCH_EVENT | LOCAL_EVENT)
_SIDES: Final = np.uint64(BUY_EVENT | SELL_EVENT)
_CLASS: Final = {
    DEPTH_EVENT: MSG_DEPTH,
    DEPTH_CLEAR_EVENT: MSG_SNAPSHOT,
    DEPTH_SNAPSHOT_EVENT: MSG_SNAPSHOT,
    DEPTH_BBO_EVENT: MSG_BBO,
    TRADE_EVENT: MSG_TRADE,
    BOOK_GAP_EVENT: MSG_GAP,
}


def to_hftbacktest(
    events: EventArray, *, correct_latency: bool = True, base_latency_ns: int = 0
) -> EventArray:
    """hftbacktest feed rows for our events (see the module docstring for what changes)."""
    rows = events.copy()
    kind = rows["ev"] & np.uint64(KIND_MASK)
    gap = kind == BOOK_GAP_EVENT
    rows["ev"][gap] = DEPTH_CLEAR_EVENT
    rows["px"][gap] = 0.0
    rows["qty"][gap] = 0.0
    rows["ev"] &= ~_BOTH
    if correct_latency and len(rows):
        worst = int((rows["local_ts"] - rows["exch_ts"]).min())
        if worst < 0:
            rows["local_ts"] += -worst + base_latency_ns
    return _split_by_clock(rows)


def _split_by_clock(rows: EventArray) -> EventArray:
    """Flag rows so that the EXCH rows are in ``exch_ts`` order and the LOCAL rows (all of them, in
    the order given) in ``local_ts`` order, duplicating only the rows that need it."""
    exch = rows["exch_ts"]
    n = len(rows)
    in_order = exch == np.maximum.accumulate(exch) if n else np.zeros(0, bool)
    late = np.flatnonzero(~in_order)
    ordered = np.flatnonzero(in_order)
    out = np.concatenate([rows, rows[late]])
    out["ev"][:n][in_order] |= _BOTH
    out["ev"][:n][~in_order] |= np.uint64(LOCAL_EVENT)
    out["ev"][n:] |= np.uint64(EXCH_EVENT)
    # A late row's exchange copy goes right after the last in-order row not later than it.
    after = np.searchsorted(exch[ordered], exch[late], side="right") - 1
    anchor = np.concatenate([np.arange(n), np.where(after >= 0, ordered[np.maximum(after, 0)], -1)])
    copy = np.concatenate([np.zeros(n, np.int64), np.ones(len(late), np.int64)])
    copy_exch = np.concatenate([np.zeros(n, np.int64), exch[late]])
    tie = np.concatenate([np.arange(n), late])
    return out[np.lexsort((tie, copy_exch, copy, anchor))]


def from_hftbacktest(data: EventArray) -> tuple[EventArray, MessageArray]:
    """Our rows and message table from an hftbacktest feed array."""
    rows = data[(data["ev"] & np.uint64(LOCAL_EVENT)) != 0].copy()
    if len(rows) and np.any(np.diff(rows["local_ts"]) < 0):
        rows = rows[np.argsort(rows["local_ts"], kind="stable")]
    kind = rows["ev"] & np.uint64(KIND_MASK)
    unsided_clear = (kind == DEPTH_CLEAR_EVENT) & ((rows["ev"] & _SIDES) == 0)
    rows["ev"][unsided_clear] = BOOK_GAP_EVENT
    rows["ev"] |= _BOTH
    messages = messages_of(rows)
    rows["ival"] = np.repeat(np.arange(len(messages)), messages["stop"] - messages["start"])
    return rows, messages


def messages_of(rows: EventArray) -> MessageArray:
    """The message table of rows whose ``ival`` numbers messages 0, 1, 2 ... (ours); otherwise
    consecutive rows of one message class and one (exch_ts, local_ts) are one message, except that
    every trade and every gap marker stands alone."""
    n = len(rows)
    if n == 0:
        return np.zeros(0, MESSAGE_DTYPE)
    kind = (rows["ev"] & np.uint64(KIND_MASK)).astype(np.int64)
    cls = np.full(n, MSG_OTHER, np.uint8)
    for code, message_kind in _CLASS.items():
        cls[kind == code] = message_kind
    ival = rows["ival"]
    step = np.diff(ival)
    if ival[0] == 0 and ival[-1] > 0 and np.all((step == 0) | (step == 1)):
        new = np.concatenate([[True], step == 1])
    else:
        new = np.ones(n, bool)
        new[1:] = (
            (cls[1:] != cls[:-1])
            | (rows["exch_ts"][1:] != rows["exch_ts"][:-1])
            | (rows["local_ts"][1:] != rows["local_ts"][:-1])
            | (cls[1:] == MSG_TRADE)
            | (cls[1:] == MSG_GAP)
        )
    starts = np.flatnonzero(new)
    messages = np.zeros(len(starts), MESSAGE_DTYPE)
    messages["start"] = starts
    messages["stop"] = np.concatenate([starts[1:], [n]])
    messages["kind"] = cls[starts]
    messages["exch_ts"] = rows["exch_ts"][starts]
    messages["local_ts"] = rows["local_ts"][starts]
    ids = rows["order_id"][starts].astype(np.int64)
    messages["first_id"] = ids
    messages["last_id"] = ids
    messages["prev_id"] = -1
    return messages
