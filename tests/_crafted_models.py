"""Crafted scorers with known behaviour: the evaluation tests' models, numbers in, numbers out."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ray_apps.prediction import from_scores


def sign_of_x(frame: pd.DataFrame):
    """A binary classifier: P(1) = 0.9 where x > 0 else 0.1; ignores every other column."""
    p1 = np.where(frame["x"].to_numpy(dtype=float) > 0, 0.9, 0.1)
    return from_scores(np.column_stack([1 - p1, p1]), "classification", [0, 1])


def falling_in_x(frame: pd.DataFrame):
    """A binary classifier whose P(1) = sigmoid(-x): strictly falls as x rises."""
    p1 = 1 / (1 + np.exp(frame["x"].to_numpy(dtype=float)))
    return from_scores(np.column_stack([1 - p1, p1]), "classification", [0, 1])


def x_squared(frame: pd.DataFrame):
    """A regressor: x²; rises with x for x > 0, falls for x < 0."""
    return from_scores(frame["x"].to_numpy(dtype=float) ** 2, "regression")
