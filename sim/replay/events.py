"""The replay venue's own events, beside the ``sim.events`` ones it shares with ``SimExchange``.

A recording can lose the book: a sequence break in the venue's diffs (``sim.data``'s gap marker)
leaves it unknown until the next snapshot. The replay venue says so with ``BookUnknown`` when the
gap reaches the venue, and ``BookKnown`` when a snapshot brings the book back (the ``BookSnapshot``
of that snapshot follows). A live venue adapter says the same with its connection events; the
bot's translation maps these two onto them. Before the first snapshot there is no book and neither
event: nothing that looks like a book is sent until the first snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BookKnown", "BookUnknown"]


@dataclass(frozen=True, slots=True)
class BookUnknown:
    """The book is unknown from ``exchange_ts_ns`` on; no fills happen and no book is sent until
    ``BookKnown``."""

    ts_ns: int
    exchange_ts_ns: int


@dataclass(frozen=True, slots=True)
class BookKnown:
    """A snapshot made the book known again; its ``BookSnapshot`` follows."""

    ts_ns: int
    exchange_ts_ns: int
