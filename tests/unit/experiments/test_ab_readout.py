"""ab_readout over capture files with known answers and labels, against sklearn and scipy."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn import metrics as skm

from ray_apps.capture.labels import write_labels
from ray_apps.errors import DataError, NotFoundError, SpecError
from ray_apps.experiments import ab_readout
from ray_apps.stats import decide, difference_cs

T0 = 1_795_428_000.0  # 2026-11-23 10:00 UTC


def classifier_traffic(make, rng):
    """stable (v1): 300 one-row requests; canary (v2): 60 two-row requests; shadow copies and
    failures that a readout must ignore. Returns the records and the truth per (rid, row)."""
    records, truth = [], {}
    for arm, version, n, rows, right in [("stable", 1, 300, 1, 0.8), ("canary", 2, 60, 2, 0.9)]:
        for i in range(n):
            p1 = rng.uniform(0.05, 0.95, rows)
            rid = f"{arm}-{i}"
            records.append(make(rid, T0 + i, version, arm, np.c_[1 - p1, p1]))
            for r in range(rows):
                pred = int(p1[r] >= 0.5)
                truth[rid, r] = pred if rng.random() < right else 1 - pred
            if arm == "stable" and i % 10 == 0:  # a shadow copy, always wrong: never scored
                wrong = np.c_[p1, 1 - p1]
                records.append(make(rid, T0 + i, 3, "shadow", wrong, shadow=True))
    records += [make(f"fail-{i}", T0 + i, 1, "stable", status=500) for i in range(7)]
    return records, truth


@pytest.fixture()
def ab(capture, make):
    rng = np.random.default_rng(3)
    records, truth = classifier_traffic(make, rng)
    root = capture(records)
    # Labels for 80 % of stable rows and half of canary's, one unknown class, one for a failure.
    keys = [k for k in truth if k[0].startswith("stable")][:240]
    keys += [k for k in truth if k[0].startswith("canary")][:60]
    labels = [truth[k] for k in keys]
    write_labels(root, "m", [k[0] for k in keys], [k[1] for k in keys], labels)
    write_labels(root, "m", ["stable-299", "fail-0"], [0, 0], [7, 1])
    return root, records, {**{k: truth[k] for k in keys}, ("stable-299", 0): 7}


def per_arm(records, labelled, arm):
    """(labels, predictions, probabilities) of the arm's labelled known-class rows."""
    y, p, prob = [], [], []
    for r in records:
        if r.variant != arm or r.shadow or r.status != 200:
            continue
        for row in range(len(r.inputs)):
            label = labelled.get((r.request_id, row))
            if label in (0, 1):
                y.append(label)
                p.append(int(r.prediction.predictions[row]))
                prob.append(r.prediction.probabilities[row])
    return np.array(y), np.array(p), np.array(prob)


def test_accuracy_per_arm_interval_coverage_and_sample_ratio(ab):
    root, records, labelled = ab
    r = ab_readout(root, "m", weights={"stable": 70, "canary": 30})
    stable, canary = r.arms
    assert (stable.variant, canary.variant) == ("stable", "canary")
    assert (stable.requests, stable.rows, canary.requests, canary.rows) == (300, 300, 60, 120)
    assert (stable.labelled, stable.unknown_labels, stable.scored) == (241, 1, 240)
    assert stable.coverage == pytest.approx(241 / 300) and canary.coverage == 0.5
    ys, ps, _ = per_arm(records, labelled, "stable")
    yc, pc, _ = per_arm(records, labelled, "canary")
    assert stable.value == pytest.approx(skm.accuracy_score(ys, ps))
    assert canary.value == pytest.approx(skm.accuracy_score(yc, pc))
    (c,) = r.comparisons
    expected = difference_cs((ys == ps).astype(float), (yc == pc).astype(float), 0.05)
    assert (c.control, c.candidate, c.interval) == ("stable", "canary", expected)
    assert c.decision == decide(expected)
    ref = stats.chisquare([300, 60], [360 * 0.7, 360 * 0.3])
    assert r.sample_ratio.p_value == pytest.approx(ref.pvalue) and r.sample_ratio.mismatch
    json.dumps(r.to_dict())
    assert "stable" in r.render() and "MISMATCH" in r.render()


def test_log_loss_is_the_mean_negative_log_probability_of_the_label(ab):
    root, records, labelled = ab
    r = ab_readout(root, "m", metric="log_loss", control="stable")
    for arm in r.arms:
        y, _, prob = per_arm(records, labelled, arm.variant)
        assert arm.value == pytest.approx(skm.log_loss(y, prob, labels=[0, 1]), rel=1e-9)
    assert not r.higher_is_better


