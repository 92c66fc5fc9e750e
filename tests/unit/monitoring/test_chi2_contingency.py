"""Categorical drift with the two-sample ``chi2_contingency`` the monitor registers with Evidently,
in place of Evidently's one-sample ``chisquare``: an unshifted column keeps its false-alarm rate
at a large window, a real shift is still found, and Evidently's report uses the same test.

Measured with the monitor's own ``column_drift`` at α = 0.05, 4 equal categories, 100 seeds
(Evidently's ``chisquare`` → ``chi2_contingency``): 400 reference vs 170 window rows 17 % → 8 %
(4.8 % over 1,000 seeds), 1,000 vs 1,000 26 % → 3 %, 1,000 vs 20,000 95 % → 3 %,
1,000 vs 1,000,000 (20 seeds) 100 % → 0 %.
"""

import json
import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from ray_apps.monitoring._chi2_contingency import (
    NAME,
    chi2_contingency_stat_test,
    contingency_p_value,
)
from ray_apps.monitoring._evidently import column_drift, run_report

CATEGORIES = list("abcd")
SEEDS = 100  # false alarms: 3 of 100 here (2 of the first 40), Evidently's chisquare 95
POWER_SEEDS = 40
SHOWN = chi2_contingency_stat_test.display_name
N_REF, N_CUR = 1_000, 20_000  # the baseline's size at most; a busy window


def frames(seed: int, shares=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    reference = pd.DataFrame({"grade": rng.choice(CATEGORIES, size=N_REF)})
    current = pd.DataFrame({"grade": rng.choice(CATEGORIES, size=N_CUR, p=shares)})
    return reference, current


def drift(reference: pd.DataFrame, current: pd.DataFrame):
    [found] = column_drift(reference, current, {"grade": "categorical"}, p_value=0.05, distance=0.1)
    return found


def test_an_unshifted_column_keeps_its_false_alarm_rate_at_a_large_window(record_property):
    from evidently.legacy.calculations.stattests.registry import get_stattest
    from evidently.legacy.core import ColumnType

    ours, evidently_pick = 0, 0
    for seed in range(SEEDS):
        reference, current = frames(seed)
        found = drift(reference, current)
        assert found.method == NAME and found.is_p_value
        ours += found.drifted
        # What Evidently would have used on the same data: its one-sample chisquare.
        test = get_stattest(reference.grade, current.grade, ColumnType.Categorical, None)
        assert test.name == "chisquare"
        evidently_pick += test(reference.grade, current.grade, ColumnType.Categorical, 0.05).drifted
    record_property("false_alarm_rate", float(ours / SEEDS))
    record_property("false_alarm_rate_evidently_chisquare", float(evidently_pick / SEEDS))
    assert ours <= SEEDS * 0.05
    assert evidently_pick >= SEEDS * 0.5  # why it is replaced: most unchanged windows alarmed


def test_a_real_category_shift_is_still_found():
    shifted = [0.35, 0.25, 0.2, 0.2]  # one category up 10 points, two down 5
    found = [drift(*frames(seed, shifted)) for seed in range(POWER_SEEDS)]
    assert all(f.method == NAME and f.drifted for f in found), [f.score for f in found]


def test_a_category_only_the_window_has_counts_as_drift():
    reference = pd.Series(["a", "b", "c"] * 300)
    current = pd.Series(["a", "b", "c"] * 300 + ["new"] * 60)
    assert contingency_p_value(reference, current) < 1e-6
    assert contingency_p_value(reference, pd.Series(["c", "b", "a"] * 300)) == 1.0


def test_nothing_to_compare_is_not_drift():
    one = pd.Series(["a"] * 50)
    assert contingency_p_value(one, pd.Series(["a"] * 500)) == 1.0  # one category: same
    assert math.isnan(contingency_p_value(one, pd.Series([], dtype=object)))
    reference = pd.DataFrame({"grade": ["a", "b", "c"] * 10})
    current = pd.DataFrame({"grade": pd.Series([None] * 30, dtype=object)})
    [empty] = column_drift(reference, current, {"grade": "categorical"}, p_value=0.05, distance=0.1)
    assert empty.method == "none" and not empty.drifted


def test_evidentlys_report_uses_the_same_test_and_score(tmp_path):
    reference, current = frames(7, [0.3, 0.3, 0.2, 0.2])
    rng = np.random.default_rng(7)
    reference["size"], current["size"] = rng.normal(size=N_REF), rng.normal(1.0, size=N_CUR)
    drifts = column_drift(
        reference, current, {"grade": "categorical", "size": "numeric"}, p_value=0.05, distance=0.1
    )
    assert [(d.method, d.drifted) for d in drifts] == [(NAME, True), ("ks", True)]
    snapshot = run_report(
        reference, current, drifts, 0.5, name="t", timestamp=datetime.now(UTC), tags=[]
    )
    metrics = json.loads(json.dumps(snapshot.dict(), default=str))["metrics"]
    [grade] = [
        m for m in metrics if m["config"].get("column") == "grade" and "method" in m["config"]
    ]
    assert grade["config"]["method"] == NAME
    assert math.isclose(grade["value"], drifts[0].score, rel_tol=1e-9)
    [count] = [m for m in metrics if m["metric_name"].startswith("DriftedColumnsCount")]
    assert count["value"]["count"] == 2
    snapshot.save_html(str(tmp_path / "report.html"))
    page = (tmp_path / "report.html").read_text()  # the page names the test by display name
    assert f'"column_name": "grade", "column_type": "cat", "stattest_name": "{SHOWN}"' in page
