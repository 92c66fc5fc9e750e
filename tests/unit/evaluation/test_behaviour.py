"""Invariance, directional expectation and noise robustness on crafted models."""

import numpy as np
import pandas as pd
import pytest
from _crafted_models import falling_in_x, sign_of_x, x_squared

from ray_apps.evaluation import (
    add_noise,
    change_rate,
    directional,
    invariance,
    metrics_for,
    robustness,
    violations,
)

FRAME = pd.DataFrame({"x": [-1.0, -2.0, 3.0, 4.0], "id": [10, 11, 12, 13]})


def test_change_rate_core():
    assert change_rate([0, 1, 1], [0, 1, 0]) == pytest.approx(1 / 3)
    assert change_rate([1.0, 2.0], [1.0 + 1e-12, 2.5], tolerance=1e-9) == 0.5


def test_a_model_that_ignores_a_feature_is_invariant_to_it():
    shuffled = invariance(sign_of_x, FRAME, "id", shuffle=True, seed=3)
    assert (shuffled.change_rate, shuffled.compared) == (0.0, 4)
    assert invariance(sign_of_x, FRAME, "id", values=[0, 99]).change_rate == 0.0


def test_a_model_that_uses_the_feature_changes_by_hand():
    # before: [0, 0, 1, 1]; x=1 flips the two negatives, x=-1 the two positives
    out = invariance(sign_of_x, FRAME, "x", values=[1.0, -1.0])
    assert (out.compared, out.changed, out.change_rate) == (8, 4, 0.5)


def test_violations_core():
    assert violations([1, 2, 3], [1.5, 1.0, 3.0]).tolist() == [False, True, False]
    assert violations([1, 2, 3], [1.5, 1.0, 3.0], "decreasing").tolist() == [True, False, False]


def test_directional_regression_by_hand():
    frame = pd.DataFrame({"x": [-2.0, 1.0, 2.0, 3.0]})
    # x² before [4, 1, 4, 9], after +0.5 [2.25, 2.25, 6.25, 12.25]: only the first falls
    up = directional(x_squared, frame, "x", 0.5)
    assert (up.violations, up.violation_rate, up.score) == (1, 0.25, "value")
    down = directional(x_squared, frame, "x", 0.5, direction="decreasing")
    assert down.violation_rate == 0.75
    assert up.mean_change == pytest.approx((-1.75 + 1.25 + 2.25 + 3.25) / 4)


def test_directional_on_the_positive_class_probability():
    up = directional(falling_in_x, FRAME, "x", 1.0)
    assert (up.violation_rate, up.score) == (1.0, "P(1)")
    assert directional(falling_in_x, FRAME, "x", 1.0, direction="decreasing").violations == 0
    assert directional(falling_in_x, FRAME, "x", 1.0, target_class=0).violation_rate == 0.0


def test_noise_is_in_units_of_each_features_std_and_seeded():
    frame = pd.DataFrame({"a": [0.0, 2.0, 4.0, 6.0], "b": [1.0, 1.0, 3.0, 3.0]})
    out = add_noise(frame, ["a", "b"], 0.5, seed=7)
    z = np.random.default_rng(7).standard_normal((4, 2))
    assert np.allclose(out["a"] - frame["a"], 0.5 * np.std(frame["a"]) * z[:, 0])
    assert np.allclose(out["b"] - frame["b"], 0.5 * 1.0 * z[:, 1])
    assert add_noise(frame, ["a", "b"], 0.5, seed=7).equals(out)


def test_robustness_drop_is_the_metric_lost_under_noise():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=400), "c": np.ones(400)})
    y = (frame["x"] > 0).astype(int).to_numpy()
    kw = {"task": "classification", "classes": [0, 1], "metric": "accuracy", "seed": 5}
    r = robustness(sign_of_x, frame, y, noise=[0.1, 1.0], **kw)
    assert r.clean == 1.0 and r.features == ["x"]  # the constant column gets no noise
    for level in r.levels:
        noisy = add_noise(frame, ["x"], level.noise, 5)
        expected = metrics_for("classification", y, sign_of_x(noisy).predictions)["accuracy"]
        assert level.value == expected and level.drop == pytest.approx(1.0 - expected)
        assert level.changed_share == pytest.approx(1.0 - expected)
    assert 0 < r.levels[0].drop < r.levels[1].drop == r.worst_drop
    blind = robustness(lambda f: sign_of_x(f.assign(x=1.0)), frame, y, noise=[3.0], **kw)
    assert blind.levels[0].drop == 0.0 and blind.levels[0].changed_share == 0.0
