"""``run_evaluation``: judge a model version (or an artifact) on labelled test rows, then gate.

    from ray_apps.evaluation import run_evaluation
    result = run_evaluation("evaluate.yaml")         # or a dict / EvaluationSpec
    result.passed, result.reasons, result.report.overall, result.report_dir

Top to bottom: the model (registry version, checksums checked, or artifact folder) → the
labelled rows → overall metrics, slices, calibration, robustness, invariance and directional
tests (``evaluate``) → ``gate`` → ``report.json`` (+ ``report.html``) in
``<output>/model=<m>/version=<v>/<UTC time>/`` (an artifact: ``artifact=<folder>-<sha>/…``).
``<output>`` is ``spec.output`` (a path or URI) or ``$RAYMAKER_HOME/evaluation``. A run reads,
never changes, the registry; ``register_evaluated`` is the gate on registration.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ray_apps import settings
from ray_apps._staging import staged
from ray_apps.artifact import MANIFEST, Model, load_model
from ray_apps.evaluation.calibration import calibration
from ray_apps.evaluation.directional import directional
from ray_apps.evaluation.gate import gate
from ray_apps.evaluation.html import render_html
from ray_apps.evaluation.invariance import invariance
from ray_apps.evaluation.labelled_rows import LabelledRows, read_labelled_rows
from ray_apps.evaluation.overall import check_metric, metrics_for
from ray_apps.evaluation.report import EvaluationReport
from ray_apps.evaluation.robustness import robustness
from ray_apps.evaluation.scoring import model_scorer
from ray_apps.evaluation.slices import slice_metrics
from ray_apps.evaluation.spec import EvaluationSpec, parse_evaluation_spec
from ray_apps.registry import fetch_artifact, get_version, parse_ref


@dataclass(frozen=True)
class EvaluationResult:
    report: EvaluationReport
    reasons: list[str]  # why the gate failed; [] passed
    report_dir: str | None  # a path or URI; None when not written

    @property
    def passed(self) -> bool:
        return not self.reasons

    @property
    def line(self) -> str:
        r = self.report
        head = ", ".join(f"{k}={v:.4g}" for k, v in r.overall.items())
        n = len(self.reasons)
        verdict = "passed" if self.passed else f"FAILED ({n} reason{'s' * (n > 1)})"
        return f"evaluation of {r.model} on {r.rows} rows: {head}; gate {verdict}"


def run_evaluation(
    spec: EvaluationSpec | dict | str | Path, *, now: datetime | None = None
) -> EvaluationResult:
    """Evaluate, gate and write the report; never exits (the CLI maps the outcome)."""
    spec = parse_evaluation_spec(spec)
    model, ref, folder = _model(spec)
    report = evaluate(spec, model, ref)
    reasons = gate(report, spec.thresholds)
    where = write_report(spec, report, reasons, folder, now=now)
    return EvaluationResult(report, reasons, where)


def evaluate(spec: EvaluationSpec, model: Model, ref: str) -> EvaluationReport:
    """Every test of ``spec`` on its labelled rows: numbers only, nothing written."""
    info = model.info
    task, classes = info.task, list(info.classes)
    metric = check_metric(spec.metric, task)
    for field_, bounds in (("min", spec.thresholds.min), ("max", spec.thresholds.max)):
        for name in bounds:
            check_metric(name, task, f"thresholds.{field_}.{name}")
    for name in spec.thresholds.min_slice:
        check_metric(name, task, f"thresholds.min_slice.{name}")
    rows: LabelledRows = read_labelled_rows(spec.data, info, model.path)
    frame, y = rows.frame, rows.labels
    scorer = model_scorer(model)
    scored = scorer(frame)
    proba = scored.probabilities
    s = spec.slices
    r = spec.robustness
    binary = task == "classification" and len(classes) == 2
    return EvaluationReport(
        model=ref,
        task=task,
        data=rows.source,
        rows=len(frame),
        metric=metric,
        overall=metrics_for(task, y, scored.predictions, proba, classes),
        slices=slice_metrics(
            frame,
            y,
            scored.predictions,
            proba,
            task=task,
            classes=classes,
            columns=s.columns,
            metric=metric,
            bins=s.bins,
            min_size=s.min_size,
            max_categories=s.max_categories,
        ),  # fmt: skip
        calibration=calibration(
            y == classes[1], proba[:, 1], bins=spec.calibration_bins, positive_class=classes[1]
        )
        if binary
        else None,
        robustness=robustness(
            scorer,
            frame[info.feature_names],
            y,
            task=task,
            classes=classes,
            metric=metric,
            noise=r.noise,
            seed=r.seed,
            features=r.features,
        )  # fmt: skip
        if r is not None
        else None,
        invariance=[
            invariance(
                scorer,
                frame,
                t.feature,
                values=t.values,
                shuffle=t.shuffle,
                seed=t.seed,
                tolerance=t.tolerance if task == "regression" else None,
            )  # fmt: skip
            for t in spec.invariance
        ],
        directional=[
            directional(
                scorer,
                frame,
                d.feature,
                d.delta,
                direction=d.direction,
                target_class=d.target_class,
                tolerance=d.tolerance,
            )  # fmt: skip
            for d in spec.directional
        ],
    )


def reports_root(spec: EvaluationSpec) -> str:
    return spec.output or str(
        settings.home("evaluation reports", "the spec's output: (or RAYMAKER_HOME)") / "evaluation"
    )


def write_report(
    spec: EvaluationSpec,
    report: EvaluationReport,
    reasons: list[str],
    folder: str,
    *,
    now: datetime | None = None,
) -> str:
    """``report.json`` (+ ``report.html``) in ``<root>/<folder>/<UTC time>/``; its location."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    target = f"{reports_root(spec).rstrip('/')}/{folder}/{stamp}"
    record = {**report.to_dict(), "gate": {"passed": not reasons, "reasons": reasons}}
    record["thresholds"] = spec.thresholds.model_dump()
    with staged(target, "raymaker-eval-") as local:
        if spec.html:
            (local / "report.html").write_text(render_html(report, reasons))
        tmp = local / ".report.json.tmp"
        tmp.write_text(json.dumps(_no_nan(record), indent=2, sort_keys=True, default=str))
        tmp.replace(local / "report.json")
    return target


def _model(spec: EvaluationSpec) -> tuple[Model, str, str]:
    """The model, how the report names it, and its reports folder under the root."""
    if spec.model is not None:
        name, version = parse_ref(spec.model)
        if spec.artifact is None:
            mv = get_version(name, version, tracking_uri=spec.tracking_uri)
            return load_model(fetch_artifact(mv)), mv.ref, f"model={name}/version={mv.version}"
        if version is not None:
            model = load_model(spec.artifact)
            return model, f"{name}:{version}", f"model={name}/version={version}"
    model = load_model(spec.artifact)
    return model, str(spec.artifact), artifact_folder(model.path)


def artifact_folder(path: Path) -> str:
    """``artifact=<folder name>-<sha256 of its manifest, 8>``: unregistered models' reports."""
    digest = hashlib.sha256((path / MANIFEST).read_bytes()).hexdigest()[:8]
    return f"artifact={path.name}-{digest}"


def _no_nan(value):
    """NaN (a metric a slice cannot define) as JSON null: strict readers refuse NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    return value
