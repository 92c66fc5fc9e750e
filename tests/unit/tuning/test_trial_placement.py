"""Where a tuning job's trials run: a pure function of the spec, checked case by case."""

import pytest

from ray_apps.errors import SpecError
from tuning.spec import load_tune_spec
from tuning.trial_placement import choose_trial_placement

SMALL = 100_000  # bytes of training data


def job(searcher="random", scheduler="fifo", space=None, **trial):
    return load_tune_spec(
        {
            "name": "tune",
            "train": {
                "name": "t",
                "dataset": {"source": "sklearn:breast_cancer"},
                "model": {"kind": "xgboost"},
                "hyperparameters": {"rounds": 9},
            },
            "search_space": space
            or {"hyperparameters.params.eta": {"type": "uniform", "low": 0.1, "high": 0.3}},
            "objective": {"metric": "valid_logloss", "mode": "min"},
            "strategy": {"searcher": searcher, "scheduler": scheduler},
            "trial": trial,
        }
    )


@pytest.mark.parametrize(
    ("searcher", "scheduler"),
    [("random", "fifo"), ("bayesian", "asha"), ("random", "hyperband"), ("bayesian", "median")],
)
def test_small_one_worker_trials_run_here_by_default(searcher, scheduler):
    placement = choose_trial_placement(job(searcher, scheduler), train_bytes=SMALL)
    assert placement.mode == "local"
    assert "trial.mode: ray for Ray Tune" in placement.line


@pytest.mark.parametrize(
    ("spec", "kwargs", "why"),
    [
        (job(workers=2), {"train_bytes": SMALL}, "trial.workers 2"),
        (job("gp"), {"train_bytes": SMALL}, "strategy.searcher gp"),
        (job("hyperopt"), {"train_bytes": SMALL}, "strategy.searcher hyperopt"),
        (job(), {"train_bytes": SMALL, "on_cluster": True}, "joining the cluster"),
        (job(), {"train_bytes": SMALL, "local_storage": False}, "storage on an object store"),
        (job(), {"train_bytes": 65 * 2**20}, "training data 65.0 MiB"),
        (job(), {}, "size unknown"),
        (job(mode="ray"), {"train_bytes": SMALL}, "trial.mode ray"),
        (
            job(
                "grid",
                space={
                    "hyperparameters.params.eta": {"type": "grid", "values": [0.1, 0.2]},
                    "hyperparameters.params.max_depth": {"type": "choice", "values": [2, 3]},
                },
            ),
            {"train_bytes": SMALL},
            "type choice beside a grid",
        ),
    ],
)
def test_what_only_ray_tune_honours_sends_trials_there(spec, kwargs, why):
    placement = choose_trial_placement(spec, **kwargs)
    assert placement.mode == "ray"
    assert why in placement.line


def test_forced_local_names_what_it_cannot_honour():
    assert choose_trial_placement(job(mode="local"), on_cluster=True).mode == "local"
    with pytest.raises(SpecError, match="cannot honour trial.workers 2; use trial.mode ray"):
        choose_trial_placement(job(mode="local", workers=2), train_bytes=SMALL)


def test_an_unknown_mode_names_the_field():
    with pytest.raises(SpecError, match="trial.mode"):
        job(mode="threads")
