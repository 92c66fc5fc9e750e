"""The HyperBand scheduler stops a trial caught mid-pause when its bracket finishes."""

from __future__ import annotations

import pytest
from ray.tune.experiment import Trial
from ray.tune.schedulers import HyperBandScheduler, TrialScheduler

from tuning._hyperband import FinishingHyperBand, must_stop_when_bracket_finishes
from tuning.schedulers import create_scheduler


class Controller:
    """The one call a bracket makes on Tune's controller when it finishes."""

    def __init__(self):
        self.stopped: list[Trial] = []

    def stop_trial(self, trial: Trial) -> None:
        self.stopped.append(trial)


def race(scheduler_class):
    """Two trials in one bracket; the first is told to PAUSE at max_t and is still saving its
    checkpoint (RUNNING, is_saving) when the second reaches max_t and finishes the bracket."""
    scheduler = scheduler_class(time_attr="epoch", metric="loss", mode="min", max_t=9)
    controller = Controller()
    first, second = Trial("__fake", stub=True), Trial("__fake", stub=True)
    for trial in (first, second):
        scheduler.on_trial_add(controller, trial)
        trial.set_status(Trial.RUNNING)
    assert scheduler.on_trial_result(controller, first, {"epoch": 9, "loss": 0.5}) == "PAUSE"
    first.temporary_state.saving_to = object()  # Tune checkpoints a trial before pausing it
    action = scheduler.on_trial_result(controller, second, {"epoch": 9, "loss": 0.4})
    return action, controller.stopped, first


def test_a_finished_bracket_stops_the_trial_that_is_still_pausing():
    action, stopped, pausing = race(FinishingHyperBand)
    assert action == TrialScheduler.STOP
    assert stopped == [pausing]


def test_ray_hyperband_still_leaves_the_pausing_trial_behind():
    # Pins the Ray 2.60 defect the subclass works around: when this fails, Ray fixed it and
    # tuning/_hyperband.py can go.
    action, stopped, _ = race(HyperBandScheduler)
    assert action == TrialScheduler.STOP
    assert stopped == []


@pytest.mark.parametrize(
    ("status", "is_saving", "stop"),
    [("PAUSED", False, True), ("RUNNING", True, True), ("RUNNING", False, False)],
)
def test_which_trials_a_finished_bracket_stops(status, is_saving, stop):
    assert must_stop_when_bracket_finishes(status, is_saving) is stop


def test_the_hyperband_name_builds_the_fixed_scheduler():
    scheduler = create_scheduler(
        "hyperband", metric="loss", mode="min", max_t=9, grace_period=1, reduction_factor=3
    )
    assert isinstance(scheduler, FinishingHyperBand)
