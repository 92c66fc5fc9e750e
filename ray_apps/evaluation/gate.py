"""The gate: a pure function of a report and thresholds, returning why it fails (or nothing).

    reasons = gate(report, spec.thresholds)      # [] passes
    # ["accuracy 0.51 < min 0.9", "invariance of 'id': 12.0% of predictions changed > 1.0%"]

An unset threshold is not checked. A metric the report could not define (NaN, or absent: AUC
of a multi-class model) fails a threshold set on it: the gate cannot vouch for it.
"""

from __future__ import annotations

import math

from ray_apps.evaluation.report import EvaluationReport
from ray_apps.evaluation.spec import GateThresholds


def gate(report: EvaluationReport, thresholds: GateThresholds) -> list[str]:
    t = thresholds
    reasons = [*_bounds(report.overall, t.min, t.max, "")]
    worst = report.worst_slices
    for metric, bound in t.min_slice.items():
        values = [(s.metrics.get(metric, math.nan), s) for s in worst]
        if not values:
            continue
        value, s = min(values, key=lambda vs: (not math.isnan(vs[0]), vs[0]))
        if not value >= bound:
            reasons.append(
                f"slice {s.column}={s.slice} ({s.size} rows): {metric} {value:.4g} < "
                f"min_slice {bound:.4g}"
            )
    cal = report.calibration
    limit = t.max_calibration_error
    if limit is not None and cal is not None and not cal.expected_error <= limit:
        reasons.append(f"calibration error (ECE) {cal.expected_error:.4g} > max {limit:.4g}")
    rob = report.robustness
    if t.max_robustness_drop is not None and rob is not None:
        for lv in rob.levels:
            if not lv.drop <= t.max_robustness_drop:
                reasons.append(
                    f"{rob.metric} drops by {lv.drop:.4g} (from {rob.clean:.4g} to "
                    f"{lv.value:.4g}) under noise of {lv.noise:g} std > max "
                    f"{t.max_robustness_drop:.4g}"
                )
    if t.max_invariance_change_rate is not None:
        for inv in report.invariance:
            if inv.change_rate > t.max_invariance_change_rate:
                reasons.append(
                    f"invariance of {inv.feature!r} ({inv.change}): {inv.change_rate:.1%} of "
                    f"predictions changed > max {t.max_invariance_change_rate:.1%}"
                )
    if t.max_direction_violation_rate is not None:
        for d in report.directional:
            if d.violation_rate > t.max_direction_violation_rate:
                reasons.append(
                    f"raising {d.feature!r} by {d.delta:g} moved {d.score} against the "
                    f"{d.direction} expectation in {d.violation_rate:.1%} of rows > max "
                    f"{t.max_direction_violation_rate:.1%}"
                )
    return reasons


def _bounds(values: dict[str, float], low: dict, high: dict, where: str) -> list[str]:
    out = []
    for metric, bound in low.items():
        value = values.get(metric, math.nan)
        if not value >= bound:  # NaN fails
            out.append(f"{where}{metric} {value:.4g} < min {bound:.4g}")
    for metric, bound in high.items():
        value = values.get(metric, math.nan)
        if not value <= bound:
            out.append(f"{where}{metric} {value:.4g} > max {bound:.4g}")
    return out