def test_a_decided_gap_names_the_winner(capture, make):
    # 400 rows each; stable right 70 %, canary 95 %: far beyond the interval's width.
    records, ids, labels = [], [], []
    for arm, version, right in [("stable", 1, 280), ("canary", 2, 380)]:
        for i in range(400):
            rid = f"{arm}-{i}"
            records.append(make(rid, T0 + i, version, arm, [[0.3, 0.7]]))  # predicts 1
            ids.append(rid)
            labels.append(1 if i < right else 0)
    root = capture(records)
    write_labels(root, "m", ids, [0] * len(ids), labels)
    (c,) = ab_readout(root, "m", control="stable", tuning_n=800).comparisons
    assert (c.decision, c.winner) == ("B better", "canary")
    assert c.interval.estimate == pytest.approx(0.25)


def test_rmse_reports_root_mean_squared_error_and_tests_squared_errors(capture, make):
    records, ids, truth = [], [], []
    for arm, version, err in [("a", 1, 1.0), ("b", 2, 0.5)]:
        for i in range(50):
            value = float(i)
            records.append(make(f"{arm}{i}", T0 + i, version, arm, [value], classes=()))
            ids.append(f"{arm}{i}")
            truth.append(value + (err if i % 2 else -err) * (1 + i % 3))
    root = capture(records)
    write_labels(root, "m", ids, [0] * len(ids), truth)
    r = ab_readout(root, "m", metric="rmse", control="a")
    pred = np.r_[np.arange(50.0), np.arange(50.0)]
    y = np.array(truth)
    assert r.arms[0].value == pytest.approx(skm.root_mean_squared_error(y[:50], pred[:50]))
    assert r.arms[1].value == pytest.approx(skm.root_mean_squared_error(y[50:], pred[50:]))
    sq = (pred - y) ** 2
    assert r.comparisons[0].interval == difference_cs(sq[:50], sq[50:])
    assert r.comparisons[0].decision in ("B better", "no difference yet")  # lower is better


def test_a_business_metric_is_a_numeric_column_of_the_labels(capture, make, tmp_path):
    records = [make(f"{v}{i}", T0 + i, 1 if v == "x" else 2, v, [[0.5, 0.5]]) for v in "xy"
               for i in range(10)]  # fmt: skip
    root = capture(records)
    path = tmp_path / "outcomes.csv"
    revenue = {f"x{i}": float(i) for i in range(10)} | {f"y{i}": 2.0 * i for i in range(8)}
    pd.DataFrame({"request_id": list(revenue), "row": 0, "revenue": list(revenue.values())}).to_csv(
        path, index=False
    )
    r = ab_readout(root, "m", labels=path, metric="revenue", control="x")
    assert [a.value for a in r.arms] == [4.5, 7.0] and r.arms[1].coverage == 0.8
    assert r.higher_is_better
    with pytest.raises(SpecError, match="metric='profit' is none of"):
        ab_readout(root, "m", labels=path, metric="profit")


def test_more_than_two_arms_compare_each_with_the_control_at_a_bonferroni_alpha(capture, make):
    records = [make(f"{v}{i}", T0 + i, 1, v, [[0.4, 0.6]]) for v in "abc" for i in range(20)]
    root = capture(records)
    write_labels(root, "m", [r.request_id for r in records], [0] * 60, [1] * 30 + [0] * 30)
    r = ab_readout(root, "m", weights={"b": 1, "a": 1, "c": 1}, alpha=0.1)
    assert [(c.control, c.candidate) for c in r.comparisons] == [("b", "a"), ("b", "c")]
    assert all(c.interval.alpha == pytest.approx(0.05) for c in r.comparisons)
    assert not r.sample_ratio.mismatch


def test_errors_name_the_problem_and_the_fix(ab, capture, make, tmp_path):
    root, _, _ = ab
    with pytest.raises(NotFoundError, match="no captured answers of m"):
        ab_readout(root, "m", since="2030-01-01")
    with pytest.raises(SpecError, match="metric='rmse' needs a regressor"):
        ab_readout(root, "m", metric="rmse")
    with pytest.raises(SpecError, match="higher_is_better=True contradicts"):
        ab_readout(root, "m", metric="log_loss", higher_is_better=True)
    with pytest.raises(SpecError, match=r"control='gold'.*\['stable', 'canary'\]"):
        ab_readout(root, "m", control="gold")
    with pytest.raises(NotFoundError, match="labels.path"):
        ab_readout(root, "m", labels=tmp_path / "nowhere.csv")
    two = [make(f"{v}{i}", T0 + i, 1, v, [[0.4, 0.6]]) for v in "ab" for i in range(3)]
    bare = capture(two, "bare")
    with pytest.raises(NotFoundError, match="no labels posted for m.*POST them"):
        ab_readout(bare, "m")
    write_labels(bare, "m", ["elsewhere"], [0], [1])
    with pytest.raises(DataError, match="none of the 6 captured answers of m has a label"):
        ab_readout(bare, "m")
    one = capture([make("r", T0, 1, "only", [[0.4, 0.6]])], "one")
    with pytest.raises(DataError, match=r"2 or more variants.*\['only'\]"):
        ab_readout(one, "m")
