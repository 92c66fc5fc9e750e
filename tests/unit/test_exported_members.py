"""Pins the public surface of ``ray_apps``: a change here is a change to users' code."""

import ray_apps


def test_public_names():
    assert sorted(ray_apps.__all__) == sorted(
        [
            "ArtifactIntegrityError",
            "BatchJobSpec",
            "BatchResult",
            "BiasJobSpec",
            "BiasResult",
            "DataError",
            "Model",
            "MonitorJobSpec",
            "MonitorResult",
            "NotFoundError",
            "RaymakerError",
            "SpecError",
            "TrainJobSpec",
            "TrainResult",
            "TrainingError",
            "ab_readout",
            "load_model",
            "load_train_spec",
            "load_tune_spec",
            "read_capture",
            "read_output",
            "run_batch",
            "run_bias",
            "run_monitor",
            "run_training",
            "run_tuning",
            "shadow_report",
            "TuneJobSpec",
            "TuneResult",
        ]
    )
    for name in ray_apps.__all__:
        assert getattr(ray_apps, name) is not None
