"""Invariance test: changing a feature the model must ignore must not change its predictions.

The feature is set to each of the given values (every row, once per value) or shuffled across
rows with a seed; the change rate is the share of compared rows whose prediction changed: a
different class label, or a regression value moved by more than ``tolerance``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ray_apps.evaluation.scoring import Scorer, require_columns


@dataclass(frozen=True)
class Invariance:
    feature: str
    change: str  # "shuffle" | "values [..]"
    compared: int  # row comparisons: rows × values, or rows when shuffled
    changed: int
    change_rate: float


def change_rate(before, after, *, tolerance: float | None = None) -> float:
    """Share of positions where ``after`` differs from ``before``: labels compared exactly
    (``tolerance=None``), numbers by more than ``tolerance``."""
    return _changed(before, after, tolerance).mean() if len(before) else 0.0


def _changed(before, after, tolerance) -> np.ndarray:
    b, a = np.asarray(before), np.asarray(after)
    if tolerance is None:
        return b != a
    return np.abs(a.astype(float) - b.astype(float)) > tolerance


def invariance(
    scorer: Scorer,
    frame: pd.DataFrame,
    feature: str,
    *,
    values: list | None = None,
    shuffle: bool = False,
    seed: int = 0,
    tolerance: float | None = None,
) -> Invariance:
    """``tolerance``: None for class labels, a number for regression values."""
    require_columns(frame, [feature], "invariance.feature")
    before = scorer(frame).predictions
    variants = []
    if shuffle:
        moved = frame.copy()
        perm = np.random.default_rng(seed).permutation(len(frame))
        moved[feature] = frame[feature].to_numpy()[perm]
        variants.append(moved)
    for value in values or []:
        variants.append(frame.assign(**{feature: value}))
    flags = np.concatenate(
        [_changed(before, scorer(v).predictions, tolerance) for v in variants]
        or [np.zeros(0, bool)]
    )
    change = "shuffle" if shuffle else f"values {list(values or [])}"
    n = int(flags.size)
    return Invariance(feature, change, n, int(flags.sum()), float(flags.mean()) if n else 0.0)
