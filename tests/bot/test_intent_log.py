"""The mmap intent ring on real files: round trip, torn slots, wrap-around, one writer, the id filter."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
from pathlib import Path

from mm_bot.intent_log import SLOT_SIZE, TEXT_MAX, TYPE_CODES, Intent, IntentLog, KnownIds
from mm_bot.model import OrderRequest, OrderType, Side


def opened(path: Path, slots: int = 8, ring_id: int = 7) -> IntentLog:
    ring = IntentLog.open(path)
    assert ring is not None
    ring.reset(ring_id, slots)
    return ring


def slot_at(seq: int, slots: int = 8) -> int:
    """Byte offset of intent ``seq``: the header fills the first slot-sized block."""
    return (seq % slots + 1) * SLOT_SIZE


def append(ring: IntentLog, cid: str, ts: int = 1, session: int | None = 3) -> bool:
    return ring.append(OrderRequest(cid, Side.SELL, 1010, 5, OrderType.POST_ONLY), "BTC/USDT", ts, session)


def test_appended_intents_replay_in_order_after_reopen(tmp_path: Path) -> None:
    """What was appended comes back field for field, in sequence order, from a fresh mapping."""
    path = tmp_path / "r.intents"
    ring = opened(path)
    assert ring.append(OrderRequest("a1", Side.BUY, 2000, 1, OrderType.LIMIT), "ETH/USDT", 10, None)
    assert append(ring, "b2", ts=11)
    ring.close()
    again = IntentLog.open(path)
    assert again is not None and again.ring_id == 7
    assert again.replay() == [
        Intent(1, "a1", "ETH/USDT", Side.BUY, 2000, 1, OrderType.LIMIT, 10, None),
        Intent(2, "b2", "BTC/USDT", Side.SELL, 1010, 5, OrderType.POST_ONLY, 11, 3),
    ]
    again.close()


def test_append_in_a_killed_process_survives(tmp_path: Path) -> None:
    """The page cache outlives the writer: os._exit right after append (no close, no msync)."""
    path = tmp_path / "r.intents"
    code = f"""
        import os
        from mm_bot.intent_log import IntentLog
        from mm_bot.model import OrderRequest, OrderType, Side
        ring = IntentLog.open({str(path)!r})
        ring.reset(5, 16)
        ring.append(OrderRequest("k1", Side.BUY, 1, 2, OrderType.IOC), "BTC/USDT", 3, 4)
        os._exit(0)
    """
    subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=True, timeout=60)
    ring = IntentLog.open(path)
    assert ring is not None
    assert ring.replay() == [Intent(1, "k1", "BTC/USDT", Side.BUY, 1, 2, OrderType.IOC, 3, 4)]
    ring.close()


def test_torn_or_corrupt_slots_are_skipped(tmp_path: Path) -> None:
    """A slot whose bytes do not match its CRC (a crash mid-write) is ignored; its neighbours are not."""
    path = tmp_path / "r.intents"
    ring = opened(path)
    for cid in ("s1", "s2", "s3"):
        assert append(ring, cid)
    ring.close()
    raw = bytearray(path.read_bytes())
    raw[slot_at(2) + 24] ^= 0xFF  # seq 2: its price
    raw[slot_at(3)] ^= 0x01  # seq 3: its CRC
    path.write_bytes(bytes(raw))
    reopened = IntentLog.open(path)
    assert reopened is not None
    assert [i.client_order_id for i in reopened.replay()] == ["s1"]
    reopened.close()


def test_wrap_around_keeps_the_newest_slots(tmp_path: Path) -> None:
    """More appends than slots: the ring holds the last N, still in sequence order."""
    path = tmp_path / "r.intents"
    ring = opened(path, slots=4)
    for n in range(11):
        assert append(ring, f"w{n}", ts=n)
    assert [(i.seq, i.client_order_id) for i in ring.replay()] == [(n + 1, f"w{n}") for n in range(7, 11)]
    ring.close()


def test_reset_empties_and_resizes(tmp_path: Path) -> None:
    """reset discards the slots and sizes the file to the geometry asked for, or keeps the file's."""
    path = tmp_path / "r.intents"
    ring = opened(path, slots=4)
    assert append(ring, "x")
    ring.reset(9, 16)
    assert ring.replay() == [] and ring.ring_id == 9 and ring.capacity == 16
    assert path.stat().st_size == 17 * SLOT_SIZE
    ring.reset(9)
    assert ring.capacity == 16
    ring.close()


def test_a_missing_or_foreign_file_is_an_empty_ring(tmp_path: Path) -> None:
    """No header (new, short or foreign file) replays nothing and reports no ring id."""
    assert IntentLog.open(tmp_path / "none", create=False) is None
    (tmp_path / "junk").write_bytes(b"not a ring" * 100)
    ring = IntentLog.open(tmp_path / "junk")
    assert ring is not None and ring.replay() == [] and ring.ring_id == 0
    ring.close()


def test_only_one_holder(tmp_path: Path) -> None:
    """While one IntentLog holds the file, another open (same process or not) gets None; close frees it."""
    path = tmp_path / "r.intents"
    first = opened(path)
    assert IntentLog.open(path) is None
    probe = f"from mm_bot.intent_log import IntentLog; assert IntentLog.open({str(path)!r}) is None"
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=60)
    first.close()
    second = IntentLog.open(path)
    assert second is not None
    second.close()


def test_text_that_does_not_fit_is_refused(tmp_path: Path) -> None:
    """An id plus market longer than a slot's text field writes nothing and says so."""
    ring = opened(tmp_path / "r.intents")
    assert not append(ring, "x" * (TEXT_MAX - 7))  # + 8 bytes of "BTC/USDT"
    assert append(ring, "x" * (TEXT_MAX - 8))
    assert [i.seq for i in ring.replay()] == [1]
    ring.close()


def test_every_order_type_has_a_stable_code() -> None:
    """A new OrderType needs a new code (slots store the code, not the name)."""
    assert set(TYPE_CODES) == set(OrderType)
    assert len(set(TYPE_CODES.values())) == len(TYPE_CODES)


def test_every_order_type_round_trips(tmp_path: Path) -> None:
    """Each order type is stored as its code and replayed as itself."""
    ring = opened(tmp_path / "r.intents", slots=16)
    for n, order_type in enumerate(OrderType):
        assert ring.append(OrderRequest(f"t{n}", Side.BUY, 1, 1, order_type), "BTC/USDT", n, None)
    assert [i.order_type for i in ring.replay()] == list(OrderType)
    ring.close()


def test_known_ids_has_no_false_negatives_and_few_false_positives() -> None:
    """An id added before (at construction or since) is always reported seen; at the expected load
    a new id is reported seen (a false positive, costing one SQLite lookup) well under 1% of the time."""
    rng = random.Random(1)
    added = [f"mm{rng.getrandbits(48):x}" for _ in range(32_768)]
    known = KnownIds(len(added), added[:16_384])
    for cid in added[16_384:]:
        known.add(cid)
    assert all(known.add(cid) for cid in added)
    assert sum(known.add(f"new{n}") for n in range(20_000)) < 200
