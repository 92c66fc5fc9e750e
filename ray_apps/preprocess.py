"""The preprocessing a model needs, fitted on training rows and stored in its artifact.

Features are standardised (mean 0, std 1) for neural networks; XGBoost takes raw values.
Class labels become indices 0..K-1; regression targets are standardised for neural networks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ray_apps.errors import DataError


@dataclass(frozen=True)
class Preprocessor:
    features: list[str]
    classes: list = field(default_factory=list)  # empty for regression
    scale_features: bool = True
    means: list[float] = field(default_factory=list)
    stds: list[float] = field(default_factory=list)
    y_mean: float = 0.0
    y_std: float = 1.0

    @classmethod
    def fit(
        cls, train: pd.DataFrame, features: list[str], label: str, classes: list, scale: bool
    ) -> Preprocessor:
        x = train[features].to_numpy(dtype=np.float64)
        means = np.nanmean(x, axis=0) if scale else np.zeros(len(features))
        stds = np.nanstd(x, axis=0) if scale else np.ones(len(features))
        stds = np.where(stds > 1e-12, stds, 1.0)  # constant columns stay finite
        y_mean, y_std = 0.0, 1.0
        if not classes and scale:
            y = train[label].to_numpy(dtype=np.float64)
            y_mean, y_std = float(y.mean()), float(y.std() or 1.0)
        return cls(
            features=list(features),
            classes=list(classes),
            scale_features=scale,
            means=[float(m) for m in means],
            stds=[float(s) for s in stds],
            y_mean=y_mean,
            y_std=y_std,
        )

    @property
    def n_outputs(self) -> int:
        return len(self.classes) or 1

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Feature matrix (float32) in the model's column order."""
        missing = [f for f in self.features if f not in frame.columns]
        if missing:
            raise DataError(f"missing feature columns {missing}; the model expects {self.features}")
        return self.transform_array(frame[self.features].to_numpy(dtype=np.float32))

    def transform_array(self, x: np.ndarray) -> np.ndarray:
        """The same for a 2-D array whose columns are already in ``features`` order."""
        x = np.asarray(x, dtype=np.float32)
        if self.scale_features:
            x = (x - np.asarray(self.means, np.float32)) / np.asarray(self.stds, np.float32)
        return x

    def encode_label(self, values: pd.Series | np.ndarray) -> np.ndarray:
        if self.classes:
            index = {c: i for i, c in enumerate(self.classes)}
            return np.asarray([index[v] for v in np.asarray(values).tolist()], dtype=np.int64)
        y = np.asarray(values, dtype=np.float32)
        return (y - self.y_mean) / self.y_std

    def decode_regression(self, y: np.ndarray) -> np.ndarray:
        return np.asarray(y, dtype=np.float64) * self.y_std + self.y_mean

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessor:
        return cls(**data)
