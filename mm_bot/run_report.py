"""``mm-bot run --report DIR``: the backtest's HTML report, for a paper or live session.

``SessionReport.attach`` puts a ``TraceRecorder`` on every market's core before it decides anything
(as the runner's observer); ``write`` renders each market's trace with the backtest's metrics and
report code once the session has stopped: ``DIR/index.html`` for one market, ``DIR/<SYMBOL>/index.html``
for several (the symbol with anything but letters and digits dropped). A report that cannot be
written is logged and makes ``write`` return False, never raised.
"""

from __future__ import annotations

import re
from pathlib import Path

import structlog

from mm_bot.backtest.recorder import TraceRecorder
from mm_bot.markets import Market

log = structlog.get_logger("mm_bot.report")

__all__ = ["SessionReport"]


class SessionReport:
    def __init__(self, out_dir: Path, mode: str, sample_interval_ns: int = 100_000_000) -> None:
        self.out_dir = out_dir
        self.mode = mode
        self._interval = sample_interval_ns
        self._recorders: dict[str, TraceRecorder] = {}

    def attach(self, markets: list[Market]) -> None:
        for m in markets:
            recorder = TraceRecorder(m.core, self._interval)
            m.runner.observer = recorder.on_event
            self._recorders[m.symbol] = recorder

    def write(self, start_ns: int, end_ns: int) -> bool:
        from mm_bot.backtest.metrics import run_metrics
        from mm_bot.backtest.report import write_report

        ok = True
        several = len(self._recorders) > 1
        for symbol, recorder in self._recorders.items():
            out = self.out_dir / re.sub(r"[^A-Za-z0-9]", "", symbol) if several else self.out_dir
            trace = recorder.build(symbol=symbol, start_ns=start_ns, end_ns=end_ns)
            try:
                path = write_report(trace, run_metrics(trace), out, title=f"mm-bot {self.mode}: {symbol}")
            except OSError as exc:
                log.error("report_write_failed", market=symbol, path=str(out), error=str(exc))
                ok = False
            else:
                log.info("report_written", market=symbol, path=str(path))
        return ok
