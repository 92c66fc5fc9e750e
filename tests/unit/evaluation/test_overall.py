"""Overall metrics against hand-computed values."""

import math

import numpy as np
import pytest

from ray_apps.errors import SpecError
from ray_apps.evaluation.overall import check_metric, metrics_for, worsening


def test_binary_classification_by_hand():
    y = np.array([1, 0, 1, 1])
    p1 = np.array([0.9, 0.2, 0.6, 0.4])
    proba = np.column_stack([1 - p1, p1])
    pred = np.array([1, 0, 1, 0])
    m = metrics_for("classification", y, pred, proba, [0, 1])
    assert m["accuracy"] == 0.75
    assert m["f1"] == pytest.approx(0.8)  # precision 1, recall 2/3
    assert m["brier"] == pytest.approx((0.01 + 0.04 + 0.16 + 0.36) / 4)
    assert m["roc_auc"] == pytest.approx(1.0)  # every positive above the negative
    expected_ll = -(math.log(0.9) + math.log(0.8) + math.log(0.6) + math.log(0.4)) / 4
    assert m["log_loss"] == pytest.approx(expected_ll)


def test_regression_by_hand_and_undefined_metrics_are_nan():
    m = metrics_for("regression", [1, 2, 3], [1, 2, 5])
    assert m == pytest.approx({"rmse": math.sqrt(4 / 3), "mae": 2 / 3, "r2": 1 - 4 / 2})
    one_class = metrics_for("classification", [1, 1], [1, 0], np.eye(2)[[1, 0]], [0, 1])
    assert math.isnan(one_class["roc_auc"]) and one_class["accuracy"] == 0.5
    assert math.isnan(metrics_for("regression", [2.0], [2.0])["r2"])


def test_worsening_follows_the_metric_direction():
    assert worsening("accuracy", 0.9, 0.8) == pytest.approx(0.1)
    assert worsening("rmse", 1.0, 1.5) == pytest.approx(0.5)
    assert worsening("rmse", 1.0, 0.5) == pytest.approx(-0.5)


def test_a_metric_of_the_other_task_is_refused_naming_the_field():
    assert check_metric(None, "regression") == "rmse"
    with pytest.raises(SpecError, match=r"thresholds.min.rmse: 'rmse' is not a classification"):
        check_metric("rmse", "classification", "thresholds.min.rmse")
