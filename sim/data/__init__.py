"""Recorded order-book data: Binance captures in, normalized event arrays out, and the book rebuilt.

Pipeline
--------
``load(paths)`` (``load.py``) reads each raw file (``files.py``: gzip or plain text, one message a
line, ``<local_receive_ts_ns> <raw JSON>``), parses it into rows and a message table
(``binance.py``, sans-IO, or its cache entry ``<file>.mmbot.npz`` via ``cache.py``), joins the files of
the set, and applies Binance's book-sync rules (``sync.py``): what is kept, where the book is
unknown, the gap markers. The result is a ``Recording``: ``events``, ``messages``, ``meta``
(``meta.py``: symbol, market, tick, lot, sources) and ``report`` (``report.py``: skipped lines, gaps,
snapshots, counters). ``BookReplay`` (``book.py``) rebuilds the L2 book from it; ``info``
(``info.py``) summarises it; ``store.py`` writes and reads our ``.npz`` and hftbacktest's
(``hftbacktest.py`` converts).

The arrays, for a replay engine
-------------------------------
``events`` is a 1-d array of hftbacktest's ``event_dtype`` (``EVENT_DTYPE``: ``ev`` u8, ``exch_ts``
i8, ``local_ts`` i8, ``px`` f8, ``qty`` f8, ``order_id`` u8, ``ival`` i8, ``fval`` f8), in arrival
order (``local_ts`` never decreases). ``ev & KIND_MASK`` is the kind (``DEPTH_EVENT``,
``DEPTH_CLEAR_EVENT``, ``DEPTH_SNAPSHOT_EVENT``, ``DEPTH_BBO_EVENT``, ``TRADE_EVENT``, and our
``BOOK_GAP_EVENT``), ``BUY_EVENT``/``SELL_EVENT`` the side (for trades the aggressor's). Depth,
snapshot and ticker rows carry the venue's update id in ``order_id`` (a diff's final ``u``), trades
the trade id; ``ival`` is the row's message number.

``messages`` (``MESSAGE_DTYPE``) has one row per venue message: ``kind`` (``MSG_DEPTH``,
``MSG_SNAPSHOT``, ``MSG_TRADE``, ``MSG_AGG_TRADE``, ``MSG_BBO``, ``MSG_GAP``), ``start``/``stop``
(its rows), ``exch_ts``, ``local_ts``, ``first_id``/``last_id``/``prev_id`` (Binance's ``U``/``u``/
``pu``), ``flags`` (``MSG_REPLAYED``, ``MSG_EXCH_TS_FILLED``), ``file`` and ``line``. A replay
decides once per message: apply ``events[start:stop]``, then let the strategy look. The book is
unknown before the first ``MSG_SNAPSHOT`` and from each ``MSG_GAP`` to the next ``MSG_SNAPSHOT``;
no diff rows are emitted while it is unknown.

``sim/data/events.py`` documents every field per kind.
"""

from sim.data.book import BookReplay, L2Book
from sim.data.events import (
    BOOK_GAP_EVENT,
    BUY_EVENT,
    DEPTH_BBO_EVENT,
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    EVENT_DTYPE,
    EXCH_EVENT,
    KIND_MASK,
    LOCAL_EVENT,
    MESSAGE_DTYPE,
    MSG_AGG_TRADE,
    MSG_BBO,
    MSG_DEPTH,
    MSG_EXCH_TS_FILLED,
    MSG_GAP,
    MSG_OTHER,
    MSG_REPLAYED,
    MSG_SNAPSHOT,
    MSG_TRADE,
    SELL_EVENT,
    TRADE_EVENT,
)
from sim.data.info import format_info, info, iso_utc
from sim.data.load import MARKETS, load
from sim.data.meta import Meta, Recording
from sim.data.report import DataError, FileReport, Gap, ImportReport, Problem, SnapshotUse
from sim.data.store import load_npz, save_hftbacktest, save_normalized

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
    "MARKETS",
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
    "BookReplay",
    "DataError",
    "FileReport",
    "Gap",
    "ImportReport",
    "L2Book",
    "Meta",
    "Problem",
    "Recording",
    "SnapshotUse",
    "format_info",
    "info",
    "iso_utc",
    "load",
    "load_npz",
    "save_hftbacktest",
    "save_normalized",
]
