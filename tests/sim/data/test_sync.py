"""Binance's book-sync rules on hand-made sequences: which diffs apply, gaps, resyncs, and the
difference between spot (``U``/``u`` chain) and USD-M (``pu`` chain)."""

from __future__ import annotations

import numpy as np

from sim.data import (
    BOOK_GAP_EVENT,
    KIND_MASK,
    MSG_BBO,
    MSG_DEPTH,
    MSG_GAP,
    MSG_REPLAYED,
    MSG_SNAPSHOT,
    MSG_TRADE,
)
from sim.data.sync import Synced, synchronize
from tests.sim.data.helpers import line, parse, snapshot, spot_diff, ticker, trade, usdm_diff, wrapped

T = 1_723_161_254_000_000_000
MS = 1_000_000
BOOK = ([("100.00", "1.0")], [("100.01", "1.0")])


def sync(lines: list[bytes], market: str = "spot") -> Synced:
    return synchronize([parse(lines)], market)


def kinds(synced: Synced) -> list[tuple[int, int]]:
    """(message kind, last update id) of the output messages."""
    return [(int(k), int(u)) for k, u in synced.messages[["kind", "last_id"]].tolist()]


def test_spot_drops_covered_diffs_and_the_first_applied_one_straddles_the_snapshot() -> None:
    """Diffs with ``u <= L`` are dropped; ``U <= L+1 <= u`` applies (replayed after the snapshot,
    stamped with its receive time); then ``U == previous u + 1`` chains."""
    out = sync(
        [
            spot_diff(T, 90, 95),
            spot_diff(T + MS, 96, 100),  # u == L: covered by the snapshot
            spot_diff(T + 2 * MS, 101, 104),  # U == L + 1: the first applied
            snapshot(T + 3 * MS, 100, *BOOK),
            spot_diff(T + 4 * MS, 105, 107),
        ]
    )
    assert kinds(out) == [(MSG_SNAPSHOT, 100), (MSG_DEPTH, 104), (MSG_DEPTH, 107)]
    replayed = out.messages[1]
    assert replayed["flags"] & MSG_REPLAYED and replayed["local_ts"] == T + 3 * MS
    assert replayed["exch_ts"] == (T + 2 * MS) // MS * MS  # its own venue time
    assert out.counters == {"diffs_applied": 1, "diffs_replayed": 1, "diffs_dropped_stale": 2,
                            "diffs_dropped_unknown": 0, "local_ts_clamped": 0}  # fmt: skip
    assert out.gaps == [] and [s.outcome for s in out.snapshots] == ["applied"]


def test_a_spot_sequence_break_emits_a_gap_and_the_book_is_unknown_until_a_new_snapshot() -> None:
    """A diff that does not start at ``u + 1`` is a break: a gap marker at its time, its diffs and
    later ones buffered; the next snapshot catches up from the buffer; trades go on meanwhile."""
    out = sync(
        [
            snapshot(T, 100, *BOOK),
            spot_diff(T + MS, 101, 102),
            spot_diff(T + 2 * MS, 105, 106),  # 103..104 are missing
            trade(T + 3 * MS, 1, "100.00", "0.5", buyer_is_maker=True),
            spot_diff(T + 4 * MS, 107, 110),
            spot_diff(T + 5 * MS, 111, 112),
            snapshot(T + 6 * MS, 109, *BOOK),
            spot_diff(T + 7 * MS, 113, 114),
        ]
    )
    assert kinds(out) == [
        (MSG_SNAPSHOT, 100), (MSG_DEPTH, 102), (MSG_GAP, 106), (MSG_TRADE, 1),
        (MSG_SNAPSHOT, 109), (MSG_DEPTH, 110), (MSG_DEPTH, 112), (MSG_DEPTH, 114),
    ]  # fmt: skip
    gap_rows = out.events[(out.events["ev"] & np.uint64(KIND_MASK)) == BOOK_GAP_EVENT]
    assert len(gap_rows) == 1 and gap_rows["local_ts"][0] == T + 2 * MS
    [gap] = out.gaps
    assert (gap.local_ts, gap.after_id, gap.first_id, gap.last_id, gap.line) == (T + 2 * MS, 102, 105, 106, 3)
    assert gap.resynced_local_ts == T + 6 * MS
    assert out.counters["diffs_dropped_stale"] == 1  # 105..106 is covered by the snapshot at 109
    assert out.counters["diffs_replayed"] == 2


