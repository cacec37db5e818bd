"""The run's clock follows the monotonic clock from one reading of the wall clock: a step of the wall
clock (NTP, a resumed VM) after start does not reach the core, whose chase timers must agree with
the runner's monotonic request deadlines."""

from __future__ import annotations

import time

from mm_bot.clock import steady_wall_clock


def test_a_step_of_the_wall_clock_after_start_is_not_followed() -> None:
    wall = [1_700_000_000 * 10**9]
    mono = [5 * 10**9]
    clock = steady_wall_clock(lambda: wall[0], lambda: mono[0])
    assert clock() == wall[0]
    wall[0] += 2 * 10**9  # the host's clock is stepped 2 s forward
    mono[0] += 300 * 10**6  # while 0.3 s pass
    assert clock() == 1_700_000_000 * 10**9 + 300 * 10**6
    wall[0] -= 60 * 10**9  # and a minute back
    mono[0] += 10**6
    assert clock() == 1_700_000_000 * 10**9 + 301 * 10**6


def test_the_default_reads_the_real_clocks() -> None:
    clock = steady_wall_clock()
    a = clock()
    assert abs(a - time.time_ns()) < 10**9
    time.sleep(0.01)
    assert clock() - a >= 10 * 10**6
