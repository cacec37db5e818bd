"""What the gRPC gateway's stream messages must be, and the book rebuilt from them (pure).

``Sequence``: per subscription, the first message is the snapshot with seq 1; then every message
has the subscription's session id and the previous seq plus one. Anything else is ``StreamBroken``:
the subscriber gives the subscription up and subscribes again. ``Sessions`` remembers the gateway
session each stream last subscribed in (a new one means the gateway restarted).

``LocalBook``: the levels of a snapshot, then each diff applied (0 lots: the level is gone).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["LocalBook", "Sequence", "StreamBroken"]


class StreamBroken(Exception):
    """A subscription that cannot go on (a gap, a new session, a message that does not fit)."""


class Sequence:
    def __init__(self) -> None:
        self.session: str | None = None  # the session of the latest subscription's snapshot
        self.changed = False  # the latest snapshot came from a new session (the gateway restarted)
        self._seq = 0  # the last seq of this subscription (0: none yet)

    def restart(self) -> None:
        """A new subscription: its first message must be a snapshot."""
        self._seq = 0

    def check(self, message: Any) -> None:
        """``message`` (a MarketMessage or OrderMessage) follows the previous one, or StreamBroken."""
        seq, session = int(message.seq), str(message.session_id)
        if self._seq == 0:
            if seq != 1 or message.WhichOneof("body") != "snapshot":
                raise StreamBroken(f"the subscription began with seq {seq}, not a snapshot")
            self.changed = self.session is not None and session != self.session
            self.session = session
        elif session != self.session:
            raise StreamBroken(f"new gateway session {session}")
        elif seq != self._seq + 1:
            raise StreamBroken(f"sequence gap: {self._seq} then {seq}")
        self._seq = seq


class LocalBook:
    def __init__(self) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}

    def reset(self, bids: Iterable[tuple[int, int]], asks: Iterable[tuple[int, int]]) -> None:
        self.bids, self.asks = dict(bids), dict(asks)

    def apply(self, bids: Iterable[tuple[int, int]], asks: Iterable[tuple[int, int]]) -> None:
        for side, rows in ((self.bids, bids), (self.asks, asks)):
            for price, qty in rows:
                if qty:
                    side[price] = qty
                else:
                    side.pop(price, None)

    def top(self, n: int) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
        """The best ``n`` levels per side, best first."""
        bids = tuple((p, self.bids[p]) for p in sorted(self.bids, reverse=True)[:n])
        asks = tuple((p, self.asks[p]) for p in sorted(self.asks)[:n])
        return bids, asks
