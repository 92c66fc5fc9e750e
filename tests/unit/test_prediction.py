"""from_scores: raw scores to a Prediction, with numbers."""

import numpy as np
import pytest

from ray_apps.errors import DataError
from ray_apps.prediction import from_scores


def test_a_classifier_takes_the_most_probable_class_and_the_first_on_a_tie():
    scores = np.asarray([[0.1, 0.7, 0.2], [0.5, 0.0, 0.5]])
    pred = from_scores(scores, "classification", ["a", "b", "c"])
    assert pred.predictions.tolist() == ["b", "a"] and pred.classes == ["a", "b", "c"]
    assert pred.probabilities.tolist() == scores.tolist()
    part = pred.rows(1, 2)
    assert part.predictions.tolist() == ["a"] and part.probabilities.tolist() == [[0.5, 0.0, 0.5]]


def test_a_regressor_gives_values_and_no_probabilities():
    pred = from_scores(np.asarray([[1.5], [2.5]]), "regression")
    assert pred.predictions.tolist() == [1.5, 2.5] and pred.probabilities is None
    assert pred.classes == [] and not pred.is_classifier and len(pred.rows(0, 1)) == 1


@pytest.mark.parametrize(
    ("scores", "task", "classes", "says"),
    [
        (np.ones((2, 2)), "classification", [0, 1, 2], r"shape \(n, 3\)"),
        (np.ones(2), "ranking", [], "not one of"),
    ],
)
def test_scores_that_do_not_fit_are_refused(scores, task, classes, says):
    with pytest.raises(DataError, match=says):
        from_scores(scores, task, classes)
