"""Which Ray Tune options a tuning job runs with: a pure function, checked with numbers."""

import pytest

from tuning.options import TuneOptions, tune_options
from tuning.spec import load_tune_spec

TRAIN = {
    "name": "t",
    "dataset": {"source": "sklearn:breast_cancer"},
    "model": {"kind": "xgboost"},
    "hyperparameters": {"rounds": 9},
}
RANGE = {"type": "uniform", "low": 0.1, "high": 0.3}
GRID = {"type": "grid", "values": [0.1, 0.2]}


def job(searcher="bayesian", scheduler="fifo", workers=1, space=RANGE):
    return load_tune_spec(
        {
            "name": "tune",
            "train": TRAIN,
            "search_space": {"hyperparameters.params.eta": space},
            "objective": {"metric": "valid_logloss", "mode": "min"},
            "strategy": {"searcher": searcher, "scheduler": scheduler},
            "budget": {"max_trials": 12, "max_concurrent": 3},
            "trial": {"workers": workers, "cpus_per_worker": 2},
        }
    )


def test_local_one_process_bayesian():
    assert tune_options(job(), "/runs/tune-1") == TuneOptions(
        num_samples=12,
        max_concurrent_trials=3,
        reuse_actors=True,
        checkpoint_num_to_keep=None,
        back_up_state=True,
        trial_cpus=2.0,
        use_scheduler=False,
    )
    assert tune_options(job(), "/runs/tune-1").trial_resources == {"cpu": 2.0}


@pytest.mark.parametrize(
    ("searcher", "space", "samples"), [("random", RANGE, 12), ("grid", GRID, 1)]
)
def test_random_and_grid_limit_concurrency_themselves(searcher, space, samples):
    options = tune_options(job(searcher=searcher, space=space), "/runs/t")
    assert (options.num_samples, options.max_concurrent_trials) == (samples, None)


def test_distributed_trials_on_uri_storage_with_a_scheduler():
    options = tune_options(job(scheduler="asha", workers=2), "s3://bucket/runs/tune-1")
    assert options.reuse_actors is False  # a reused actor would resume the previous Train run
    assert options.trial_resources == {"cpu": 0.01}  # its Train workers hold the CPUs
    assert (options.checkpoint_num_to_keep, options.back_up_state) == (1, False)
    assert options.use_scheduler is True
