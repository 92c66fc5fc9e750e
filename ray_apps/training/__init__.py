"""Distributed training on Ray Train: PyTorch (DDP, DeepSpeed ZeRO, FSDP) and XGBoost, restartable.

``run_training(spec)`` is what the CLI, ``python -m ray_apps.train`` and notebooks call. The
other names are the run envelope and job pieces that tuning builds on (one trial is one
training job): a run folder, its MLflow run, data, the loops' typed config, the trainer, and
packaging the final model.

The names load on first use: the job spec imports ``ray_apps.training.health`` (its
``health:`` section), which must not pull the runner (and the spec with it) in.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

_WHERE = {
    "PackagedModel": "envelope",
    "RunFolder": "envelope",
    "TrackedRun": "envelope",
    "find_run_folder": "envelope",
    "new_run_folder": "envelope",
    "package_model": "envelope",
    "saved_job": "envelope",
    "tracked_run": "envelope",
    "build_trainer": "job",
    "fit_trainer": "job",
    "prepare_data": "job",
    "reported_metrics": "job",
    "tables": "job",
    "FaultPlan": "loop_config",
    "LOCAL_MAX_BYTES": "placement",
    "LoopConfig": "loop_config",
    "MetricTarget": "loop_config",
    "loop_config": "loop_config",
    "TrainResult": "runner",
    "run_training": "runner",
    "Session": "session",
    "HealthWatch": "health",
}

__all__ = [
    "LOCAL_MAX_BYTES",
    "FaultPlan",
    "HealthWatch",
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


class _Training(types.ModuleType):
    """``loop_config`` names a submodule and the function in it. The import system sets a
    loaded submodule on its package; the function is the public name, so it stays that."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "loop_config" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Training


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'ray_apps.training' has no attribute {name!r}")
    return getattr(importlib.import_module(f"ray_apps.training.{_WHERE[name]}"), name)


if TYPE_CHECKING:
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
    from ray_apps.training.health import HealthWatch
    from ray_apps.training.job import (
        build_trainer,
        fit_trainer,
        prepare_data,
        reported_metrics,
        tables,
    )
    from ray_apps.training.loop_config import FaultPlan, LoopConfig, MetricTarget, loop_config
    from ray_apps.training.placement import LOCAL_MAX_BYTES
    from ray_apps.training.runner import TrainResult, run_training
    from ray_apps.training.session import Session
