"""The XGBoost learner: boosting rounds on Ray Train's XGBoost backend.

Weights live in one format, read and written here only: the booster's UBJSON ``model.ubj``,
the same file in a checkpoint and in an artifact. Importing this file imports no xgboost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ray_apps.learners.base import Learner

if TYPE_CHECKING:
    from ray_apps.artifact import ModelInfo

MODEL_FILE = "model.ubj"  # checkpoint and artifact alike
PARAMS_PREFIX = "hyperparameters.params."

# xgboost.train's documented defaults for common parameters (XGBoost 2/3 parameter docs),
# used where a job leaves a parameter unset: what a warm start needs to know it trained with.
XGBOOST_DEFAULTS: dict[str, float] = {
    "max_depth": 6,
    "eta": 0.3,
    "learning_rate": 0.3,
    "min_child_weight": 1,
    "subsample": 1,
    "colsample_bytree": 1,
    "colsample_bylevel": 1,
    "colsample_bynode": 1,
    "gamma": 0,
    "min_split_loss": 0,
    "lambda": 1,
    "reg_lambda": 1,
    "alpha": 0,
    "reg_alpha": 0,
    "max_delta_step": 0,
    "max_bin": 256,
}


class XGBoostHyperparameters(BaseModel):
    """``rounds`` boosting rounds; ``params`` go to ``xgboost.train`` unchanged."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rounds: int = Field(50, ge=1)
    params: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class XGBoostLoopSettings:
    """The XGBoost part of a worker loop's config."""

    params: dict[str, Any] = field(hash=False)  # for xgboost.train, objective included
    features: tuple[str, ...]


def xgb_params(spec, data) -> dict[str, Any]:
    """``xgboost.train`` parameters: an objective and metric for the task, then the user's."""
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


def write_booster(booster, folder: str | Path) -> None:
    booster.save_model(str(Path(folder) / MODEL_FILE))


def read_booster(folder: str | Path):
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(str(Path(folder) / MODEL_FILE))
    return booster


class XGBoostLearner(Learner):
    name = "xgboost"
    hyperparameters = XGBoostHyperparameters
    unit = "round"
    standardises = False
    explainer = "tree"

    def progress(self, hyperparameters: XGBoostHyperparameters) -> int:
        return hyperparameters.rounds

    def reported_metrics(self, spec, data) -> set[str]:
        metric = xgb_params(spec, data).get("eval_metric")
        metric = [metric] if isinstance(metric, str) else list(metric or [])
        return {f"valid_{m}" for m in metric}

    def loop_settings(self, spec, data, pre) -> XGBoostLoopSettings:
        return XGBoostLoopSettings(params=xgb_params(spec, data), features=tuple(pre.features))

    def loop_function(self) -> Callable:
        from ray_apps.learners._xgboost_loop import train_loop

        return train_loop

    def trainer(self, spec, config, *, scaling, run_config, datasets):
        from ray.train.xgboost import XGBoostTrainer

        return XGBoostTrainer(
            self.loop_function(),
            train_loop_config=config,
            scaling_config=scaling,
            run_config=run_config,
            datasets=datasets,
        )

    def from_checkpoint(self, folder: Path, info: ModelInfo):
        return read_booster(folder)

    def save_weights(self, predictor, folder: Path) -> None:
        write_booster(predictor, folder)

    def load_weights(self, folder: Path, info: ModelInfo):
        return read_booster(folder)

    def predict(self, predictor, x: np.ndarray, info: ModelInfo) -> np.ndarray:
        # inplace_predict skips the DMatrix copy; columns are already in training order.
        out = np.asarray(predictor.inplace_predict(x, validate_features=False), dtype=np.float64)
        if info.task == "classification" and out.ndim == 1:
            return np.stack([1.0 - out, out], axis=1)
        return out

    def margin(self, predictor, x: np.ndarray, info: ModelInfo) -> np.ndarray:
        out = predictor.inplace_predict(x, validate_features=False, predict_type="margin")
        out = np.asarray(out, dtype=np.float64)
        return out[:, None] if out.ndim == 1 else out

    def prepare_for_serving(self, predictor) -> None:
        predictor.set_param({"nthread": 1})  # one request, one core: no thread fan-out

    def default(self, path: str) -> Any | None:
        if path.startswith(PARAMS_PREFIX):
            return XGBOOST_DEFAULTS.get(path.removeprefix(PARAMS_PREFIX))
        return super().default(path)
