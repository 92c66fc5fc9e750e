"""One training job's pieces, shared by a training run and by every tuning trial.

Data and preprocessing, the loop function and its config, the Ray Train trainer, and turning
a checkpoint into a model and a model artifact.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ray_apps.artifact import Model, ModelInfo, write_artifact
from ray_apps.data import TabularData, load_dataset
from ray_apps.lineage import lineage
from ray_apps.metrics import classification_metrics, regression_metrics
from ray_apps.preprocess import Preprocessor
from ray_apps.spec import TorchHyperparameters, TrainJobSpec


def prepare_data(spec: TrainJobSpec) -> tuple[TabularData, Preprocessor]:
    """Load and split the dataset, and fit the preprocessing the model kind needs."""
    data = load_dataset(spec.dataset)
    pre = Preprocessor.fit(
        data.train, data.feature_names, data.label, data.classes, scale=spec.model.kind == "torch"
    )
    return data, pre


def tables(data: TabularData, pre: Preprocessor) -> dict[str, pd.DataFrame]:
    """The train and valid splits as the loops read them: preprocessed features + ``__y``."""
    out = {}
    for name, frame in (("train", data.train), ("valid", data.valid)):
        table = pd.DataFrame(pre.transform(frame), columns=pre.features)
        table["__y"] = pre.encode_label(frame[data.label])
        out[name] = table
    return out


def xgb_params(spec: TrainJobSpec, data: TabularData) -> dict[str, Any]:
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


def reported_metrics(spec: TrainJobSpec, data: TabularData) -> set[str]:
    """The metric names the loop reports every epoch / round (what a tuner may optimise)."""
    if spec.model.kind == "torch":
        names = {"train_loss", "val_loss"}
        return names | ({"val_accuracy"} if data.task == "classification" else set())
    metric = xgb_params(spec, data).get("eval_metric")
    metric = [metric] if isinstance(metric, str) else list(metric or [])
    return {f"valid_{m}" for m in metric}


def loop_config(spec: TrainJobSpec, data: TabularData, pre: Preprocessor) -> dict[str, Any]:
    """The config every worker's loop gets (without run-specific keys such as run_dir)."""
    common = {
        "task": data.task,
        "checkpoint_every": spec.checkpoint.every,
        "seed": spec.dataset.split.seed,
        "unit": "epoch" if spec.model.kind == "torch" else "round",
    }
    hp = spec.hyperparameters
    if isinstance(hp, TorchHyperparameters):
        return (
            common
            | hp.model_dump()
            | {
                "class_path": spec.model.resolved_class_path,
                "model_params": spec.model.params,
                "n_features": len(pre.features),
                "n_outputs": pre.n_outputs,
            }
        )
    return common | {
        "rounds": hp.rounds,
        "params": xgb_params(spec, data),
        "features": pre.features,
    }


def loop_function(kind: str):
    if kind == "torch":
        from ray_apps.training._torch_loop import train_loop
    else:
        from ray_apps.training._xgboost_loop import train_loop
    return train_loop


def build_trainer(spec: TrainJobSpec, config: dict[str, Any], frames: dict, run_config):
    """A Ray Train trainer for ``spec``, its workers sharding ``frames`` through Ray Data."""
    import ray.data
    import ray.train

    scaling = ray.train.ScalingConfig(
        num_workers=spec.scaling.num_workers,
        use_gpu=spec.scaling.use_gpu,
        resources_per_worker=spec.scaling.resources_per_worker,
    )
    datasets = {name: ray.data.from_pandas(frame) for name, frame in frames.items()}
    if spec.model.kind == "torch":
        from ray.train.torch import TorchConfig, TorchTrainer

        return TorchTrainer(
            loop_function("torch"),
            train_loop_config=config,
            # A lost peer must fail the collective (and so trigger a restart) within
            # collective_timeout_s instead of hanging the group (ray#22349).
            torch_config=TorchConfig(
                backend="nccl" if spec.scaling.use_gpu else "gloo",
                timeout_s=spec.failure.collective_timeout_s,
            ),
            scaling_config=scaling,
            run_config=run_config,
            datasets=datasets,
        )
    from ray.train.xgboost import XGBoostTrainer

    return XGBoostTrainer(
        loop_function("xgboost"),
        train_loop_config=config,
        scaling_config=scaling,
        run_config=run_config,
        datasets=datasets,
    )


def model_from_checkpoint(
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


def evaluate(model: Model, frame: pd.DataFrame) -> dict[str, float]:
    """Test metrics of ``model`` on ``frame`` (which holds the label column)."""
    y = frame[model.info.label].to_numpy()
    if model.info.task == "classification":
        return classification_metrics(y, model.predict_proba(frame), model.info.classes)
    return regression_metrics(y, model.predict(frame))


@dataclass(frozen=True)
class _Written:
    local: Path  # a local copy (for MLflow)
    final: str  # where it lives (run storage)


def write_model_artifact(
    run_dir, model: Model, spec, data: TabularData, metrics, mlflow_run_id
) -> _Written:
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
