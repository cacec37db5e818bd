"""Process-level latency hygiene: when Python's garbage collector may run.

CPython collects its youngest generation after ~700 net allocations of container objects, wherever
that allocation happens, which on a market maker is usually inside the handling of a market update.
Measured on the paper run (2 cores, cold caches between updates): a gen-0 collection takes ~90 us,
a gen-1 ~0.9 ms, a full one ~20 ms with the Z3 and library objects loaded at start.

``GcPolicy(idle=True)`` moves collection out of the updates:

- ``start()``: one full collection, then ``gc.freeze()`` (everything alive after start-up, imports
  and config included, goes to the permanent generation and is never scanned again), then the
  automatic collector is switched off;
- ``on_idle()``: called by a runner when its queue is empty; collects the generations CPython would
  have collected by now (same thresholds, same cascade: gen 1 every 10 gen-0 runs, gen 2 every 10
  gen-1 runs), so memory behaves as with the automatic collector;
- ``on_busy()``: called after each update; collects anyway once allocations reach ``busy_factor``
  times the threshold, so a market that is never quiet still has its garbage collected.

With ``idle=False`` everything is left to CPython. ``stop()`` restores the automatic collector.
"""

from __future__ import annotations

import gc


class GcPolicy:
    def __init__(self, *, idle: bool, busy_factor: int = 20) -> None:
        self.idle = idle
        self.busy_factor = busy_factor
        self.collections = [0, 0, 0]  # by generation, run by this policy
        self._thresholds = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        self._started = False

    def start(self) -> None:
        if not self.idle or self._started:
            return
        self._started = True
        self._thresholds = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        gc.collect()
        gc.freeze()
        gc.disable()

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        gc.unfreeze()
        if self._was_enabled:
            gc.enable()

    def on_idle(self) -> None:
        """Collect what is due: the quiet moment to pay for it."""
        if self._started and gc.get_count()[0] >= self._thresholds[0]:
            self._collect()

    def on_busy(self) -> None:
        """After an update: collect only when garbage piled up far past the threshold."""
        if self._started and gc.get_count()[0] >= self._thresholds[0] * self.busy_factor:
            self._collect()

    def _collect(self) -> None:
        _, gen0_runs, gen1_runs = gc.get_count()
        _, t1, t2 = self._thresholds
        generation = 0
        if gen0_runs + 1 >= t1:
            generation = 2 if gen1_runs + 1 >= t2 else 1
        gc.collect(generation)
        self.collections[generation] += 1
