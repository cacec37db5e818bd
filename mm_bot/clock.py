"""The bot's clock: wall-clock nanoseconds that never step.

The core times its chases by this clock (a place is looked up one request timeout after it was sent)
while the runner bounds each request by the event loop's monotonic clock. Were the core's clock the
wall clock, a step of it (NTP correcting the host, a VM resumed) would make the core look up an order
whose request is still on its way, read "not found" as final, and quote that side again: two orders
where one was meant (found in review). So the app reads the wall clock once, at start, and moves on
by the monotonic clock, which NTP slews but never steps. Times stay close to wall time; a step taken
while running is not followed (a restart picks it up).
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["steady_wall_clock"]


def steady_wall_clock(
    wall_ns: Callable[[], int] = time.time_ns, monotonic_ns: Callable[[], int] = time.monotonic_ns
) -> Callable[[], int]:
    """A clock that starts at ``wall_ns()`` now and advances as ``monotonic_ns`` does."""
    wall0, mono0 = wall_ns(), monotonic_ns()
    return lambda: wall0 + monotonic_ns() - mono0
