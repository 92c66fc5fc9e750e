"""Run one training job: data → Ray Train (with restarts) → artifact → MLflow."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ray_apps import settings, tracking
from ray_apps._ray_runtime import ensure_ray
from ray_apps.artifact import Model, ModelInfo, load_model, write_artifact
from ray_apps.data import TabularData, load_dataset
from ray_apps.errors import NotFoundError, SpecError, TrainingError
from ray_apps.lineage import lineage
from ray_apps.metrics import classification_metrics, regression_metrics
from ray_apps.preprocess import Preprocessor
from ray_apps.spec import TorchHyperparameters, TrainJobSpec, load_train_spec, parse_spec
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
        spec = _as_spec(spec)
        root = _absolute(storage or spec.storage or settings.storage_path())
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = f"{root}/{spec.name}-{stamp}-{uuid.uuid4().hex[:6]}"
    run_log = RunLog(run_dir)
    print(
        f"[raymaker] run {Path(run_dir).name} ({'resuming' if resume else 'new'}): {run_dir}",
        flush=True,
    )
    data = load_dataset(spec.dataset)
    pre = Preprocessor.fit(
        data.train, data.feature_names, data.label, data.classes, scale=spec.model.kind == "torch"
    )
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

    try:
        result = _fit(spec, data, pre, run_dir, {"uri": uri, "run_id": mlflow_run_id})
    except TrainingError:
        tracking.finish_run(uri, mlflow_run_id, failed=True)
        raise
    model = _model_from_checkpoint(spec, data, pre, result.checkpoint)
    metrics = evaluate(model, data.test)
    artifact = _write(run_dir, model, spec, data, metrics, mlflow_run_id)
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


def evaluate(model: Model, frame: pd.DataFrame) -> dict[str, float]:
    """Test metrics of ``model`` on ``frame`` (which holds the label column)."""
    y = frame[model.info.label].to_numpy()
    if model.info.task == "classification":
        return classification_metrics(y, model.predict_proba(frame), model.info.classes)
    return regression_metrics(y, model.predict(frame))


def _as_spec(spec: Any) -> TrainJobSpec:
    if isinstance(spec, TrainJobSpec):
        return spec
    if isinstance(spec, dict):
        return parse_spec(TrainJobSpec, spec)
    if isinstance(spec, (str, os.PathLike)):
        return load_train_spec(spec)
    raise SpecError("run_training needs a TrainJobSpec, a dict or a YAML path (or resume=<run>)")


def _absolute(path: str) -> str:
    return path if "://" in path else str(Path(path).resolve())


def _resumed(resume: str, spec: Any, storage: str | None) -> tuple[TrainJobSpec, str]:
    candidates = [resume] if ("/" in resume or "://" in resume) else []
    if spec is not None:
        spec = _as_spec(spec)
        candidates.append(f"{storage or spec.storage or settings.storage_path()}/{resume}")
    candidates.append(f"{storage or settings.storage_path()}/{resume}")
    for run_dir in candidates:
        run_dir = _absolute(run_dir)
        saved = RunLog(run_dir).job()
        if saved:
            return parse_spec(TrainJobSpec, saved["spec"], source=f"{run_dir} job"), run_dir
    raise NotFoundError(
        f"no run {resume!r} to resume under {candidates}; pass the run name printed at its start "
        "(or its folder), and the same storage"
    )


def _datasets(data: TabularData, pre: Preprocessor) -> dict[str, Any]:
    import ray.data

    out = {}
    for name, frame in (("train", data.train), ("valid", data.valid)):
        table = pd.DataFrame(pre.transform(frame), columns=pre.features)
        table["__y"] = pre.encode_label(frame[data.label])
        out[name] = ray.data.from_pandas(table)
    return out


def _xgb_params(spec: TrainJobSpec, data: TabularData) -> dict[str, Any]:
    params: dict[str, Any] = {"tree_method": "hist", "nthread": 1}
    if data.task == "regression":
        params |= {"objective": "reg:squarederror", "eval_metric": "rmse"}
    elif len(data.classes) == 2:
        params |= {"objective": "binary:logistic", "eval_metric": "logloss"}
    else:
        params |= {
            "objective": "multi:softprob",
            "num_class": len(data.classes),
            "eval_metric": "mlogloss",
        }
    return params | spec.hyperparameters.params  # the user's keys win, passed through unchanged


def _fit(spec: TrainJobSpec, data: TabularData, pre: Preprocessor, run_dir: str, mlflow: dict):
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
    scaling = ray.train.ScalingConfig(
        num_workers=spec.scaling.num_workers,
        use_gpu=spec.scaling.use_gpu,
        resources_per_worker=spec.scaling.resources_per_worker,
    )
    common = {
        "run_dir": run_dir,
        "task": data.task,
        "checkpoint_every": spec.checkpoint.every,
        "inject": spec.failure.inject.model_dump() if spec.failure.inject else None,
        "seed": spec.dataset.split.seed,
        "mlflow": mlflow,
    }
    hp = spec.hyperparameters
    if isinstance(hp, TorchHyperparameters):
        from ray.train.torch import TorchConfig, TorchTrainer

        from ray_apps.training._torch_loop import train_loop

        trainer = TorchTrainer(
            train_loop,
            train_loop_config=common
            | hp.model_dump()
            | {
                "class_path": spec.model.resolved_class_path,
                "model_params": spec.model.params,
                "n_features": len(pre.features),
                "n_outputs": pre.n_outputs,
            },
            # A lost peer must fail the collective (and so trigger a restart) within
            # collective_timeout_s instead of hanging the group (ray#22349).
            torch_config=TorchConfig(
                backend="nccl" if spec.scaling.use_gpu else "gloo",
                timeout_s=spec.failure.collective_timeout_s,
            ),
            scaling_config=scaling,
            run_config=run_config,
            datasets=_datasets(data, pre),
        )
    else:
        from ray.train.xgboost import XGBoostTrainer

        from ray_apps.training._xgboost_loop import train_loop

        trainer = XGBoostTrainer(
            train_loop,
            train_loop_config=common
            | {
                "rounds": hp.rounds,
                "params": _xgb_params(spec, data),
                "features": pre.features,
            },
            scaling_config=scaling,
            run_config=run_config,
            datasets=_datasets(data, pre),
        )
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


def _model_from_checkpoint(
    spec: TrainJobSpec, data: TabularData, pre: Preprocessor, checkpoint
) -> Model:
    info = ModelInfo(
        kind=spec.model.kind,
        task=data.task,
        label=data.label,
        features=[{"name": f.name, "dtype": f.dtype} for f in data.features],
        classes=data.classes,
        preprocessor=pre,
        class_path=spec.model.resolved_class_path if spec.model.kind == "torch" else None,
        model_params=dict(spec.model.params),
    )
    with checkpoint.as_directory() as d:
        if spec.model.kind == "torch":
            import torch

            from ray_apps.training._torch_loop import STATE_FILE
            from ray_apps.training.models import build_model

            state = torch.load(os.path.join(d, STATE_FILE), map_location="cpu", weights_only=False)
            module = build_model(
                info.class_path, len(info.features), pre.n_outputs, info.model_params
            )
            module.load_state_dict(state["model"])
            module.eval()
            return Model(info, module)
        import xgboost as xgb

        from ray_apps.training._xgboost_loop import MODEL_FILE

        booster = xgb.Booster()
        booster.load_model(os.path.join(d, MODEL_FILE))
        return Model(info, booster)


@dataclass(frozen=True)
class _Written:
    local: Path  # a local copy (for MLflow)
    final: str  # where it lives (run storage)


def _write(run_dir, model: Model, spec, data: TabularData, metrics, mlflow_run_id) -> _Written:
    remote = "://" in run_dir
    local = (
        Path(tempfile.mkdtemp(prefix="raymaker-artifact-"))
        if remote
        else Path(run_dir) / "artifact"
    )
    write_artifact(
        local,
        model.info,
        model._predictor,
        metrics=metrics,
        job=spec.model_dump(mode="json"),
        lineage=lineage(Path(run_dir).name, data, mlflow_run_id),
        baseline=data.train,
    )
    if not remote:
        return _Written(local, str(local))
    import pyarrow.fs as pafs

    final = f"{run_dir}/artifact"
    pafs.copy_files(str(local), final)
    return _Written(local, final)
