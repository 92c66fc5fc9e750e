"""The clock rules' thread: it judges ``stalled`` and ``max_initialization_time`` between
reports, hands a fired verdict over once per rule, and stops ticking after a stop."""

from __future__ import annotations

import threading

from ray_apps.training.health import HealthSpec, HealthWatch
from ray_apps.training.health.watchdog import CLOCK_RULES, ClockWatch, tick_period


def _spec(*rules, actions=("tag",)) -> HealthSpec:
    return HealthSpec.model_validate({"rules": list(rules), "actions": list(actions)})


def test_the_tick_is_a_fifth_of_the_shortest_clock_threshold_within_bounds():
    assert tick_period(_spec("nonfinite", "overfit")) is None  # nothing needs a clock
    assert tick_period(_spec({"name": "stalled", "threshold_s": 10})) == 2.0
    two = _spec({"name": "stalled", "threshold_s": 600}, "max_initialization_time")
    assert tick_period(two) == 30.0  # 600 / 5 = 120, capped: a stall is seen ≤ 30 s late
    assert tick_period(_spec({"name": "stalled", "threshold_s": 0.1})) == 0.2


def _clock_watch(spec, now, history=()):
    watch = HealthWatch(spec, started_at=0.0)
    for epoch, t in history:
        watch.observe({"train_loss": 1.0}, epoch, t)
    fired, done = [], threading.Event()

    def on_fire(verdict):
        fired.append(verdict)
        done.set()

    return watch, fired, done, ClockWatch(watch, on_fire, 0.01, clock=lambda: now[0])


def test_a_run_silent_past_the_threshold_is_stalled_once_and_tagged_once():
    now = [10.0]
    spec = _spec({"name": "stalled", "threshold_s": 5}, "overfit")
    watch, fired, done, clock = _clock_watch(spec, now, history=[(1, 2.0), (2, 8.0)])
    with_clock = clock.start()
    try:
        assert not done.wait(0.2)  # 2 s since epoch 2: fine
        now[0] = 13.5  # 5.5 s since epoch 2
        assert done.wait(5)
        threading.Event().wait(0.1)  # more ticks: it does not tag again
    finally:
        with_clock.close()
    assert len(fired) == 1
    (one,) = fired[0].fired
    assert (one.rule, one.finding.epoch, one.actions) == ("stalled", 2, ("tag",))
    assert one.finding.value == 5.5
    assert watch.last_epoch == 2 and "stalled" in watch.acted


def test_only_the_clock_rules_are_judged_between_reports():
    # nonfinite holds on the last evaluation, but it is the report's to act on, not the clock's
    now = [100.0]
    spec = _spec("nonfinite", {"name": "stalled", "threshold_s": 1000}, actions=("stop",))
    watch, fired, _, clock = _clock_watch(spec, now)
    watch.observe({"train_loss": float("nan")}, 1, 99.0)
    clock.start()
    threading.Event().wait(0.2)
    clock.close()
    assert fired == []
    assert {"stalled", "max_initialization_time"} == CLOCK_RULES


def test_no_first_epoch_in_time_fires_max_initialization_time_and_a_stop_ends_the_ticks():
    now = [0.5]
    spec = _spec({"name": "max_initialization_time", "threshold_s": 1}, actions=("stop",))
    _, fired, done, clock = _clock_watch(spec, now)
    clock.start()
    assert not done.wait(0.1)
    now[0] = 1.7
    assert done.wait(5)
    clock._thread.join(5)
    assert not clock._thread.is_alive()  # stopped ticking after the stop
    assert fired[0].stop is not None and fired[0].stop.rule == "max_initialization_time"
    clock.close()
