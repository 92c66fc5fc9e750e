"""The gate: reasons from a hand-built report and thresholds; unset thresholds pass."""

import math

from ray_apps.evaluation import (
    Calibration,
    Directional,
    EvaluationReport,
    GateThresholds,
    Invariance,
    NoiseLevel,
    Robustness,
    SliceMetrics,
    gate,
)

REPORT = EvaluationReport(
    model="cancer:2",
    task="classification",
    data="test.parquet",
    rows=100,
    metric="accuracy",
    overall={"accuracy": 0.8, "log_loss": 0.6, "roc_auc": math.nan},
    slices=[
        SliceMetrics("g", "b", 30, {"accuracy": 0.6}, True),
        SliceMetrics("g", "a", 70, {"accuracy": 0.9}, True),
        SliceMetrics("g", "c", 3, {"accuracy": 0.0}, False),  # too small to judge
    ],
    calibration=Calibration("1", 0.2, 0.15, 0.3, []),
    robustness=Robustness("accuracy", 0.8, ["x"], 0, [NoiseLevel(0.5, 0.7, 0.1, 0.1)]),
    invariance=[Invariance("id", "shuffle", 100, 3, 0.03)],
    directional=[Directional("x", 1.0, "increasing", "P(1)", 100, 10, 0.1, -0.2)],
)


def test_no_thresholds_pass():
    assert gate(REPORT, GateThresholds()) == []


def test_each_broken_threshold_gives_its_reason():
    t = GateThresholds(
        min={"accuracy": 0.9, "roc_auc": 0.5},
        max={"log_loss": 0.5},
        min_slice={"accuracy": 0.7},
        max_calibration_error=0.1,
        max_robustness_drop=0.05,
        max_invariance_change_rate=0.01,
        max_direction_violation_rate=0.05,
    )
    assert gate(REPORT, t) == [
        "accuracy 0.8 < min 0.9",
        "roc_auc nan < min 0.5",  # a metric the report could not define fails its threshold
        "log_loss 0.6 > max 0.5",
        "slice g=b (30 rows): accuracy 0.6 < min_slice 0.7",
        "calibration error (ECE) 0.15 > max 0.1",
        "accuracy drops by 0.1 (from 0.8 to 0.7) under noise of 0.5 std > max 0.05",
        "invariance of 'id' (shuffle): 3.0% of predictions changed > max 1.0%",
        "raising 'x' by 1 moved P(1) against the increasing expectation in 10.0% of rows > "
        "max 5.0%",
    ]


def test_thresholds_met_pass():
    t = GateThresholds(
        min={"accuracy": 0.8},
        min_slice={"accuracy": 0.6},
        max_calibration_error=0.15,
        max_robustness_drop=0.1,
        max_invariance_change_rate=0.03,
        max_direction_violation_rate=0.1,
    )
    assert gate(REPORT, t) == []
