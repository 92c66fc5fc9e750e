"""Pins the public surface of ``ray_apps.evaluation``."""

from ray_apps import evaluation


def test_evaluation_public_names():
    assert sorted(evaluation.__all__) == sorted(
        [
            "METRICS", "Calibration", "CalibrationBin", "Directional", "EvaluationReport",
            "EvaluationResult", "EvaluationSpec", "GateThresholds", "Invariance", "NoiseLevel",
            "Robustness", "Scorer", "SliceMetrics", "add_noise", "calibration", "change_rate",
            "directional", "evaluate", "gate", "invariance", "metrics_for", "model_scorer",
            "parse_evaluation_spec", "register_evaluated", "robustness", "run_evaluation",
            "slice_metrics", "violations",
        ]
    )  # fmt: skip
    for name in evaluation.__all__:
        assert getattr(evaluation, name) is not None
