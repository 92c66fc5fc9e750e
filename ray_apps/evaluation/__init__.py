"""Offline evaluation of a model version on labelled test rows, and the gate on registration.

    from ray_apps.evaluation import run_evaluation, register_evaluated
    result = run_evaluation({"model": "cancer:3", "data": {"source": "data/test.parquet"},
                             "thresholds": {"min": {"accuracy": 0.9}}})
    result.passed, result.reasons, result.report.overall, result.report_dir
    mv, result = register_evaluated("runs/x/artifact", "cancer", "evaluate.yaml")  # Rejected
                                                                                  # if it fails
One concept per module: ``overall`` (metrics), ``slices``, ``calibration``, ``robustness``
(Gaussian feature noise), ``invariance``, ``directional`` (each a pure function of a scorer
and rows, with an array-level core), ``report`` (the record), ``gate`` (the pure decision),
``spec``, ``labelled_rows`` (the test rows), ``html``, ``job`` (``run_evaluation``) and
``registration`` (``register_evaluated``). ``python -m ray_apps.evaluation`` is the
``ray job submit`` entry point.
"""

from ray_apps.evaluation.calibration import Calibration, CalibrationBin, calibration
from ray_apps.evaluation.directional import Directional, directional, violations
from ray_apps.evaluation.gate import gate
from ray_apps.evaluation.invariance import Invariance, change_rate, invariance
from ray_apps.evaluation.job import EvaluationResult, evaluate, run_evaluation
from ray_apps.evaluation.overall import METRICS, metrics_for
from ray_apps.evaluation.registration import register_evaluated
from ray_apps.evaluation.report import EvaluationReport
from ray_apps.evaluation.robustness import NoiseLevel, Robustness, add_noise, robustness
from ray_apps.evaluation.scoring import Scorer, model_scorer
from ray_apps.evaluation.slices import SliceMetrics, slice_metrics
from ray_apps.evaluation.spec import EvaluationSpec, GateThresholds, parse_evaluation_spec

__all__ = [
    "METRICS",
    "Calibration",
    "CalibrationBin",
    "Directional",
    "EvaluationReport",
    "EvaluationResult",
    "EvaluationSpec",
    "GateThresholds",
    "Invariance",
    "NoiseLevel",
    "Robustness",
    "Scorer",
    "SliceMetrics",
    "add_noise",
    "calibration",
    "change_rate",
    "directional",
    "evaluate",
    "gate",
    "invariance",
    "metrics_for",
    "model_scorer",
    "parse_evaluation_spec",
    "register_evaluated",
    "robustness",
    "run_evaluation",
    "slice_metrics",
    "violations",
]
