"""The parse cache beside a recorded file: used on the second load, invalidated by a changed file,
and moved to the user cache directory when the file's own directory cannot take it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from sim.data import load
from sim.data.cache import CACHE_SUFFIX, _write_npz
from tests.sim.data.conftest import DATA, SPOT
from tests.sim.data.helpers import snapshot, spot_diff, ticker, trade, write_gz

T = 1_723_161_254_000_000_000
MS = 1_000_000


def small_file(directory: Path) -> Path:
    book = ([("100.00", "1.0")], [("100.01", "1.0")])
    lines = [
        snapshot(T, 100, *book),
        spot_diff(T + MS, 101, 102, [("99.99", "2.0")]),
        trade(T + 2 * MS, 1, "100.01", "0.5", buyer_is_maker=False),
        ticker(T + 3 * MS, 102, ("100.00", "1.0"), ("100.01", "1.0")),
    ]
    return write_gz(directory / "small.gz", lines)


def tamper(cache: Path, qty: float) -> None:
    """Rewrite a cache entry with every row's quantity set to ``qty``, its key left valid: a load
    that shows ``qty`` read the cache and did not parse the source."""
    with np.load(cache) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["qty"] = np.full_like(arrays["qty"], qty)
    _write_npz(cache, arrays)


def test_the_second_load_reads_the_cache_instead_of_parsing(tmp_path: Path) -> None:
    """The first load writes ``<file>.mmbot.npz``; the second returns what that entry holds."""
    source = small_file(tmp_path)
    first = load([source])
    cache = source.with_name(source.name + CACHE_SUFFIX)
    assert first.report.files[0].cache == "written" and cache.exists()
    tamper(cache, 7.0)
    second = load([source])
    assert second.report.files[0].cache == "hit"
    assert second.report.files[0].cache_path == str(cache)
    assert np.all(second.events["qty"] == 7.0)


def test_a_changed_source_or_a_corrupt_entry_is_parsed_again(tmp_path: Path) -> None:
    """A new modification time invalidates the entry; so does an entry that is not a readable npz."""
    source = small_file(tmp_path)
    original = load([source]).events
    cache = source.with_name(source.name + CACHE_SUFFIX)
    tamper(cache, 7.0)
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    again = load([source])
    assert again.report.files[0].cache == "written"
    assert np.array_equal(again.events, original)
    cache.write_bytes(b"PK\x03\x04 not really a zip")
    assert load([source]).report.files[0].cache == "written"
    assert load([source]).report.files[0].cache == "hit"


def test_an_unwritable_source_directory_falls_back_to_the_user_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the entry cannot be written beside the file (here a directory squats its name, which
    stops root too), it goes to ``$XDG_CACHE_HOME/mm-bot`` and is read from there next time."""
    source = small_file(tmp_path)
    source.with_name(source.name + CACHE_SUFFIX).mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    first = load([source])
    path = Path(first.report.files[0].cache_path or "")
    assert first.report.files[0].cache == "written"
    assert path.parent == tmp_path / "xdg" / "mm-bot" and path.name.endswith("-small.gz" + CACHE_SUFFIX)
    assert load([source]).report.files[0].cache == "hit"


def test_no_writable_cache_anywhere_still_loads_and_no_cache_means_no_file(tmp_path: Path) -> None:
    """With neither place writable the data is used uncached; ``cache=False`` writes nothing."""
    source = small_file(tmp_path)
    source.with_name(source.name + CACHE_SUFFIX).mkdir()
    (tmp_path / "a-file").write_text("")
    nowhere = load([source], user_cache_dir=tmp_path / "a-file" / "cache")
    assert nowhere.report.files[0].cache == "unwritable" and len(nowhere.messages) == 4
    other = tmp_path / "other"
    other.mkdir()
    plain = small_file(other)
    assert load([plain], cache=False).report.files[0].cache == "off"
    assert sorted(p.name for p in other.iterdir()) == ["small.gz"]


def test_a_recorded_file_is_read_back_from_its_cache_identically(tmp_path: Path) -> None:
    """On real data, the cached arrays rebuild exactly the parsed ones (times, ids, message table)."""
    source = Path(shutil.copy(DATA / SPOT[0], tmp_path / SPOT[0]))
    parsed = load([source])
    cached = load([source])
    assert cached.report.files[0].cache == "hit"
    assert np.array_equal(parsed.events, cached.events)
    assert np.array_equal(parsed.messages, cached.messages)
    assert parsed.report.to_json()["counters"] == cached.report.to_json()["counters"]


@pytest.mark.parametrize("damage", ["header_is_a_list", "report_is_a_list", "nan_price", "infinite_qty"])
def test_a_cache_entry_with_a_valid_key_but_hostile_content_is_parsed_again(
    tmp_path: Path, damage: str
) -> None:
    """An entry is ours only if it is well formed: a header of the wrong shape made the load fail
    with a traceback (AttributeError), a non-finite number was replayed as if parsed (found in a fault
    hunt). Either is a miss: the source is parsed again and the entry rewritten."""
    source = small_file(tmp_path)
    original = load([source]).events
    cache = source.with_name(source.name + CACHE_SUFFIX)
    with np.load(cache) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(arrays["header"].tobytes())
    if damage == "header_is_a_list":
        header = [header]
    elif damage == "report_is_a_list":
        header["report"] = [header["report"]]
    elif damage == "nan_price":
        arrays["px"] = np.full_like(arrays["px"], np.nan)
    else:
        arrays["qty"] = np.full_like(arrays["qty"], np.inf)
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    _write_npz(cache, arrays)
    again = load([source])
    assert again.report.files[0].cache == "written"
    assert np.array_equal(again.events, original)
