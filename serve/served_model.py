"""A model version loaded for serving, and one prediction call on it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ray_apps.artifact import Model
from ray_apps.prediction import Prediction, from_scores

__all__ = ["Prediction", "ServedModel", "check_matrix"]


@dataclass(frozen=True)
class ServedModel:
    """A registered version, verified and loaded; what the protocols answer for."""

    name: str
    version: int
    status: str
    model: Model

    @property
    def features(self) -> list[str]:
        return self.model.info.feature_names

    @property
    def is_classifier(self) -> bool:
        return self.model.info.task == "classification"

    @property
    def classes(self) -> list:
        return list(self.model.info.classes)

    def predict(self, x: np.ndarray) -> Prediction:
        """``x``: finite floats, shape (n, len(features)), columns in feature order."""
        info = self.model.info
        return from_scores(self.model.predict_matrix(x), info.task, info.classes)


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_matrix(x: np.ndarray, features: list[str], where: str) -> np.ndarray:
    """Shape, dtype and finiteness checks shared by V1 and V2; returns float64 (n, f)."""
    from ray_apps.errors import SpecError

    if x.dtype.kind not in "iuf":
        kind = {"b": "booleans", "U": "strings", "S": "bytes", "O": "mixed values"}.get(
            x.dtype.kind, str(x.dtype)
        )
        raise SpecError(f"{where}: got {kind}; expected numbers for the features {features}")
    if x.ndim != 2 or x.shape[1] != len(features):
        raise SpecError(
            f"{where}: got shape {list(x.shape)}; expected [n, {len(features)}] with columns "
            f"{features}"
        )
    if x.shape[0] == 0:
        raise SpecError(f"{where}: the batch is empty; send at least one row")
    x = x.astype(np.float64, copy=False)
    if not np.isfinite(x).all():
        rows, cols = np.nonzero(~np.isfinite(x))
        raise SpecError(
            f"{where}: row {int(rows[0])} feature {features[int(cols[0])]!r} is NaN or "
            "infinite; send finite numbers (missing values are not accepted)"
        )
    # Models read features as float32: a larger value would reach them as infinite (XGBoost's
    # DMatrix, which SHAP builds, refuses that: a 500 on :explain, found fuzzing the endpoint).
    too_large = np.abs(x) > _FLOAT32_MAX
    if too_large.any():
        rows, cols = np.nonzero(too_large)
        r, c = int(rows[0]), int(cols[0])
        raise SpecError(
            f"{where}: row {r} feature {features[c]!r} is {x[r, c]:g}, beyond what the model "
            f"reads (32-bit floats, at most ±{_FLOAT32_MAX:.3g}); send a value within that range"
        )
    return x
