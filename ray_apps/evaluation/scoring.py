"""What the behavioural tests call: a scorer, rows in, a ``Prediction`` out.

Tests pass any function of a DataFrame (a crafted rule with known behaviour); the job passes
``model_scorer(model)``. The tests' core decisions are pure functions of arrays of numbers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ray_apps.errors import DataError
from ray_apps.prediction import Prediction, from_scores

Scorer = Callable[[pd.DataFrame], Prediction]


def model_scorer(model) -> Scorer:
    """A ``ray_apps.artifact.Model`` as a scorer: labels and probabilities, or values."""
    info = model.info

    def score(rows: pd.DataFrame) -> Prediction:
        frame = rows[info.feature_names]
        if info.task == "classification":
            return from_scores(model.predict_proba(frame), info.task, info.classes)
        return from_scores(model.predict(frame), info.task)

    return score


def score_column(prediction: Prediction, target_class=None) -> np.ndarray:
    """One number per row: a regressor's value, or the probability of ``target_class``
    (default: the second of two classes, the positive one)."""
    if not prediction.is_classifier:
        return np.asarray(prediction.predictions, dtype=float)
    classes = [str(c) for c in prediction.classes]
    if target_class is None:
        if len(classes) != 2:
            raise DataError(
                f"a {len(classes)}-class model has no single positive class; set target_class "
                f"to one of {classes}"
            )
        return prediction.probabilities[:, 1]
    if str(target_class) not in classes:
        raise DataError(f"target_class {target_class!r} is not one of the classes {classes}")
    return prediction.probabilities[:, classes.index(str(target_class))]


def require_columns(frame: pd.DataFrame, columns: list[str], field: str) -> None:
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise DataError(
            f"{field}: {absent} not in the test data; its columns are {list(frame.columns)}"
        )
