"""``mm-bot run --live`` as a process against ``mm-bot venue serve`` (the Binance emulator) through the
unmodified ccxt client: it quotes and fills for tens of seconds, leaves no order open, and its
journal's fills are the venue's trades as ccxt reads them; a SIGKILL mid-run and a restart lose no
fill and place no duplicate; the credentials never reach a log, the summary, the journal or a
metric."""

from __future__ import annotations

import json
import re
import secrets
import signal
import sqlite3
import urllib.request
from pathlib import Path

import pytest

from mm_bot.journal import Journal, JournalError
from tests.bot.live_process import LOT, SYMBOL, emulator, run_bot, start_bot, venue_view, wait_until

FAST_FILLS = {"MM_BOT__markets__0__lockouts__after_fill_ms": "100"}


def journal_fills(path: Path) -> tuple[list[str], int]:
    """The trade ids of the journal's fills, and its position in lots."""
    with Journal.open_readonly(path) as reader:
        return [f.trade_id for f in reader.fills(SYMBOL)], reader.totals(SYMBOL).position_lots


def test_live_run_quotes_fills_and_leaves_the_venue_as_its_journal_says(tmp_path: Path) -> None:
    journal, summary = tmp_path / "live.sqlite", tmp_path / "summary.json"
    fees = (
        "--maker-fee-bps",
        "9",
        "--taker-fee-bps",
        "9.5",
    )  # Binance spot's VIP 1 tier, charged in BTC on buys: fees of more than 8 decimals before rounding
    with emulator(tmp_path, "--seed", "5", *fees) as (url, state):
        result = run_bot(url, journal, "--duration", "20", "--summary-json", str(summary), **FAST_FILLS)
        assert result.returncode == 0, result.stderr[-3000:]
        m = json.loads(summary.read_text())["markets"][SYMBOL]
        assert m["quotes_sent"] >= 10 and m["fills"] >= 3 and m["open_orders_at_exit"] == 0
        venue = venue_view(url)
        trade_ids, position_lots = journal_fills(journal)
        assert venue["open_orders"] == []
        assert sorted(trade_ids) == sorted(str(t["id"]) for t in venue["trades"])  # each once
        # The emulator charges a buy's fee in BTC, as Binance does: the position counts it exactly.
        base_fees = sum(float(t["fee"]["cost"]) for t in venue["trades"] if t["fee"]["currency"] == "BTC")
        base_change = venue["balance"]["total"]["BTC"] - 1.0
        assert round((base_change + base_fees) / LOT) == position_lots
        # At least one buy paid its fee in BTC (how many is up to the market): the position must then
        # hold the balance to far less than a fee, which a lot-rounded comparison cannot see.
        assert base_fees > 0 and m["fees_base"] == pytest.approx(base_fees, abs=1e-12)
        assert m["position_base"] == pytest.approx(base_change, abs=1e-10)  # charged as reported
        assert m["reconcile_mismatches"] == []  # more than the half-lot tolerance, and counted
    assert json.loads(state.read_text())["accounts"]["main"]["open_orders"] == []


def test_sigkill_mid_run_then_restart_loses_no_fill_and_cleans_up(tmp_path: Path) -> None:
    """Killed with quotes resting: the restart adopts or cancels them, sends no order twice, and its
    journal's fills and position equal the venue's."""
    journal = tmp_path / "live.sqlite"
    with emulator(tmp_path, "--seed", "11") as (url, state):
        proc = start_bot(url, journal, **FAST_FILLS)
        try:

            def filled_and_resting() -> bool:
                """two fills journaled and orders resting at the venue"""
                try:
                    if not journal.exists() or len(journal_fills(journal)[0]) < 2:
                        return False
                except (JournalError, sqlite3.Error):  # the bot may be creating the journal right now
                    return False
                return len(venue_view(url)["open_orders"]) > 0

            wait_until(filled_and_resting, timeout_s=90, every_s=0.5)
            proc.send_signal(signal.SIGKILL)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=60)
        left = venue_view(url)["open_orders"]
        assert left, "the killed bot left its quotes resting"
        restart = run_bot(url, journal, "--duration", "5", **FAST_FILLS)
        assert restart.returncode == 0, restart.stderr[-3000:]
        venue = venue_view(url)
        trade_ids, position_lots = journal_fills(journal)
        assert venue["open_orders"] == []
        assert sorted(trade_ids) == sorted(str(t["id"]) for t in venue["trades"])
        assert round((venue["balance"]["total"]["BTC"] - 1.0) / LOT) == position_lots
    account = json.loads(state.read_text())["accounts"]["main"]
    assert account["open_orders"] == []
    ids = [o["clientOrderId"] for o in account["orders"]]
    assert len(ids) > len(left) and len(set(ids)) == len(ids)  # no order was sent twice
    with Journal.open_readonly(journal) as reader:
        tag = reader.order_tag  # the journal's own: another bot's journal has another
    assert len(tag) == 6 and all(i.startswith(tag) for i in ids)


def test_credentials_never_reach_logs_summary_journal_or_metrics(tmp_path: Path) -> None:
    key, secret = f"K{secrets.token_hex(12)}", f"S{secrets.token_hex(16)}"
    journal, summary = tmp_path / "live.sqlite", tmp_path / "summary.json"
    with emulator(tmp_path, "--api-key", key, "--api-secret", secret) as (url, _):
        proc = start_bot(
            url, journal, "--duration", "6", "--summary-json", str(summary),
            MM_API_KEY=key, MM_API_SECRET=secret, MM_BOT__logging__level="DEBUG",
        )  # fmt: skip
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if "run_started" in line:
                break
        port = re.search(r'"metrics_port": (\d+)', "".join(seen))
        assert port, "".join(seen)[-2000:]
        scraped = (
            urllib.request.urlopen(f"http://127.0.0.1:{port.group(1)}/metrics", timeout=5).read().decode()
        )
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    assert "mm_orders_sent_total" in scraped  # the real endpoint, scraped mid-run
    everything = "".join(seen) + out + err + summary.read_text() + scraped
    for path in tmp_path.iterdir():
        if path.name.startswith("live.sqlite"):
            everything += path.read_bytes().decode("latin-1")
    assert key not in everything and secret not in everything
