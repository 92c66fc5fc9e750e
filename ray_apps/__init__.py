"""raymaker: training, tuning, hosting and monitoring of ML models on Ray.

The notebook API::

    from ray_apps import TrainJobSpec, run_training, load_model

    result = run_training("examples/train_mlp.yaml")    # or a TrainJobSpec / dict
    result.metrics, result.artifact_path, result.mlflow_run_id
    model = load_model(result.artifact_path)
    model.predict(rows)

    from ray_apps import read_capture
    frame = read_capture("raymaker_data/capture", "cancer", version=3, since="2026-11-23T10:00")

    from ray_apps import run_batch, read_output
    done = run_batch("batch.yaml")      # output/, rejects/, summary.json
    window = read_output(done.run_dir)  # the committed output, in read_capture's columns

    from ray_apps.batch import start_batch, batch_status
    job = start_batch("batch.yaml")     # in the background (what POST /admin/batch/jobs calls)
    batch_status(job.job_id).status     # queued | running | succeeded | failed

    from ray_apps import run_monitor
    watch = run_monitor("monitor.yaml")  # drift + data quality of a window; verdict, report_dir

    from ray_apps import run_bias
    fair = run_bias("bias.yaml")         # Clarify's bias metrics per group; report, report_dir

    from ray_apps import run_tuning
    tuned = run_tuning("examples/tune_xgboost.yaml")  # leaderboard, best_config, artifact_path
"""

from typing import TYPE_CHECKING

from ray_apps.errors import (
    ArtifactIntegrityError,
    DataError,
    NotFoundError,
    RaymakerError,
    SpecError,
    TrainingError,
)

if TYPE_CHECKING:
    from ray_apps.artifact import Model, load_model
    from ray_apps.batch import BatchJobSpec, BatchResult, read_output, run_batch
    from ray_apps.bias import BiasJobSpec, BiasResult, run_bias
    from ray_apps.capture import read_capture
    from ray_apps.monitoring import MonitorJobSpec, MonitorResult, run_monitor
    from ray_apps.spec import TrainJobSpec, load_train_spec
    from ray_apps.training import TrainResult, run_training
    from tuning import TuneJobSpec, TuneResult, load_tune_spec, run_tuning

__all__ = [
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

# Each name is imported on first use. A Ray worker unpickling one class of ours (a batch
# scoring actor) imports this package first, and paid ~1 s of CPU for MLflow, Ray Train and
# scikit-learn it never used: with three actors on two cores, longer than scoring 1M rows.
# The tuning package builds on this one and is only ever imported this way.
_LAZY = {
    "Model": "ray_apps.artifact",
    "load_model": "ray_apps.artifact",
    "BatchJobSpec": "ray_apps.batch",
    "BatchResult": "ray_apps.batch",
    "run_batch": "ray_apps.batch",
    "read_output": "ray_apps.batch",
    "BiasJobSpec": "ray_apps.bias",
    "BiasResult": "ray_apps.bias",
    "run_bias": "ray_apps.bias",
    "read_capture": "ray_apps.capture",
    "ab_readout": "ray_apps.experiments",
    "shadow_report": "ray_apps.experiments",
    "MonitorJobSpec": "ray_apps.monitoring",
    "MonitorResult": "ray_apps.monitoring",
    "run_monitor": "ray_apps.monitoring",
    "TrainJobSpec": "ray_apps.spec",
    "load_train_spec": "ray_apps.spec",
    "TrainResult": "ray_apps.training",
    "run_training": "ray_apps.training",
    "run_tuning": "tuning",
    "TuneJobSpec": "tuning",
    "TuneResult": "tuning",
    "load_tune_spec": "tuning",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ray_apps' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
