"""The PyTorch learner: any ``torch.nn.Module`` named by ``model.class_path``, trained under the
job's strategy (``scaling.strategy``: DDP, DeepSpeed ZeRO, FSDP — ``ray_apps.learners.strategies``).

Weights live in one format, read and written here only: an fp32 ``state_dict``. A checkpoint
holds it (with the epoch, metrics and, beside it, the strategy's own files with the optimizer)
in ``state.pt``; an artifact holds it alone in ``model.pt``, whatever strategy trained it.
Importing this file imports no torch: each method imports it when it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ray_apps.learners.base import Learner

if TYPE_CHECKING:
    from ray_apps.artifact import ModelInfo

DEFAULT_MLP = "ray_apps.training.models:TabularMLP"  # artifacts record this path: keep it
STATE_FILE = "state.pt"  # checkpoint: {"model", "epoch", "metrics", "engine_outputs"}
WEIGHTS_FILE = "model.pt"  # artifact: the model's state_dict


class TorchHyperparameters(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: int = Field(10, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"


@dataclass(frozen=True)
class TorchLoopSettings:
    """The torch part of a worker loop's config."""

    hyperparameters: TorchHyperparameters
    class_path: str
    model_params: dict[str, Any] = field(hash=False)
    n_features: int
    n_outputs: int
    strategy: Any  # the job's scaling.strategy options (frozen pydantic)


def strategy_backend(spec):
    """Ray Train's backend for the job's training strategy (``scaling.strategy.kind``)."""
    from ray_apps.learners.strategies import get_strategy

    return get_strategy(spec.scaling.strategy.kind).backend(spec)


def build_module(class_path: str, n_features: int, n_outputs: int, params: dict):
    from ray_apps.training.models import build_model

    return build_model(class_path, n_features, n_outputs, params)


def read_state(folder: str | Path) -> dict[str, Any]:
    """A checkpoint's saved state (whole fp32 model, epoch, metrics, engine outputs)."""
    import torch

    return torch.load(Path(folder) / STATE_FILE, map_location="cpu", weights_only=False)


def write_state(folder: str | Path, model: dict, metrics: dict[str, Any], probe: dict) -> None:
    """``probe``: a few validation rows and the engine's outputs on them, so that a model
    loaded from this checkpoint can be checked to predict what the training engine did."""
    import torch

    state = {"model": model, "epoch": metrics["epoch"], "metrics": metrics}
    torch.save({**state, "engine_outputs": probe}, Path(folder) / STATE_FILE)


class TorchLearner(Learner):
    name = "torch"
    hyperparameters = TorchHyperparameters
    unit = "epoch"
    standardises = True
    takes_class_path = True
    strategy: Callable = staticmethod(strategy_backend)
    takes_strategy = True

    def progress(self, hyperparameters: TorchHyperparameters) -> int:
        return hyperparameters.epochs

    def check_model(self, model) -> None:
        if model.class_path and ":" not in model.class_path:
            raise ValueError(
                f"model.class_path {model.class_path!r} must look like 'package.module:Class'"
            )

    def artifact_model(self, model) -> tuple[str | None, dict[str, Any]]:
        return model.class_path or DEFAULT_MLP, dict(model.params)

    def reported_metrics(self, spec, data) -> set[str]:
        names = {"train_loss", "val_loss"}
        return names | ({"val_accuracy"} if data.task == "classification" else set())

    def loop_settings(self, spec, data, pre) -> TorchLoopSettings:
        class_path, params = self.artifact_model(spec.model)
        return TorchLoopSettings(
            hyperparameters=spec.hyperparameters,
            class_path=class_path,
            model_params=params,
            n_features=len(pre.features),
            n_outputs=pre.n_outputs,
            strategy=spec.scaling.strategy,
        )

    def loop_function(self) -> Callable:
        from ray_apps.learners._torch_loop import train_loop

        return train_loop

    def trainer(self, spec, config, *, scaling, run_config, datasets):
        from ray.train.torch import TorchTrainer

        return TorchTrainer(
            self.loop_function(),
            train_loop_config=config,
            torch_config=self.strategy(spec),
            scaling_config=scaling,
            run_config=run_config,
            datasets=datasets,
        )

    def _module(self, state_dict: dict, info: ModelInfo):
        module = build_module(
            info.class_path, len(info.features), info.preprocessor.n_outputs, info.model_params
        )
        module.load_state_dict(state_dict)
        return module.eval()

    def from_checkpoint(self, folder: Path, info: ModelInfo):
        return self._module(read_state(folder)["model"], info)

    def save_weights(self, predictor, folder: Path) -> None:
        import torch

        torch.save(predictor.state_dict(), folder / WEIGHTS_FILE)

    def load_weights(self, folder: Path, info: ModelInfo):
        import torch

        return self._module(
            torch.load(folder / WEIGHTS_FILE, map_location="cpu", weights_only=True), info
        )

    def predict(self, predictor, x: np.ndarray, info: ModelInfo) -> np.ndarray:
        import torch

        with torch.no_grad():
            out = predictor(torch.from_numpy(x)).numpy().astype(np.float64)
        if info.task == "classification":
            out = np.exp(out - out.max(axis=1, keepdims=True))
            return out / out.sum(axis=1, keepdims=True)
        return info.preprocessor.decode_regression(out[:, 0])

    def margin(self, predictor, x: np.ndarray, info: ModelInfo) -> np.ndarray:
        import torch

        with torch.no_grad():
            out = predictor(torch.from_numpy(np.asarray(x, np.float32))).numpy()
        out = out.astype(np.float64)
        if info.task == "regression":
            return info.preprocessor.decode_regression(out[:, 0])[:, None]
        if out.shape[1] == 2:  # softmax of two scores = sigmoid of their difference
            return out[:, 1:] - out[:, :1]
        return out
