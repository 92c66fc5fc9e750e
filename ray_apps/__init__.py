"""raymaker: training, tuning, hosting and monitoring of ML models on Ray.

The notebook API::

    from ray_apps import TrainJobSpec, run_training, load_model

    result = run_training("examples/train_mlp.yaml")    # or a TrainJobSpec / dict
    result.metrics, result.artifact_path, result.mlflow_run_id
    model = load_model(result.artifact_path)
    model.predict(rows)
"""

from ray_apps.artifact import Model, load_model
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
    "run_training",
]
