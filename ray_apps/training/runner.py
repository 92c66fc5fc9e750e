"""Run one training job: data → Ray Train (with restarts) → artifact → MLflow."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ray_apps import settings, tracking
from ray_apps._ray_runtime import ensure_ray
from ray_apps.artifact import Model, load_model
from ray_apps.errors import NotFoundError, SpecError, TrainingError
from ray_apps.spec import TrainJobSpec, load_train_spec, parse_spec
from ray_apps.training.job import (
    build_trainer,
    evaluate,
    loop_config,
    model_from_checkpoint,
    prepare_data,
    tables,
    write_model_artifact,
)
from ray_apps.training.run_log import RunLog


@dataclass(frozen=True)
class TrainResult:
    """What a finished training run left behind."""

    run_name: str
    run_dir: str
    artifact_path: str
    metrics: dict[str, float]  # on the held-out test split
    history: list[dict[str, Any]]  # per-epoch (or per-round) metrics
    attempts: list[dict[str, Any]] = field(default_factory=list)  # one per (re)start
    mlflow_run_id: str = ""
    tracking_uri: str = ""

    @property
    def restarts(self) -> int:
        return max(len(self.attempts) - 1, 0)

    def load_model(self) -> Model:
        return load_model(self.artifact_path)


def run_training(
    spec: TrainJobSpec | dict | str | os.PathLike | None = None,
    *,
    resume: str | None = None,
    storage: str | None = None,
) -> TrainResult:
    """Train ``spec`` on Ray Train and return the result; never exits the interpreter.

    ``spec`` may be a TrainJobSpec, a dict, or a YAML path. ``resume`` names an earlier run
    (its folder name under storage, or its full path) to continue from its last checkpoint;
    the job spec is then read from the run itself.
    """
    if resume:
        spec, run_dir = _resumed(resume, spec, storage)
    else:
        spec = as_train_spec(spec)
        root = absolute(storage or spec.storage or settings.storage_path())
        run_dir = f"{root}/{unique_name(spec.name)}"
    run_log = RunLog(run_dir)
    print(
        f"[raymaker] run {Path(run_dir).name} ({'resuming' if resume else 'new'}): {run_dir}",
        flush=True,
    )
    data, pre = prepare_data(spec)
    uri = tracking.resolve_uri(spec.tracking.uri)
    meta = run_log.job() or {}
    mlflow_run_id = meta.get("mlflow_run_id") or tracking.open_run(
        uri,
        spec.tracking.experiment,
        Path(run_dir).name,
        params=tracking.flatten(spec.model_dump(mode="json")),
        tags={"raymaker.run_dir": run_dir, "raymaker.data_fingerprint": data.fingerprint},
    )
    run_log.save_job({"spec": spec.model_dump(mode="json"), "mlflow_run_id": mlflow_run_id})

    config = loop_config(spec, data, pre) | {
        "run_dir": run_dir,
        "inject": spec.failure.inject.model_dump() if spec.failure.inject else None,
        "mlflow": {"uri": uri, "run_id": mlflow_run_id},
    }
    try:
        result = _fit(spec, config, tables(data, pre), run_dir)
    except TrainingError:
        tracking.finish_run(uri, mlflow_run_id, failed=True)
        raise
    model = model_from_checkpoint(spec, data, pre, result.checkpoint)
    metrics = evaluate(model, data.test)
    artifact = write_model_artifact(run_dir, model, spec, data, metrics, mlflow_run_id)
    tracking.finish_run(uri, mlflow_run_id, metrics=metrics, artifact_dir=artifact.local)
    return TrainResult(
        run_name=Path(run_dir).name,
        run_dir=run_dir,
        artifact_path=artifact.final,
        metrics=metrics,
        history=run_log.history(),
        attempts=run_log.attempts(),
        mlflow_run_id=mlflow_run_id,
        tracking_uri=uri,
    )


def unique_name(name: str) -> str:
    """``name-YYYYmmdd-HHMMSS-xxxxxx``: Ray resumes silently into an existing run folder."""
    return f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


def as_train_spec(spec: Any) -> TrainJobSpec:
    if isinstance(spec, TrainJobSpec):
        return spec
    if isinstance(spec, dict):
        return parse_spec(TrainJobSpec, spec)
    if isinstance(spec, (str, os.PathLike)):
        return load_train_spec(spec)
    raise SpecError("run_training needs a TrainJobSpec, a dict or a YAML path (or resume=<run>)")


def absolute(path: str) -> str:
    return path if "://" in path else str(Path(path).resolve())


def find_saved_run(resume: str, roots: list[str], key: str, what: str) -> tuple[dict, str]:
    """The saved job (``key`` of its run log) and folder of run ``resume``: a path, or a run
    name under one of ``roots``. NotFoundError names where it looked."""
    candidates = [resume] if ("/" in resume or "://" in resume) else []
    candidates += [f"{root}/{resume}" for root in roots]
    for run_dir in map(absolute, candidates):
        saved = RunLog(run_dir).job()
        if saved and key in saved:
            return saved[key], run_dir
    raise NotFoundError(
        f"no {what} {resume!r} to resume under {candidates}; pass the run name printed at its "
        "start (or its folder), and the same storage"
    )


def _resumed(resume: str, spec: Any, storage: str | None) -> tuple[TrainJobSpec, str]:
    roots = [storage or settings.storage_path()]
    if spec is not None:
        roots.insert(0, storage or as_train_spec(spec).storage or settings.storage_path())
    saved, run_dir = find_saved_run(resume, roots, "spec", "run")
    return parse_spec(TrainJobSpec, saved, source=f"{run_dir} job"), run_dir


def _fit(spec: TrainJobSpec, config: dict, frames: dict, run_dir: str):
    ensure_ray()
    import ray.train

    storage_root, name = run_dir.rsplit("/", 1)
    run_config = ray.train.RunConfig(
        name=name,
        storage_path=storage_root,
        checkpoint_config=ray.train.CheckpointConfig(num_to_keep=spec.checkpoint.keep),
        failure_config=ray.train.FailureConfig(max_failures=spec.failure.max_failures),
        # Ray Train's per-report INFO lines drown the per-epoch progress; warnings still show.
        logging_config=ray.train.LoggingConfig(log_level="WARNING"),
    )
    trainer = build_trainer(spec, config, frames, run_config)
    try:
        result = trainer.fit()
    except ray.train.TrainingFailedError as err:
        raise TrainingError(
            f"training run {name} failed after {spec.failure.max_failures} restart(s) allowed "
            f"by failure.max_failures: {err}. Fix the cause, then continue it with "
            f"`raymaker train --resume {name}`"
        ) from err
    if result.checkpoint is None:
        raise TrainingError(f"training run {name} ended without a checkpoint")
    return result
