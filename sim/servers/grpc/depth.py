"""One market subscription's view of a symbol's published book, and the diffs that keep it in step. No
IO.

The published book is the simulator's last ``BookSnapshot`` (``snapshot_levels`` per side, every
100 ms). A subscription keeps the top ``depth`` levels of each side: its first message is that view
(``snapshot``); each later published book becomes one diff of the levels that differ from the view
(``diff``): a new or changed level with its quantity, a level gone, or pushed below ``depth``, with
quantity 0. Applying the diffs in order to the snapshot gives the published book's top ``depth``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sim.servers.grpc.wire as wire
from sim.events import Level
from sim.servers.grpc.proto import venue_pb2 as pb

__all__ = ["DepthView"]


class DepthView:
    def __init__(self, depth: int) -> None:
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.depth = depth
        self._bids: dict[int, int] = {}
        self._asks: dict[int, int] = {}

    def snapshot(self, bids: Sequence[Level], asks: Sequence[Level]) -> pb.BookSnapshot:
        """The view of this published book (best first), which becomes the view diffs start from."""
        top_bids, top_asks = bids[: self.depth], asks[: self.depth]
        self._bids, self._asks = dict(top_bids), dict(top_asks)
        return pb.BookSnapshot(bids=wire.levels(top_bids), asks=wire.levels(top_asks))

    def diff(self, bids: Sequence[Level], asks: Sequence[Level]) -> pb.BookDiff | None:
        """The changes from the view to this published book (None: nothing changed in the view)."""
        new_bids, new_asks = dict(bids[: self.depth]), dict(asks[: self.depth])
        changed_bids = _changes(self._bids, new_bids, descending=True)
        changed_asks = _changes(self._asks, new_asks, descending=False)
        if not changed_bids and not changed_asks:
            return None
        self._bids, self._asks = new_bids, new_asks
        return pb.BookDiff(bids=wire.levels(changed_bids), asks=wire.levels(changed_asks))


def _changes(old: Mapping[int, int], new: Mapping[int, int], *, descending: bool) -> list[Level]:
    """The levels that differ from ``old`` to ``new``, best first; a level gone is quantity 0."""
    changed = {p: 0 for p in old if p not in new}
    changed.update((p, q) for p, q in new.items() if old.get(p) != q)
    return sorted(changed.items(), reverse=descending)
