"""The async test harness really runs each async test on both event loops."""

from __future__ import annotations

import asyncio

seen: set[str] = set()


async def test_runs_on_both_loops() -> None:
    """Record the running loop's module; the next test checks both were seen."""
    seen.add(type(asyncio.get_running_loop()).__module__.split(".")[0])


def test_both_loops_were_used() -> None:
    """After the parametrized runs above, both asyncio and uvloop have run a test."""
    assert seen == {"asyncio", "uvloop"}
