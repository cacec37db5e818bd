"""Replaying a recorded L2 book as a venue, in virtual time, with our orders queueing in it (sans-IO).

The parts: ``tape.py`` prepares a ``sim.data`` recording once (which messages play, the venue's and
the strategy's clocks, rows sorted for the book); ``depth.py`` holds one side of the book;
``queue.py`` has the queue models; ``orders.py`` our orders, the fill rules, fees and balances;
``venue.py`` is the ``ReplayVenue`` a driver talks to, as it talks to ``SimExchange``.

Assumptions, all of them:

- **The market does not see us.** The recorded book and trades are replayed as they happened; our
  orders are not in them, our fills take nothing from them and add no public trade.
- **Book.** Diffs, snapshots and gap markers make the L2 book; ``bookTicker`` rows are not used (the
  live bot decides on the order-book stream). The book is unknown before the first snapshot and
  from a gap to the next snapshot: no ``BookSnapshot`` is sent then, and nothing fills.
- **Queue.** An order joins the back of its level. ``Conservative`` (hftbacktest's risk-averse
  model): only trades move it forward; ``Probabilistic`` (hftbacktest's power and log models):
  decreases of the level move it forward by the front's estimated share (``queue.py``).
- **Fills** (at our price, as maker): a trade at our price, by what it takes beyond the quantity
  ahead (partial fills); a trade beyond our price, fully; the opposite best reaching our price
  after a diff, fully. An order arriving marketable takes the recorded depth as taker (POST_ONLY:
  rejected ``post_only_would_cross``; IOC and MARKET remainders cancelled), as ``SimExchange``.
- **Latency.** The venue applies a message at its exchange time, the strategy sees it at its
  corrected receive time ("recorded") or a constant after; orders reach the venue after the entry
  latency and its answers come back after the response latency, each a constant or "recorded" (the
  latest recorded feed latency).
- **Fees** maker and taker, in bps of notional; balances per account and the funds open orders lock,
  as ``SimExchange`` (``sim.accounts``).
- **Determinism.** No randomness anywhere: the same recording and parameters give the same events.

Not modelled: our market impact, hidden liquidity, queue priority lost on an amend (there are no
amends), self-trade prevention, latency jitter, rate limits, outages of the order entry.
"""

from sim.replay.events import BookKnown, BookUnknown
from sim.replay.queue import (
    Conservative,
    Probabilistic,
    QueueModel,
    QueuePosition,
    log,
    log2,
    power,
    power2,
    power3,
    queue_model,
)
from sim.replay.tape import Tape
from sim.replay.venue import Event, ReplayConfig, ReplayVenue

__all__ = [
    "BookKnown",
    "BookUnknown",
    "Conservative",
    "Event",
    "Probabilistic",
    "QueueModel",
    "QueuePosition",
    "ReplayConfig",
    "ReplayVenue",
    "Tape",
    "log",
    "log2",
    "power",
    "power2",
    "power3",
    "queue_model",
]
