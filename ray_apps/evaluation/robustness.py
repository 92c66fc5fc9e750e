"""Perturbation robustness: the metric when Gaussian noise is added to the features.

Noise of size ``s`` adds ``s · std_j · z`` to feature ``j``, with ``std_j`` the feature's
standard deviation on the test rows and ``z`` standard normal, drawn once from ``seed``, so a
larger level moves each value further the same way and the run repeats exactly. Constant and
non-numeric features are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ray_apps.evaluation.invariance import change_rate
from ray_apps.evaluation.overall import metrics_for, worsening
from ray_apps.evaluation.scoring import Scorer, require_columns


@dataclass(frozen=True)
class NoiseLevel:
    noise: float  # in feature stds
    value: float  # the metric under noise
    drop: float  # how much worse than without noise (> 0 worse)
    changed_share: float  # rows whose prediction changed (regression: by more than 1e-9)


@dataclass(frozen=True)
class Robustness:
    metric: str
    clean: float
    features: list[str]
    seed: int
    levels: list[NoiseLevel] = field(default_factory=list)

    @property
    def worst_drop(self) -> float:
        return max((lv.drop for lv in self.levels), default=0.0)


def add_noise(frame: pd.DataFrame, features: list[str], level: float, seed: int) -> pd.DataFrame:
    """``frame`` with ``level`` stds of seeded Gaussian noise on ``features``."""
    out = frame.copy()
    z = np.random.default_rng(seed).standard_normal((len(frame), len(features)))
    for j, name in enumerate(features):
        x = frame[name].to_numpy(dtype=float)
        out[name] = x + level * np.nanstd(x) * z[:, j]
    return out


def robustness(
    scorer: Scorer,
    frame: pd.DataFrame,
    y_true,
    *,
    task: str,
    classes: list,
    metric: str,
    noise: list[float],
    seed: int = 0,
    features: list[str] | None = None,
) -> Robustness:
    if features is None:
        features = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    require_columns(frame, features, "robustness.features")
    features = [c for c in features if np.nanstd(frame[c].to_numpy(dtype=float)) > 0]
    clean = scorer(frame)
    base = metrics_for(task, y_true, clean.predictions, clean.probabilities, classes)[metric]
    levels = []
    for level in noise:
        noisy = scorer(add_noise(frame, features, level, seed))
        value = metrics_for(task, y_true, noisy.predictions, noisy.probabilities, classes)[metric]
        changed = _changed(clean.predictions, noisy.predictions, task)
        levels.append(NoiseLevel(level, value, worsening(metric, base, value), changed))
    return Robustness(metric, base, features, seed, levels)


def _changed(before, after, task: str) -> float:
    return change_rate(before, after, tolerance=1e-9 if task == "regression" else None)
