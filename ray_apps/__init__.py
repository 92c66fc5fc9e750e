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

    from ray_apps import run_tuning
    tuned = run_tuning("examples/tune_xgboost.yaml")  # leaderboard, best_config, artifact_path
"""

from ray_apps.artifact import Model, load_model
from ray_apps.batch import BatchJobSpec, BatchResult, read_output, run_batch
from ray_apps.capture import read_capture
from ray_apps.errors import (
    ArtifactIntegrityError,
    DataError,
    NotFoundError,
    RaymakerError,
    SpecError,
    TrainingError,
)
from ray_apps.spec import TrainJobSpec, load_train_spec
from ray_apps.training import TrainResult, run_training

__all__ = [
    "ArtifactIntegrityError",
    "BatchJobSpec",
    "BatchResult",
    "DataError",
    "Model",
    "NotFoundError",
    "RaymakerError",
    "SpecError",
    "TrainJobSpec",
    "TrainResult",
    "TrainingError",
    "load_model",
    "load_train_spec",
    "load_tune_spec",
    "read_capture",
    "read_output",
    "run_batch",
    "run_training",
    "run_tuning",
    "TuneJobSpec",
    "TuneResult",
]

# The tuning package builds on this one: import it on first use, not at import time.
_TUNING = {"run_tuning", "TuneJobSpec", "TuneResult", "load_tune_spec"}


def __getattr__(name: str):
    if name in _TUNING:
        import tuning

        return getattr(tuning, name)
    raise AttributeError(f"module 'ray_apps' has no attribute {name!r}")
