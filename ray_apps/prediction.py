"""The prediction type every consumer of a model's answers shares, and how raw scores become one.

A model's raw scores are class probabilities ``(n, k)`` for a classifier (columns in the order
of its ``classes``) or values ``(n,)`` for a regressor. ``from_scores`` turns them into a
``Prediction``: labels (or values) per row, the probabilities (classifiers only) and the
classes. Serving answers with it, data capture stores it, and batch transform and monitoring
read and write the same thing; ``Model.predict`` computes its labels the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ray_apps.errors import DataError

TASKS = ("classification", "regression")


@dataclass(frozen=True)
class Prediction:
    """Labels (or values) for each row; class probabilities ``(n, k)`` for classifiers.

    ``classes`` is empty for a regressor, whose ``probabilities`` is None.
    """

    predictions: np.ndarray
    probabilities: np.ndarray | None
    classes: list

    def __len__(self) -> int:
        return len(self.predictions)

    @property
    def is_classifier(self) -> bool:
        return self.probabilities is not None

    def rows(self, start: int, end: int) -> Prediction:
        """Rows ``start:end`` (views, no copy): one request's share of a batched call."""
        probs = None if self.probabilities is None else self.probabilities[start:end]
        return Prediction(self.predictions[start:end], probs, self.classes)


def from_scores(scores: np.ndarray, task: str, classes: Sequence = ()) -> Prediction:
    """A Prediction from raw scores: the most probable class per row, or the values.

    ``scores``: probabilities ``(n, len(classes))`` for ``task="classification"``, values
    ``(n,)`` for ``task="regression"``. Ties go to the first class, as ``argmax`` does.
    """
    if task == "classification":
        scores = np.asarray(scores, dtype=np.float64)
        if scores.ndim != 2 or scores.shape[1] != len(classes):
            raise DataError(
                f"a classifier's scores must have shape (n, {len(classes)}) for the classes "
                f"{list(classes)}, got {list(scores.shape)}"
            )
        labels = np.asarray(classes)[scores.argmax(axis=1)]
        return Prediction(labels, scores, list(classes))
    if task == "regression":
        return Prediction(np.asarray(scores, dtype=np.float64).reshape(-1), None, [])
    raise DataError(f"task {task!r} is not one of {list(TASKS)}")
