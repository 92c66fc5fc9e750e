"""Directional expectation test: raising a feature must not move the score the wrong way.

Every row's feature is raised by ``delta``; the score is a regressor's value or a class's
probability (the positive class of a binary model). With ``direction="increasing"`` a row
violates the expectation when its score drops by more than ``tolerance``; with
``"decreasing"``, when it rises. The violation rate is the share of rows that do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ray_apps.evaluation.scoring import Scorer, require_columns, score_column


@dataclass(frozen=True)
class Directional:
    feature: str
    delta: float
    direction: str  # "increasing" | "decreasing"
    score: str  # "value" or "P(<class>)"
    rows: int
    violations: int
    violation_rate: float
    mean_change: float  # mean score change: how strongly the model follows the feature


def violations(before, after, direction: str = "increasing", tolerance: float = 1e-9):
    """A boolean per row: did the score move against ``direction`` by more than ``tolerance``?"""
    change = np.asarray(after, dtype=float) - np.asarray(before, dtype=float)
    return change < -tolerance if direction == "increasing" else change > tolerance


def directional(
    scorer: Scorer,
    frame: pd.DataFrame,
    feature: str,
    delta: float,
    *,
    direction: str = "increasing",
    target_class=None,
    tolerance: float = 1e-9,
) -> Directional:
    require_columns(frame, [feature], "directional.feature")
    before = scorer(frame)
    raised = frame.assign(**{feature: frame[feature].to_numpy(dtype=float) + delta})
    after = scorer(raised)
    b, a = score_column(before, target_class), score_column(after, target_class)
    bad = violations(b, a, direction, tolerance)
    n = len(b)
    if not before.is_classifier:
        score = "value"
    else:
        score = f"P({target_class if target_class is not None else before.classes[1]})"
    return Directional(
        feature,
        delta,
        direction,
        score,
        n,
        int(bad.sum()),
        float(bad.mean()) if n else 0.0,
        float(np.mean(a - b)) if n else 0.0,
    )