def test_a_snapshot_older_than_the_buffered_diffs_cannot_sync_the_book() -> None:
    """If the first buffered diff starts after ``L + 1`` the snapshot is ``too_old``: ignored, the book
    stays unknown (no diff rows at all), and a later snapshot can still use the buffer."""
    lines = [spot_diff(T, 105, 106), spot_diff(T + MS, 107, 108), snapshot(T + 2 * MS, 100, *BOOK)]
    out = sync(lines)
    assert kinds(out) == [] and [s.outcome for s in out.snapshots] == ["too_old"]
    assert out.counters["diffs_dropped_unknown"] == 2
    later = sync([*lines, snapshot(T + 3 * MS, 106, *BOOK)])
    assert kinds(later) == [(MSG_SNAPSHOT, 106), (MSG_DEPTH, 108)]


def test_duplicates_are_dropped_and_a_stale_snapshot_is_ignored_while_the_book_is_known() -> None:
    """A diff the book already covers (as where two files overlap) is dropped without a gap; a
    snapshot not newer than the book is ``stale``; overlapping spot diffs (``U <= u + 1``) apply."""
    out = sync(
        [
            snapshot(T, 100, *BOOK),
            spot_diff(T + MS, 101, 105),
            spot_diff(T + 2 * MS, 101, 105),  # duplicate
            spot_diff(T + 3 * MS, 104, 108),  # overlaps: absolute quantities, harmless
            snapshot(T + 4 * MS, 107, *BOOK),
        ]
    )
    assert kinds(out) == [(MSG_SNAPSHOT, 100), (MSG_DEPTH, 105), (MSG_DEPTH, 108)]
    assert out.gaps == [] and [s.outcome for s in out.snapshots] == ["applied", "stale"]


def test_usdm_first_diff_straddles_l_and_then_pu_chains() -> None:
    """USD-M: drop ``u < L``; the first applied diff has ``U <= L <= u`` (``u == L`` is kept); then each
    ``pu`` must equal the previous ``u``; a wrong ``pu`` is a gap."""
    out = sync(
        [
            usdm_diff(T, 80, 90, 70),  # u < L: dropped
            usdm_diff(T + MS, 95, 100, 90),  # u == L: the straddling one
            snapshot(T + 2 * MS, 100, *BOOK),
            usdm_diff(T + 3 * MS, 120, 130, 100),  # ids jump on USD-M: pu chains
            usdm_diff(T + 4 * MS, 140, 150, 135),  # pu != 130: a break
        ],
        market="usdm",
    )
    assert kinds(out) == [(MSG_SNAPSHOT, 100), (MSG_DEPTH, 100), (MSG_DEPTH, 130), (MSG_GAP, 150)]
    assert out.gaps[0].prev_id == 135 and out.gaps[0].after_id == 130
    # By the spot rule, the same diff (U 95 <= L + 1 but u == L) would have been dropped.
    spot_rule = sync([spot_diff(T, 95, 100), snapshot(T + MS, 100, *BOOK), spot_diff(T + 2 * MS, 101, 102)])
    assert kinds(spot_rule) == [(MSG_SNAPSHOT, 100), (MSG_DEPTH, 102)]


def test_usdm_snapshot_inside_the_first_diff_range_is_required() -> None:
    """USD-M: a first remaining diff with ``U > L`` means updates between the snapshot and it are
    missing (spot would accept ``U == L + 1``)."""
    lines = [usdm_diff(T, 101, 110, 99), snapshot(T + MS, 100, *BOOK)]
    assert [s.outcome for s in sync(lines, "usdm").snapshots] == ["too_old"]
    assert [s.outcome for s in sync([spot_diff(T, 101, 110), snapshot(T + MS, 100, *BOOK)]).snapshots] == [
        "applied"
    ]


def test_tickers_without_venue_time_take_the_previous_one_and_agg_trades_yield_to_trades() -> None:
    """Spot tickers get the previous timestamped message's ``exch_ts``; with a ``trade`` stream in the
    set, ``aggTrade`` messages are dropped (each trade would count twice)."""
    agg = {
        "e": "aggTrade",
        "E": 5,
        "s": "BTCUSDT",
        "a": 1,
        "p": "100.0",
        "q": "1.0",
        "f": 1,
        "l": 1,
        "T": 5,
        "m": True,
    }
    out = sync(
        [
            trade(T, 1, "100.00", "1.0", buyer_is_maker=False),
            ticker(T + MS, 5, ("100.00", "1.0"), ("100.01", "1.0")),
            line(T + 2 * MS, wrapped("btcusdt@aggTrade", agg)),
        ]
    )
    assert [int(k) for k in out.messages["kind"]] == [MSG_TRADE, MSG_BBO]
    assert out.messages["exch_ts"][1] == out.messages["exch_ts"][0] == T // MS * MS
    assert out.counters["agg_trades_dropped"] == 1
