"""The alert decision, a pure function: numbers in, violations out."""

from datetime import UTC, datetime

from ray_apps.monitoring import MonitorSummary, Thresholds, Window, decide
from ray_apps.monitoring._evidently import ColumnDrift
from ray_apps.monitoring.alerts import ExitCode, format_p_value
from ray_apps.monitoring.quality import ColumnQuality

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def ks(column, p):
    return ColumnDrift(column, "numeric", "ks", p, 0.01, p < 0.01)


def summary(rows=100, columns=(), prediction=None, quality=()):
    return MonitorSummary(
        model="m",
        version="1",
        window=Window("capture", "/c", datetime(2026, 11, 24, 11, tzinfo=UTC), NOW),
        rows=rows,
        failed_rows=0,
        reference_rows=500,
        reference_source="training data",
        p_value_threshold=0.01,
        columns=list(columns),
        prediction=prediction,
        quality=list(quality),
    )


def quality(column, missing=0.0, out=0.0, new=0.0, base_missing=0.0):
    return ColumnQuality(column, missing, base_missing, out, new, [7.0] if new else [])


def test_a_clean_window_is_ok():
    verdict = decide(summary(columns=[ks("a", 0.5), ks("b", 0.2)]), Thresholds(), NOW)
    assert (verdict.status, verdict.violations, verdict.exit_code) == ("ok", [], ExitCode.OK)
    assert verdict.decided_at == NOW


def test_each_drifted_column_is_named_and_the_share_counts():
    s = summary(columns=[ks("a", 1e-9), ks("b", 0.5), ks("c", 1e-4)])
    verdict = decide(s, Thresholds(drifted_share=0.6), NOW)
    assert [(v.kind, v.column) for v in verdict.violations] == [
        ("column_drift", "a"),
        ("column_drift", "c"),
        ("drifted_share", None),
    ]
    assert verdict.violations[-1].value == 2 / 3 and verdict.exit_code == ExitCode.VIOLATION
    assert "'a' drifted: ks p-value 1e-09 < 0.01" in verdict.violations[0].message
    only_share = decide(s, Thresholds(column_drift=False, drifted_share=0.7), NOW)
    assert only_share.status == "ok"  # 2/3 < 0.7, and single columns do not alert


def test_a_p_value_that_underflowed_reads_as_tiny_not_zero_and_stays_a_number():
    assert [format_p_value(p) for p in (0.0, 5e-324, 9.9e-301, 1e-300, 1.234e-9, 0.5)] == [
        "< 1e-300", "< 1e-300", "< 1e-300", "1e-300", "1.23e-09", "0.5",
    ]  # fmt: skip
    v = decide(summary(columns=[ks("a", 0.0)]), Thresholds(), NOW).violations[0]
    assert v.message == "'a' drifted: ks p-value < 1e-300 < 0.01"
    assert v.value == 0.0 and isinstance(v.value, float)  # JSON keeps the number


def test_prediction_drift_and_distance_tests():
    pred = ColumnDrift("prediction", "categorical", "jensenshannon", 0.3, 0.1, True)
    verdict = decide(summary(columns=[ks("a", 0.5)], prediction=pred), Thresholds(), NOW)
    (v,) = verdict.violations
    assert (v.kind, v.column) == ("prediction_drift", "prediction")
    assert "jensenshannon distance 0.3 > 0.1" in v.message
    assert decide(summary(prediction=pred), Thresholds(prediction_drift=False), NOW).status == "ok"


def test_quality_thresholds_are_strict_upper_bounds_over_the_baseline():
    q = [
        quality("a", missing=0.30, base_missing=0.20),  # 0.30 > 0.20 + 0.05
        quality("b", missing=0.25, base_missing=0.20),  # within
        quality("c", out=0.06),
        quality("d", new=0.02),
        quality("e", out=0.05, new=0.01),  # exactly at the thresholds: fine
    ]
    verdict = decide(summary(quality=q), Thresholds(), NOW)
    assert [(v.kind, v.column) for v in verdict.violations] == [
        ("missing_share", "a"),
        ("out_of_range_share", "c"),
        ("new_category_share", "d"),
    ]
    off = Thresholds(missing_share=None, out_of_range_share=None, new_category_share=None)
    assert decide(summary(quality=q), off, NOW).status == "ok"


def test_too_few_rows_are_not_judged():
    s = summary(rows=29, columns=[ks("a", 1e-9)])
    verdict = decide(s, Thresholds(min_rows=30), NOW)
    assert (verdict.status, verdict.violations) == ("too_few_rows", [])
    assert verdict.exit_code == ExitCode.TOO_FEW_ROWS == 4


def test_model_quality_is_judged_relative_to_the_artifact_once_enough_labels_arrived():
    from dataclasses import replace

    from ray_apps.monitoring.labels import ModelQuality

    base = {"accuracy": 0.95, "f1": 0.9, "rmse": 2.0}
    mq = ModelQuality("l.csv", 40, 0, 0, {"accuracy": 0.84, "f1": 0.82, "rmse": 2.1}, base)
    verdict = decide(replace(summary(), model_quality=mq), Thresholds(quality_drop=0.1), NOW)
    assert [(v.kind, v.column) for v in verdict.violations] == [("model_quality", "accuracy")]
    assert verdict.violations[0].value == (0.95 - 0.84) / 0.95  # 11.6 % worse > 10 %
    few = replace(mq, labeled_rows=29)  # under min_labels (30): not judged yet
    assert decide(replace(summary(), model_quality=few), Thresholds(), NOW).status == "ok"
    worse_rmse = replace(mq, metrics={"rmse": 2.3})  # lower is better: 15 % worse
    v = decide(replace(summary(), model_quality=worse_rmse), Thresholds(), NOW).violations
    assert [(x.column, round(x.value, 6)) for x in v] == [("rmse", 0.15)]
