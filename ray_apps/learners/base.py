"""What a learner is: the small contract every model family (torch, xgboost, …) fulfils.

Training, tuning, artifacts and serving talk to a learner only through this class; nothing
outside ``ray_apps/learners/`` branches on a learner's name. A learner owns its
hyperparameter schema, its worker loop, its Ray trainer, and the one place its weights are
written and read (checkpoints and artifacts share it).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel

if TYPE_CHECKING:
    from ray_apps.artifact import ModelInfo
    from ray_apps.data import TabularData
    from ray_apps.preprocess import Preprocessor
    from ray_apps.spec import ModelSpec, TrainJobSpec


class Learner(ABC):
    name: ClassVar[str]
    hyperparameters: ClassVar[type[BaseModel]]  # the schema of ``hyperparameters:``
    unit: ClassVar[Literal["epoch", "round"]]  # what one step of progress (and checkpoint) is
    standardises: ClassVar[bool]  # features (and regression targets) scaled to mean 0, std 1
    takes_class_path: ClassVar[bool] = False  # ``model.class_path`` names its model class
    takes_strategy: ClassVar[bool] = False  # trains under ``scaling.strategy`` (ddp, deepspeed…)
    # How SHAP explains it (ray_apps.explain): "tree" reads the predictor's trees (exact);
    # "permutation" only calls ``margin`` (model-agnostic, over a background sample).
    explainer: ClassVar[Literal["tree", "permutation"]] = "permutation"

    @abstractmethod
    def progress(self, hyperparameters: BaseModel) -> int:
        """How many epochs / rounds these hyperparameters train for."""

    def check_model(self, model: ModelSpec) -> None:
        """Raise ValueError naming the field if ``model:`` does not fit this learner."""
        if model.class_path and not self.takes_class_path:
            from ray_apps.learners import get_learner, learner_names

            takers = [n for n in learner_names() if get_learner(n).takes_class_path]
            raise ValueError(
                f"model.class_path applies to kind {' or '.join(map(repr, takers))} only; "
                f"remove it, or set kind: {takers[0]}"
            )

    def artifact_model(self, model: ModelSpec) -> tuple[str | None, dict[str, Any]]:
        """``(class_path, model_params)`` as the artifact records them."""
        return None, dict(model.params)

    @abstractmethod
    def reported_metrics(self, spec: TrainJobSpec, data: TabularData) -> set[str]:
        """The metric names the loop reports every epoch / round (what a tuner may optimise)."""

    @abstractmethod
    def loop_settings(self, spec: TrainJobSpec, data: TabularData, pre: Preprocessor) -> Any:
        """The learner's frozen, picklable part of the worker loops' config."""

    @abstractmethod
    def loop_function(self) -> Callable:
        """The worker loop: ``train_loop(config: LoopConfig, session=None)``."""

    @abstractmethod
    def trainer(self, spec: TrainJobSpec, config: Any, *, scaling, run_config, datasets):
        """The Ray Train trainer that runs ``loop_function()`` on every worker."""

    @abstractmethod
    def from_checkpoint(self, folder: Path, info: ModelInfo) -> Any:
        """The trained predictor (a module, a booster…) in a checkpoint folder its loop wrote."""

    @abstractmethod
    def save_weights(self, predictor: Any, folder: Path) -> None:
        """Write the predictor's weights into an artifact folder."""

    @abstractmethod
    def load_weights(self, folder: Path, info: ModelInfo) -> Any:
        """Read what ``save_weights`` wrote, ready to predict."""

    @abstractmethod
    def predict(self, predictor: Any, x: np.ndarray, info: ModelInfo) -> np.ndarray:
        """Probabilities (classifier, one column per class) or values (regressor) for a
        preprocessed float matrix."""

    @abstractmethod
    def margin(self, predictor: Any, x: np.ndarray, info: ModelInfo) -> np.ndarray:
        """The model's output before its link, ``(n, outputs)``, for a preprocessed float
        matrix: what explanations add up to. Log-odds of the second class (two classes, one
        column), per-class scores before softmax (more classes), values (regressor)."""

    def prepare_for_serving(self, predictor: Any) -> None:
        """Tune a loaded predictor for one request at a time (e.g. one thread).

        Nothing to do by default."""
        return None

    def default(self, path: str) -> Any | None:
        """The value a job trains with when the dotted ``path`` (``hyperparameters.lr``,
        ``hyperparameters.params.max_depth``) is unset; None when there is no known default."""
        prefix = "hyperparameters."
        field = self.hyperparameters.model_fields.get(path.removeprefix(prefix))
        if not path.startswith(prefix) or field is None or field.is_required():
            return None
        return field.get_default(call_default_factory=True)
