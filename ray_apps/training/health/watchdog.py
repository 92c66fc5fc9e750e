"""The rules that need a clock, not a report: ``stalled`` (no new evaluation for ``threshold_s``)
and ``max_initialization_time`` (no first evaluation within ``threshold_s``).

A run that hangs never reaches its next report, where the other rules run, so these two are
also judged on a timer, by a thread beside the loop in the process that holds the run's
:class:`~ray_apps.training.health.watch.HealthWatch`: the driver for a run in this process, rank 0
for a worker group (a rank blocked in an all-reduce waiting for a stuck peer stops reporting
too). Not a second process polling files: the thread reads the watch's own history. The
decision stays ``watch.decide``'s, a pure function of the rules, the history and the clock; this
module only ticks and hands a verdict to ``on_fire``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ray_apps.training.health.spec import HealthSpec
from ray_apps.training.health.watch import HealthWatch, Verdict

CLOCK_RULES = frozenset({"stalled", "max_initialization_time"})


def tick_period(spec: HealthSpec) -> float | None:
    """How often to look: a fifth of the shortest clock rule's threshold, within 0.2–30 s
    (a stall is seen at most 20 % late); None when the job has no clock rule."""
    thresholds = [r.params.threshold_s for r in spec.rules if r.name in CLOCK_RULES]
    if not thresholds:
        return None
    return min(max(min(thresholds) / 5, 0.2), 30.0)


class ClockWatch:
    """A daemon thread that judges the clock rules every ``tick_period`` and calls
    ``on_fire(verdict)`` when one fires; after a fired ``stop`` it ticks no more."""

    def __init__(
        self,
        watch: HealthWatch,
        on_fire: Callable[[Verdict], None],
        period_s: float,
        clock: Callable[[], float] = time.time,
    ):
        self.watch, self.on_fire, self.period_s, self.clock = watch, on_fire, period_s, clock
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="raymaker-health-clock", daemon=True)

    def start(self) -> ClockWatch:
        self._thread.start()
        return self

    def close(self) -> None:
        self._closed.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._closed.wait(self.period_s):
            verdict = self.watch.check_clock(self.clock(), CLOCK_RULES)
            if verdict.fired:
                self.on_fire(verdict)
                if verdict.stop is not None:
                    return
