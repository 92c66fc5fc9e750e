"""The binned reliability curve, ECE, MCE and Brier score of four hand-checkable rows."""

import pytest

from ray_apps.evaluation import calibration


def test_two_bins_by_hand():
    c = calibration([1, 0, 1, 1], [0.9, 0.2, 0.6, 0.4], bins=2)
    low, high = c.bins
    assert (low.low, low.high, low.count) == (0.0, 0.5, 2)
    assert low.mean_predicted == pytest.approx(0.3) and low.observed == 0.5
    assert (high.count, high.observed) == (2, 1.0)
    assert high.mean_predicted == pytest.approx(0.75)
    assert c.expected_error == pytest.approx(0.5 * 0.2 + 0.5 * 0.25)
    assert c.max_error == pytest.approx(0.25)
    assert c.brier == pytest.approx(0.1425)


def test_perfectly_calibrated_bins_and_empty_bins_left_out():
    # 10 rows at P=0.2 with 2 positives, 10 at P=1.0 all positive (1.0 lands in the last bin)
    y = [1, 1] + [0] * 8 + [1] * 10
    p = [0.2] * 10 + [1.0] * 10
    c = calibration(y, p, bins=10)
    assert [b.count for b in c.bins] == [10, 10]
    assert c.expected_error == pytest.approx(0.0) and c.max_error == pytest.approx(0.0)
    assert c.bins[-1].low == 0.9
