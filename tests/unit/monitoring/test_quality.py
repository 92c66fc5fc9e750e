"""Data-quality checks against the baseline, with numbers worked out by hand."""

import numpy as np
import pandas as pd
import pytest

from ray_apps.errors import DataError
from ray_apps.monitoring import compute_stats
from ray_apps.monitoring.quality import check_quality

TRAIN = pd.DataFrame({"x": np.linspace(0, 10, 50), "code": [1, 2, 3, 4, 5] * 10})


def test_missing_out_of_range_and_new_categories():
    stats = compute_stats(TRAIN, ["x", "code"])
    current = pd.DataFrame(
        {
            "x": [-1.0, 0.0, 5.0, 10.0, 11.0, np.nan, np.inf, 3.0],  # 2 of 6 present outside
            "code": [1, 2, 7, 7, 9, 3, 3, np.nan],  # 3 of 7 present never seen
        }
    )
    x, code = check_quality(current, stats)
    assert x.missing_share == 2 / 8 and x.out_of_range_share == pytest.approx(2 / 6)
    assert code.missing_share == 1 / 8
    assert code.new_category_share == pytest.approx(3 / 7) and code.new_categories == [7.0, 9.0]
    assert code.out_of_range_share == pytest.approx(3 / 7)  # 7 and 9 are above the max, 5


def test_a_missing_feature_column_is_named():
    with pytest.raises(DataError, match=r"lacks feature columns \['code'\]"):
        check_quality(pd.DataFrame({"x": [1.0]}), compute_stats(TRAIN, ["x", "code"]))
