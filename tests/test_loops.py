"""The async test harness really runs each async test on both event loops: each instance runs on the
loop its id names, and both instances exist (checked from the collected items, so it holds when the
instances run in different xdist workers)."""

from __future__ import annotations

import asyncio

import pytest

NAME = "test_runs_on_the_loop_its_id_names"


async def test_runs_on_the_loop_its_id_names(request: pytest.FixtureRequest) -> None:
    running = type(asyncio.get_running_loop()).__module__.split(".")[0]
    assert request.node.name == f"{NAME}[{running}]"


def test_both_loops_are_collected(request: pytest.FixtureRequest) -> None:
    names = {item.name for item in request.session.items if item.name.startswith(NAME)}
    if not names:
        pytest.skip(f"{NAME} is deselected (-k): nothing to check")
    assert names == {f"{NAME}[asyncio]", f"{NAME}[uvloop]"}
