"""shadow_report over capture files with known production and shadow answers."""

import json

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from ray_apps.capture.labels import write_labels
from ray_apps.errors import NotFoundError, SpecError
from ray_apps.experiments import shadow_report

T0 = 1_795_428_000.0  # 2026-11-23 10:00 UTC


@pytest.fixture()
def traffic(capture, make):
    """100 requests 20 s apart (two half hours): production "blue" (v1) answers each in i+1 ms,
    shadow "green" (v2) in 2(i+1) ms and fails every 10th; production also fails 4 more."""
    rng = np.random.default_rng(5)
    p_blue, p_green = rng.uniform(0.05, 0.95, 100), rng.uniform(0.05, 0.95, 100)
    records = []
    for i in range(100):
        ts = T0 + 20 * i
        blue = make(f"r{i}", ts, 1, "blue", [[1 - p_blue[i], p_blue[i]]], latency=i + 1.0)
        fail = i % 10 == 0
        green = make(f"r{i}", ts, 2, "green", None if fail else [[1 - p_green[i], p_green[i]]],
                     shadow=True, status=500 if fail else 200, latency=2 * (i + 1.0))  # fmt: skip
        records += [blue, green]
    records += [make(f"bad{i}", T0 + 5 * i, 1, "blue", status=503, latency=0.5) for i in range(4)]
    return capture(records), p_blue, p_green


def test_latency_errors_and_agreement_over_one_window(traffic):
    root, p_blue, p_green = traffic
    r = shadow_report(root, "m")
    assert (r.task, r.shadow, r.production, r.metric, r.labels) == (
        "classification", "green", ["blue"], "accuracy", None,
    )  # fmt: skip
    (w,) = r.windows
    latency = np.r_[np.arange(1.0, 101.0), [0.5] * 4]  # all 104 production requests
    assert (w.production.requests, w.production.error_rate) == (104, pytest.approx(4 / 104))
    assert w.production.p50_ms == pytest.approx(np.percentile(latency, 50))
    assert w.production.p99_ms == pytest.approx(np.percentile(latency, 99))
    assert (w.shadow.requests, w.shadow.error_rate) == (100, pytest.approx(0.1))
    assert w.shadow.p99_ms == pytest.approx(np.percentile(2 * np.arange(1.0, 101.0), 99))
    ok = np.arange(100) % 10 != 0
    a, b = p_blue[ok], p_green[ok]
    assert w.pairs == 90
    assert w.flip_rate == pytest.approx(np.mean((a >= 0.5) != (b >= 0.5)))
    # Binary: the largest class difference is |Δp(1)| = |Δp(0)|.
    assert w.mean_abs_delta == pytest.approx(np.mean(np.abs(a - b)))
    assert w.p95_abs_delta == pytest.approx(np.percentile(np.abs(a - b), 95))
    ref = stats.ks_2samp(a, b)
    assert (w.ks.statistic, w.ks.p_value) == pytest.approx((ref.statistic, ref.pvalue))
    assert w.labelled_pairs == 0 and w.mcnemar is None and w.production_metric is None
    json.dumps(r.to_dict())
    assert "<table>" in r.to_html() and "green" in r.to_html()
    assert "label flips" in r.render()


def test_windows_split_the_range(traffic):
    root, _, _ = traffic
    first, second = shadow_report(root, "m", window_s=1800).windows
    # Requests 0-89 fall in 10:00-10:30 (20 s apart), 90-99 in 10:30-11:00.
    assert (first.start, first.end) == ("2026-11-23T10:00:00+00:00", "2026-11-23T10:30:00+00:00")
    assert (first.pairs, second.pairs) == (81, 9)
    assert (first.production.requests, second.production.requests) == (94, 10)


def test_labelled_pairs_give_each_sides_accuracy_and_mcnemar(traffic):
    root, p_blue, p_green = traffic
    y = (np.arange(100) % 3 != 0).astype(int)  # labels for every request
    write_labels(root, "m", [f"r{i}" for i in range(100)], [0] * 100, y)
    (w,) = shadow_report(root, "m").windows
    ok = np.arange(100) % 10 != 0
    pred_a, pred_b = (p_blue[ok] >= 0.5).astype(int), (p_green[ok] >= 0.5).astype(int)
    assert w.labelled_pairs == 90
    assert w.production_metric == pytest.approx(skm.accuracy_score(y[ok], pred_a))
    assert w.shadow_metric == pytest.approx(skm.accuracy_score(y[ok], pred_b))
    right_a, right_b = pred_a == y[ok], pred_b == y[ok]
    table = [[np.sum(right_a & right_b), np.sum(right_a & ~right_b)],
             [np.sum(~right_a & right_b), np.sum(~right_a & ~right_b)]]  # fmt: skip
    exact = np.sum(right_a != right_b) < 25
    assert w.mcnemar.p_value == pytest.approx(sm_mcnemar(table, exact=exact).pvalue)


def test_regressors_compare_values(capture, make):
    records = []
    for i in range(40):
        records.append(make(f"r{i}", T0 + i, 1, "prod", [float(i)], classes=()))
        records.append(make(f"r{i}", T0 + i, 2, "sh", [i + 0.1 * i], classes=(), shadow=True))
    root = capture(records)
    write_labels(root, "m", [f"r{i}" for i in range(40)], [0] * 40, [i + 1.0 for i in range(40)])
    r = shadow_report(root, "m")
    (w,) = r.windows
    delta = 0.1 * np.arange(40)
    assert (r.task, r.metric, w.flip_rate) == ("regression", "rmse", None)
    assert w.mean_abs_delta == pytest.approx(delta.mean())
    assert w.p95_abs_delta == pytest.approx(np.percentile(delta, 95))
    assert w.production_metric == pytest.approx(1.0)
    truth = np.arange(40) + 1.0
    assert w.shadow_metric == pytest.approx(skm.root_mean_squared_error(truth, 1.1 * np.arange(40)))


def test_errors_name_the_problem_and_the_fix(capture, make, traffic):
    root, _, _ = traffic
    with pytest.raises(SpecError, match="window_s=0"):
        shadow_report(root, "m", window_s=0)
    with pytest.raises(SpecError, match=r"shadow='red'.*\['green'\]"):
        shadow_report(root, "m", shadow="red")
    plain = capture([make("r", T0, 1, "blue", [[0.5, 0.5]])], "plain")
    with pytest.raises(NotFoundError, match="no shadow answers of m"):
        shadow_report(plain, "m")
    two = capture(
        [make("r", T0, 1, "blue", [[0.5, 0.5]])]
        + [make("r", T0, v, f"s{v}", [[0.5, 0.5]], shadow=True) for v in (2, 3)],
        "two",
    )
    with pytest.raises(SpecError, match=r"shadow variants \['s2', 's3'\]; pass shadow="):
        shadow_report(two, "m")
    assert shadow_report(two, "m", shadow="s3").windows[0].pairs == 1
