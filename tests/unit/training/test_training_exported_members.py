"""Pins the public surface of ``ray_apps.training`` and ``ray_apps.learners``: tuning and the
CLI build on these names."""

import ray_apps.learners
import ray_apps.training


def test_training_public_names():
    assert sorted(ray_apps.training.__all__) == [
        "FaultPlan",
        "HealthWatch",
        "LOCAL_MAX_BYTES",
        "LoopConfig",
        "MetricTarget",
        "PackagedModel",
        "RunFolder",
        "Session",
        "TrackedRun",
        "TrainResult",
        "build_trainer",
        "find_run_folder",
        "fit_trainer",
        "loop_config",
        "new_run_folder",
        "package_model",
        "prepare_data",
        "reported_metrics",
        "run_training",
        "saved_job",
        "tables",
        "tracked_run",
    ]
    for name in ray_apps.training.__all__:
        assert getattr(ray_apps.training, name) is not None


def test_learners_public_names():
    assert sorted(ray_apps.learners.__all__) == ["Learner", "get_learner", "learner_names"]
