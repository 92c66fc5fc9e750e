"""The alert decision: a pure function of a run's summary, the thresholds and the time.

    verdict = decide(summary, thresholds, now)
    verdict.status        # "ok" | "violation" | "too_few_rows"
    verdict.violations    # what broke which threshold, each naming its column
    verdict.exit_code     # the one-shot CLI's exit code (table below)

A window with fewer than ``min_rows`` rows is not judged: drift tests on a handful of rows
alarm on noise or see nothing, and a quiet hour is not a drifting one. Delivery (webhook, log
line, gauges) is ``ray_apps.monitoring.delivery``; nothing here does I/O.

Exit codes of ``raymaker monitor`` (one-shot):

    0  every check passed
    1  the run failed (a bug, storage unreachable)
    2  bad input: spec, option, unknown model or version, unreadable data
    3  at least one violation; alerts delivered
    4  too few rows in the window to judge (nothing alerted)
    5  at least one violation, and the webhook could not be reached after its retries
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any

from ray_apps.monitoring.spec import Thresholds
from ray_apps.monitoring.summary import MonitorSummary


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    BAD_INPUT = 2
    VIOLATION = 3
    TOO_FEW_ROWS = 4
    VIOLATION_UNDELIVERED = 5


@dataclass(frozen=True)
class Violation:
    """One broken threshold."""

    kind: str  # column_drift | drifted_share | prediction_drift | missing_share | …
    column: str | None  # the feature (or "prediction"); None for dataset-wide checks
    value: float
    threshold: float
    message: str


@dataclass(frozen=True)
class Verdict:
    status: str  # "ok" | "violation" | "too_few_rows"
    decided_at: datetime
    violations: list[Violation] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        return {
            "ok": ExitCode.OK,
            "violation": ExitCode.VIOLATION,
            "too_few_rows": ExitCode.TOO_FEW_ROWS,
        }[self.status]

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "decided_at": self.decided_at.isoformat(),
            "violations": [asdict(v) for v in self.violations],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Verdict:
        return cls(
            status=d["status"],
            decided_at=datetime.fromisoformat(d["decided_at"]),
            violations=[Violation(**v) for v in d.get("violations", [])],
        )


def decide(summary: MonitorSummary, thresholds: Thresholds, now: datetime) -> Verdict:
    """Which thresholds the summary breaks, decided at ``now``."""
    if summary.rows < thresholds.min_rows:
        return Verdict("too_few_rows", now)
    found = [
        *_drift(summary, thresholds),
        *_quality(summary, thresholds),
        *_model_quality(summary, thresholds),
    ]
    return Verdict("violation" if found else "ok", now, found)


def _drift(s: MonitorSummary, t: Thresholds) -> list[Violation]:
    out = []
    if t.column_drift:
        for c in s.columns:
            if c.drifted:
                out.append(_drifted("column_drift", c))
    if t.drifted_share is not None and s.drifted_share >= t.drifted_share:
        out.append(
            Violation(
                "drifted_share",
                None,
                s.drifted_share,
                t.drifted_share,
                f"{len(s.drifted_columns)} of {len(s.columns)} feature columns drifted "
                f"({s.drifted_share:.0%} >= {t.drifted_share:.0%}): {s.drifted_columns}",
            )
        )
    if t.prediction_drift and s.prediction is not None and s.prediction.drifted:
        out.append(_drifted("prediction_drift", s.prediction))
    return out


def _drifted(kind: str, c) -> Violation:
    side = "<" if c.is_p_value else ">"
    what = "p-value" if c.is_p_value else "distance"
    score = format_p_value(c.score) if c.is_p_value else f"{c.score:.3g}"
    return Violation(
        kind,
        c.column,
        c.score,  # the number itself, 0.0 included: JSON stays numeric
        c.threshold,
        f"{c.column!r} drifted: {c.method} {what} {score} {side} {c.threshold:.3g}",
    )


# Below about 1e-300 a test's p-value is a float's rounding noise, and one that underflows is
# exactly 0.0: printed as "0" it reads as certainty. Text says how small; values stay numbers.
_P_FLOOR = 1e-300


def format_p_value(p: float) -> str:
    """A p-value for people: three significant digits, ``< 1e-300`` below that (0.0 included)."""
    return f"< {_P_FLOOR:g}" if 0 <= p < _P_FLOOR else f"{p:.3g}"


def _quality(s: MonitorSummary, t: Thresholds) -> list[Violation]:
    out = []
    for q in s.quality:
        if t.missing_share is not None:
            allowed = q.baseline_missing_share + t.missing_share
            if q.missing_share > allowed:
                out.append(
                    Violation(
                        "missing_share",
                        q.column,
                        q.missing_share,
                        allowed,
                        f"{q.column!r} is missing in {q.missing_share:.1%} of rows "
                        f"(training {q.baseline_missing_share:.1%}, allowed {allowed:.1%})",
                    )
                )
        if t.out_of_range_share is not None and q.out_of_range_share > t.out_of_range_share:
            out.append(
                Violation(
                    "out_of_range_share",
                    q.column,
                    q.out_of_range_share,
                    t.out_of_range_share,
                    f"{q.column!r} is outside its training range in {q.out_of_range_share:.1%} "
                    f"of rows (allowed {t.out_of_range_share:.1%})",
                )
            )
        if t.new_category_share is not None and q.new_category_share > t.new_category_share:
            out.append(
                Violation(
                    "new_category_share",
                    q.column,
                    q.new_category_share,
                    t.new_category_share,
                    f"{q.column!r} has values training never had in {q.new_category_share:.1%} "
                    f"of rows, e.g. {q.new_categories} (allowed {t.new_category_share:.1%})",
                )
            )
    return out


def _model_quality(s: MonitorSummary, t: Thresholds) -> list[Violation]:
    """A metric of the labelled rows worse than the artifact's by more than ``quality_drop``
    (a fraction of the artifact's value); not judged under ``min_labels`` labelled rows."""
    mq = s.model_quality
    if mq is None or t.quality_drop is None or mq.labeled_rows < t.min_labels:
        return []
    out = []
    for metric, value in mq.metrics.items():
        worse = mq.worsening(metric)
        if worse is not None and worse > t.quality_drop:
            base = mq.baseline[metric]
            out.append(
                Violation(
                    "model_quality",
                    metric,
                    worse,
                    t.quality_drop,
                    f"{metric} {value:.3g} on {mq.labeled_rows} labelled rows is {worse:.1%} "
                    f"worse than the model's {base:.3g} at training (allowed {t.quality_drop:.0%})",
                )
            )
    return out
