"""Backtests and paper-run analysis: the run trace, its metrics and the HTML report."""
