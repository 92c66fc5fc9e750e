"""The gate on registration: evaluate an artifact first, then register it, Rejected if it fails.

    from ray_apps.evaluation import register_evaluated
    mv, result = register_evaluated("runs/x/artifact", "cancer", "evaluate.yaml")
    mv.status          # "Pending" (passed: awaits a person's approval) or "Rejected"
    mv.history[-1]     # {"status": "Rejected", "by": "raymaker evaluate", "reason": "…"}

A failing version is still registered, so its artifact, metrics and the reasons stay on record
next to the versions that passed; it cannot deploy (only Approved versions do) until someone
approves it on purpose. The evaluation runs before the registry is touched: an evaluation that
errors (bad spec, unreadable data) registers nothing.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ray_apps.artifact import load_model
from ray_apps.errors import SpecError
from ray_apps.evaluation.gate import gate
from ray_apps.evaluation.job import EvaluationResult, evaluate, write_report
from ray_apps.evaluation.spec import EvaluationSpec, parse_evaluation_spec
from ray_apps.registry import ModelVersion, parse_ref, register, reject

GATE_USER = "raymaker evaluate"


def register_evaluated(
    artifact: str | Path,
    model_name: str,
    spec: EvaluationSpec | dict | str | Path,
    *,
    description: str = "",
    tracking_uri: str | None = None,
) -> tuple[ModelVersion, EvaluationResult]:
    """Evaluate ``artifact`` with ``spec`` (its ``model``/``artifact`` fields are replaced),
    register it under ``model_name``, and reject the new version if the gate failed."""
    name, version = parse_ref(model_name)
    if version is not None:
        raise SpecError(
            f"{model_name!r} names a version; registration picks the next one: pass the name "
            f"({name})"
        )
    if isinstance(spec, dict):
        spec = {**spec, "model": None, "artifact": str(artifact)}
    spec = parse_evaluation_spec(spec)
    spec = spec.model_copy(update={"model": None, "artifact": str(artifact)})
    uri = tracking_uri or spec.tracking_uri
    model = load_model(artifact)
    report = evaluate(spec, model, str(artifact))
    reasons = gate(report, spec.thresholds)
    mv = register(artifact, name, description=description, tracking_uri=uri)
    report = replace(report, model=mv.ref)
    where = write_report(spec, report, reasons, f"model={name}/version={mv.version}")
    if reasons:
        why = "evaluation gate failed: " + "; ".join(reasons) + f" (report {where})"
        mv = reject(name, mv.version, by=GATE_USER, reason=why, tracking_uri=uri)
    return mv, EvaluationResult(report, reasons, where)
