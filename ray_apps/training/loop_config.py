"""The typed config every worker loop gets across the Ray boundary, built once from the spec.

Frozen and picklable: Ray ships it to each worker. Its values come from the validated job spec,
where each default is declared; nothing here has a default of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ray_apps.data import TabularData
from ray_apps.learners import get_learner
from ray_apps.preprocess import Preprocessor
from ray_apps.spec import FaultInjection, TrainJobSpec
from ray_apps.training.health import HealthSpec


@dataclass(frozen=True)
class FaultPlan:
    """A fault at the start of ``at_epoch`` (or at its checkpoint: ``at``) on ``rank``
    (``failure.inject`` of the spec)."""

    at_epoch: int
    rank: int
    mode: str
    delay_s: float | None = None
    at: str = "epoch"

    @classmethod
    def from_spec(cls, inject: FaultInjection | None) -> FaultPlan | None:
        if inject is None:
            return None
        return cls(inject.at_epoch, inject.rank, inject.mode, inject.delay_s, inject.at)

    def step_delay(self, epoch: int, rank: int) -> float:
        """Seconds ``rank`` sleeps before each training step of ``epoch`` (the ``slow`` drill)."""
        slow = self.mode == "slow" and rank == self.rank and epoch >= self.at_epoch
        return float(self.delay_s or 0.0) if slow else 0.0


@dataclass(frozen=True)
class MetricTarget:
    """The MLflow run that rank 0 logs live per-epoch metrics to."""

    uri: str
    run_id: str


@dataclass(frozen=True)
class LoopConfig:
    task: str  # "classification" | "regression"
    checkpoint_every: int
    seed: int
    unit: str  # "epoch" | "round": the learner's unit of progress
    epochs: int  # epochs or rounds to train in all
    learner: Any  # the learner's own frozen settings (TorchLoopSettings, XGBoostLoopSettings)
    run_dir: str | None  # run storage (run log, checkpoints); None in a one-process Tune trial
    inject: FaultPlan | None
    mlflow: MetricTarget | None
    health: HealthSpec | None  # the job's health rules; None: no extra signals, no rules
    # Object refs of the train / valid tables for a worker group (each rank reads its rows);
    # None: the session holds the tables itself (a run in this process, a Tune trial).
    frames: Mapping[str, Any] | None

    def for_run(
        self, run_dir: str, inject: FaultPlan | None, mlflow: MetricTarget | None
    ) -> LoopConfig:
        """This config for a Ray Train run in ``run_dir``."""
        return replace(self, run_dir=run_dir, inject=inject, mlflow=mlflow)

    def for_worker_group(self, frames: Mapping[str, Any]) -> LoopConfig:
        """This config with the tables' object refs, for a worker group's ranks to read."""
        return replace(self, frames=dict(frames))


def loop_config(spec: TrainJobSpec, data: TabularData, pre: Preprocessor) -> LoopConfig:
    """The loops' config for ``spec`` (no run folder, fault or MLflow run yet: see for_run)."""
    learner = get_learner(spec.model.kind)
    return LoopConfig(
        task=data.task,
        checkpoint_every=spec.checkpoint.every,
        seed=spec.dataset.split.seed,
        unit=learner.unit,
        epochs=spec.epochs,
        learner=learner.loop_settings(spec, data, pre),
        run_dir=None,
        inject=None,
        mlflow=None,
        health=spec.health,
        frames=None,
    )
