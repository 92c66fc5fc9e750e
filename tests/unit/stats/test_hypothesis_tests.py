"""McNemar, sample-ratio mismatch, KS and Wilson against statsmodels and scipy."""

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.proportion import proportion_confint

from ray_apps.errors import DataError, SpecError
from ray_apps.stats import (
    ks_test,
    mcnemar,
    mcnemar_counts,
    sample_ratio_mismatch,
    wilson_interval,
)


@pytest.mark.parametrize("b, c", [(0, 0), (3, 9), (12, 12), (5, 19), (40, 22), (150, 110)])
def test_mcnemar_matches_statsmodels(b, c):
    res = mcnemar_counts(b, c)
    exact = b + c < 25
    ref = sm_mcnemar([[100, b], [c, 100]], exact=exact, correction=True)
    assert res.method == ("exact" if exact else "chi2")
    assert res.p_value == pytest.approx(min(1.0, ref.pvalue), rel=1e-10)
    if b + c:
        assert res.statistic == pytest.approx(ref.statistic, rel=1e-10)


def test_mcnemar_counts_the_discordant_rows():
    a = np.array([1, 1, 0, 0, 1, 0], bool)
    b = np.array([1, 0, 1, 1, 0, 0], bool)
    res = mcnemar(a, b)
    assert (res.b, res.c) == (2, 2) and res.p_value == 1.0
    with pytest.raises(DataError, match="same rows"):
        mcnemar(a, b[:3])


def test_sample_ratio_matches_scipy_chisquare():
    counts, weights = {"stable": 9120, "canary": 880}, {"stable": 90, "canary": 10}
    res = sample_ratio_mismatch(counts, weights)
    ref = stats.chisquare([9120, 880], [9000, 1000])
    assert (res.statistic, res.p_value) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-10)
    assert res.mismatch and res.expected == {"stable": 9000.0, "canary": 1000.0}
    fine = sample_ratio_mismatch({"a": 5030, "b": 4970, "c": 5000}, {"a": 1, "b": 1, "c": 1})
    ref = stats.chisquare([5030, 4970, 5000])
    assert fine.p_value == pytest.approx(ref.pvalue, rel=1e-10) and not fine.mismatch


def test_sample_ratio_counts_unweighted_arms_and_refuses_bad_weights():
    res = sample_ratio_mismatch({"a": 10, "ghost": 1}, {"a": 1.0, "b": 0.0})
    assert res.mismatch and res.observed == {"a": 10, "b": 0, "ghost": 1}
    assert not sample_ratio_mismatch({}, {"a": 1}).mismatch
    with pytest.raises(SpecError, match="weights="):
        sample_ratio_mismatch({"a": 1}, {"a": -1.0})


def test_ks_wraps_scipy_and_drops_nans():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=300), rng.normal(0.3, size=200)
    res = ks_test(np.r_[a, np.nan], b)
    ref = stats.ks_2samp(a, b)
    assert (res.statistic, res.p_value, res.n_a, res.n_b) == (ref.statistic, ref.pvalue, 300, 200)
    assert np.isnan(ks_test([], b).p_value)


@pytest.mark.parametrize("k, n", [(0, 10), (7, 10), (85, 100), (100, 100), (0, 0)])
def test_wilson_matches_statsmodels(k, n):
    if n == 0:
        assert wilson_interval(k, n) == (0.0, 1.0)
        return
    ref = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert wilson_interval(k, n) == pytest.approx(ref, abs=1e-12)
