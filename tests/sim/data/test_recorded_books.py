"""The rebuilt book against the venue's own top of book, on the recorded Binance captures.

Truth comes from the data: Binance's ``bookTicker`` stream pushes every change of the best bid or
ask (price or quantity) as it happens, stamped with the book's update id ``u``. So the top of the
book at update id X is the latest ticker with ``u <= X``: had the top changed after that ticker and
by X, a later ticker with an id up to X would say so. After a diff message ``[U, u]`` the book is at
id ``u``, hence the comparison: the rebuilt best bid and ask (price and quantity) after each diff
equal the latest ticker whose id is not beyond the diff's ``u``. When that ticker's id lies inside
``[U, u]`` the top changed during the diff's 100 ms; when it is older, the top did not change and the
comparison is the same. Both cases occur (counted below), on every diff the book was known for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.data import (
    BUY_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    KIND_MASK,
    MSG_BBO,
    MSG_DEPTH,
    BookReplay,
    Recording,
)

Top = tuple[tuple[int, int] | None, tuple[int, int] | None]


@dataclass
class Mismatch:
    message: int
    update_id: int
    ticker_id: int
    rebuilt: Top
    ticker: Top


@dataclass
class Comparison:
    compared: int
    ticker_inside_diff: int
    mismatches: list[Mismatch]
    files: set[int]
    """The source files (indexes into ``meta.sources``) whose diffs were compared."""


def tickers(recording: Recording) -> tuple[np.ndarray, np.ndarray]:
    """Every ticker's update id (sorted) and its (bid ticks, bid lots, ask ticks, ask lots)."""
    messages, events, meta = recording.messages, recording.events, recording.meta
    index = np.flatnonzero(messages["kind"] == MSG_BBO)
    index = index[np.argsort(messages["last_id"][index], kind="stable")]
    rows = messages["start"][index]
    ticks = lambda r: np.rint(events["px"][r] / meta.tick).astype(np.int64)  # noqa: E731
    lots = lambda r: np.rint(events["qty"][r] / meta.lot).astype(np.int64)  # noqa: E731
    tops = np.stack([ticks(rows), lots(rows), ticks(rows + 1), lots(rows + 1)], axis=1)
    return messages["last_id"][index], tops


def compare_with_tickers(recording: Recording) -> Comparison:
    ids, tops = tickers(recording)
    messages = recording.messages
    kinds, first, last = (
        messages["kind"].tolist(),
        messages["first_id"].tolist(),
        messages["last_id"].tolist(),
    )
    result = Comparison(0, 0, [], set())
    files = messages["file"].tolist()
    for index, book in BookReplay(recording).books():
        if kinds[index] != MSG_DEPTH:
            continue
        assert book.known, f"a diff was emitted while the book was unknown (message {index})"
        truth = int(np.searchsorted(ids, last[index], side="right")) - 1
        if truth < 0:
            continue
        result.compared += 1
        result.files.add(files[index])
        result.ticker_inside_diff += int(first[index] <= ids[truth] <= last[index])
        bid_p, bid_q, ask_p, ask_q = tops[truth].tolist()
        expected: Top = ((bid_p, bid_q), (ask_p, ask_q))
        rebuilt: Top = (book.best_bid(), book.best_ask())
        if rebuilt != expected:
            result.mismatches.append(Mismatch(index, last[index], int(ids[truth]), rebuilt, expected))
    return result


def level_never_sent(recording: Recording, mismatch: Mismatch) -> bool:
    """The ticker's best level is absent from the rebuilt book because the diff stream never carried
    it: the next diff row for that price and side deletes it, though no diff had set it."""
    events, meta = recording.events, recording.meta
    after = int(recording.messages["stop"][mismatch.message])
    depth = events[after:][(events["ev"][after:] & np.uint64(KIND_MASK)) == DEPTH_EVENT]
    prices = np.rint(depth["px"] / meta.tick).astype(np.int64)
    bids = (depth["ev"] & np.uint64(BUY_EVENT)) != 0
    levels = [DEPTH_EVENT, DEPTH_SNAPSHOT_EVENT]
    explained = True
    for side, (got, want) in enumerate(zip(mismatch.rebuilt, mismatch.ticker, strict=True)):
        if got == want:
            continue
        assert want is not None
        price = want[0]
        rows = np.flatnonzero((prices == price) & (bids == (side == 0)))
        explained &= bool(len(rows)) and float(depth["qty"][rows[0]]) == 0.0
        earlier = events[:after][np.isin(events["ev"][:after] & np.uint64(KIND_MASK), levels)]
        explained &= not np.any(np.rint(earlier["px"] / meta.tick).astype(np.int64) == price)
    return explained


def test_spot_book_equals_the_book_ticker_after_every_diff(spot: Recording) -> None:
    """Over both spot files (6,493 diffs, joined), the rebuilt top of book equals Binance's bookTicker
    after every diff, except twice, where the diff stream itself never carried the ticker's best
    level (a later diff deletes a price no diff had set); nothing else differs."""
    result = compare_with_tickers(spot)
    assert result.compared == 6493 and result.files == {0, 1}
    assert result.ticker_inside_diff > 5000  # the top moved during most diffs: the comparison bites
    unexplained = [m for m in result.mismatches if not level_never_sent(spot, m)]
    assert unexplained == []
    assert sorted(m.update_id for m in result.mismatches) == [50093478174, 50093480542]


def test_usdm_book_equals_the_book_ticker_after_every_diff(usdm: Recording) -> None:
    """On USD-M (``pu`` chaining, 0 ms diffs) the rebuilt top of book equals the latest bookTicker not
    beyond each diff's ``u`` after every one of its 6,547 diffs, without exception."""
    result = compare_with_tickers(usdm)
    assert result.compared == 6547
    assert result.ticker_inside_diff > 5000
    assert result.mismatches == []
