"""Distributed training on Ray Train: PyTorch (DDP, DeepSpeed ZeRO, FSDP) and XGBoost, restartable.

``run_training(spec)`` is what the CLI, ``python -m ray_apps.train`` and notebooks call. The
other names are the run envelope and job pieces that tuning builds on (one trial is one
training job): a run folder, its MLflow run, data, the loops' typed config, the trainer, and
packaging the final model.
"""

from ray_apps.training.envelope import (
    PackagedModel,
    RunFolder,
    TrackedRun,
    find_run_folder,
    new_run_folder,
    package_model,
    saved_job,
    tracked_run,
)
from ray_apps.training.job import build_trainer, prepare_data, reported_metrics, tables
from ray_apps.training.loop_config import FaultPlan, LoopConfig, MetricTarget, loop_config
from ray_apps.training.runner import TrainResult, run_training
from ray_apps.training.session import Session

__all__ = [
    "FaultPlan",
    "LoopConfig",
    "MetricTarget",
    "PackagedModel",
    "RunFolder",
    "Session",
    "TrackedRun",
    "TrainResult",
    "build_trainer",
    "find_run_folder",
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
