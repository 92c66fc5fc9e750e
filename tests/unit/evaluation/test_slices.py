"""Per-slice metrics: categorical values and quantile bins, worst first, small slices unranked."""

import numpy as np
import pandas as pd
import pytest

from ray_apps.errors import DataError
from ray_apps.evaluation import slice_metrics


def run(frame, y, pred, **kw):
    kw = {"task": "classification", "classes": [0, 1], "metric": "accuracy", **kw}
    return slice_metrics(frame, y, pred, None, **kw)


def test_categorical_worst_first_and_small_slices_last():
    frame = pd.DataFrame({"g": list("aaaabbbbcc")})
    y = np.array([1, 1, 0, 0, 1, 1, 0, 0, 1, 0])
    pred = np.array([1, 1, 0, 0, 1, 0, 1, 0, 0, 1])  # a: 4/4, b: 2/4, c: 0/2
    out = run(frame, y, pred, columns=["g"], min_size=3)
    assert [(s.slice, s.size, s.ranked, s.metrics["accuracy"]) for s in out] == [
        ("b", 4, True, 0.5),
        ("a", 4, True, 1.0),
        ("c", 2, False, 0.0),
    ]


def test_numeric_column_in_quantile_bins_and_lower_is_worse_for_rmse():
    frame = pd.DataFrame({"x": np.arange(8.0)})
    y = np.zeros(8)
    pred = np.array([0, 0, 0, 0, 1, 1, 3, 3.0])  # errors only in the upper half
    out = slice_metrics(
        frame, y, pred, None, task="regression", classes=[], columns=["x"], metric="rmse",
        bins=2, min_size=1, max_categories=3,
    )  # fmt: skip
    assert [s.size for s in out] == [4, 4]
    assert out[0].slice == "[3.5, 7]"
    assert out[0].metrics["rmse"] == pytest.approx(np.sqrt((1 + 1 + 9 + 9) / 4))
    assert out[1].metrics["rmse"] == 0.0


def test_an_unknown_slice_column_is_named():
    with pytest.raises(DataError, match=r"slices.columns \['nope'\] are not in the test data"):
        run(pd.DataFrame({"x": [1]}), [1], [1], columns=["nope"])
