"""`run --fresh`: the journal moved aside with its WAL files, never over another, never while a run
holds it; a live journal's warning; a real paper run after it starts with no fills."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from mm_bot.config import load_config
from mm_bot.errors import ConfigError
from mm_bot.journal import Journal, JournalLocked
from mm_bot.journal_cli import set_journal_aside, start_fresh
from tests.bot.journal_run import NOW, SYMBOL, mm_bot, write_config, write_journal


def test_set_aside_moves_the_journal_and_its_wal_files_and_never_overwrites(tmp_path: Path) -> None:
    """The journal and its -wal/-shm (kept by an open reader) go to <stem>.<UTC time>.sqlite and
    companions; a second journal moved in the same second gets -2; the moved file reads whole."""
    path = tmp_path / "journal-paper.sqlite"
    write_journal(path)
    with Journal.open_readonly(path) as reader:  # a reader keeps the WAL files in place
        reader.sessions()
        assert Path(f"{path}-wal").exists() and Path(f"{path}-shm").exists()
        moved = set_journal_aside(path, NOW)
    aside = tmp_path / "journal-paper.20240808T235800Z.sqlite"
    assert moved == [
        (Path(f"{path}-wal"), Path(f"{aside}-wal")),
        (Path(f"{path}-shm"), Path(f"{aside}-shm")),
        (path, aside),
    ]
    assert not path.exists() and Path(f"{path}.lock").exists()  # the lock is the path's: it stays
    with Journal.open_readonly(aside) as old:
        assert old.totals(SYMBOL).fill_count == 3

    write_journal(path, fills=1)
    moved = set_journal_aside(path, NOW + 999_000_000)  # the same second
    second = tmp_path / "journal-paper.20240808T235800Z-2.sqlite"
    assert moved[-1] == (path, second)
    with Journal.open_readonly(aside) as old, Journal.open_readonly(second) as newer:
        assert (old.totals(SYMBOL).fill_count, newer.totals(SYMBOL).fill_count) == (3, 1)
    assert set_journal_aside(path, NOW) == []  # nothing there: nothing to do


def test_set_aside_is_refused_while_a_writer_holds_the_journal(tmp_path: Path) -> None:
    """A journal open for writing (here in this process) is not moved."""
    path = tmp_path / "j.sqlite"
    with Journal.open(path):
        with pytest.raises(JournalLocked):
            set_journal_aside(path, NOW)
        assert path.exists()
    assert set_journal_aside(path, NOW)[-1][0] == path


def test_fresh_live_warns_that_the_position_history_starts_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--fresh --live` moves the live journal and warns: the history and the balance baseline start
    over, and the old journal's orders (its tag, how many it left unsettled) are no longer ours."""
    cfg = load_config(write_config(tmp_path), environ={})
    live = Path(cfg.journal.live_path)
    live.parent.mkdir(parents=True)
    tag = write_journal(live, fills=2, open_orders=1)
    with capture_logs() as logs:
        target = start_fresh(cfg, "live")
    err = capsys.readouterr().err
    assert target is not None and target.exists() and not live.exists()
    assert f"mm-bot: --fresh: moved {live} to {target}; the run starts a new journal\n" in err
    assert "warning: --fresh --live: the live position history starts over" in err
    assert "the venue's balances at this start become its starting balances" in err
    assert f"client order ids starting {tag}" in err and "left 1 order(s) unsettled" in err
    assert {"event": "journal_set_aside", "mode": "live"}.items() <= logs[0].items()

    start_fresh(cfg, "live")  # no journal now: nothing moved, no warning
    err = capsys.readouterr().err
    assert err == f"mm-bot: --fresh: no journal at {live}: the run starts one\n"


def test_fresh_is_a_config_error_naming_the_key_while_held(tmp_path: Path) -> None:
    """start_fresh on a held journal raises the ConfigError the CLI prints with exit 2."""
    cfg = load_config(write_config(tmp_path), environ={})
    paper = Path(cfg.journal.paper_path)
    paper.parent.mkdir(parents=True)
    with Journal.open(paper), pytest.raises(ConfigError) as caught:
        start_fresh(cfg, "paper")
    [(key, problem)] = caught.value.problems
    assert key == "journal.paper_path" and "is in use by this process" in problem and "--fresh" in problem


def test_fresh_paper_run_starts_a_new_journal(tmp_path: Path) -> None:
    """`run --paper --fresh`: the old journal (3 fills) is moved aside whole, and the run starts from
    no fills, no position and its own order tag."""
    config = write_config(tmp_path)
    journal = tmp_path / "var" / "journal-paper.sqlite"
    journal.parent.mkdir()
    old_tag = write_journal(journal)
    out = tmp_path / "summary.json"
    proc = mm_bot(
        *("run", "--paper", "--fresh", "--duration", "1", "--no-tui", "--metrics-port", "0"),
        *("--summary-json", str(out), "--config", str(config)),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    [aside] = [p for p in journal.parent.iterdir() if p.name.startswith("journal-paper.20")]
    assert f"mm-bot: --fresh: moved {journal} to {aside}; the run starts a new journal" in proc.stderr
    with Journal.open_readonly(aside) as old:
        assert old.totals(SYMBOL).fill_count == 3 and len(old.sessions()) == 1
    m = json.loads(out.read_text())["markets"][SYMBOL]
    assert m["cumulative"]["fills"] == m["fills"]  # nothing carried over
    with Journal.open_readonly(journal) as new:
        assert len(new.sessions()) == 1 and new.order_tag != old_tag
        totals = new.totals(SYMBOL)
        assert totals.fill_count == m["fills"]
        assert totals.position_lots * 0.00001 == pytest.approx(m["position_base"], abs=1e-12)
