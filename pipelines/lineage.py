"""A pipeline run in MLflow: one parent run per pipeline run, a nested run per finished step.

The parent is named after the run id and tagged with the pipeline; each step's run carries its
kind, state, resolved inputs (params ``input.*``), outputs (params ``output.*``, numbers also as
metrics), its cache key and where a cached result came from. A registered version records the
pipeline run and step that made it (``pipelines.steps.models.register``), so lineage reads
from the served version back to the pipeline run, and from there to every step's inputs.

MLflow being unreachable never fails a pipeline: the runner is told, says so once, and goes on.
"""

from __future__ import annotations

from typing import Any

from pipelines.record import RunRecord, StepRecord

EXPERIMENT = "raymaker-pipelines"


def open_pipeline_run(run: RunRecord) -> str:
    from ray_apps import tracking

    uri = tracking.resolve_uri(None)
    tags = {"raymaker.pipeline": run.pipeline, "raymaker.pipeline_run": run.run_id}
    if run.trigger:  # the alert (or schedule) behind the run: where the lineage starts
        tags["raymaker.trigger"] = run.trigger[:4000]
    return tracking.open_run(uri, EXPERIMENT, run.run_id, tracking.flatten(run.parameters), tags)


def log_step(run: RunRecord, step: str, kind: str, record: StepRecord) -> str:
    from ray_apps import tracking

    outputs = record.outputs or {}
    params = {
        **{f"input.{k}": v for k, v in tracking.flatten(dict(record.inputs or {})).items()},
        **{f"output.{k}": v for k, v in tracking.flatten(dict(outputs)).items()},
    }
    numbers = {
        k: float(v)
        for k, v in tracking.flatten(dict(outputs)).items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
    if record.duration_s is not None:
        numbers["duration_s"] = record.duration_s
    tags = {
        "raymaker.pipeline": run.pipeline,
        "raymaker.pipeline_run": run.run_id,
        "raymaker.step": step,
        "raymaker.kind": kind,
        "raymaker.state": record.state,
        "raymaker.attempts": str(len(record.attempts)),
        **_optional(record),
    }
    return tracking.log_child_run(
        tracking.resolve_uri(None), run.mlflow_run_id, step, params, [numbers], tags
    )


def close_pipeline_run(run: RunRecord) -> None:
    from mlflow.tracking import MlflowClient

    from ray_apps import tracking

    client = MlflowClient(tracking_uri=tracking.resolve_uri(None))
    client.set_tag(run.mlflow_run_id, "raymaker.state", run.state)
    client.set_terminated(
        run.mlflow_run_id, status="FINISHED" if run.state == "succeeded" else "FAILED"
    )


def _optional(record: StepRecord) -> dict[str, Any]:
    tags = {}
    if record.cache_key:
        tags["raymaker.cache_key"] = record.cache_key
    if record.cache_source:
        tags["raymaker.cache_source"] = (
            f"{record.cache_source['run_id']}/{record.cache_source['step']}"
        )
    if record.error:
        tags["raymaker.error"] = record.error[:4000]
    if record.reason:
        tags["raymaker.reason"] = record.reason[:4000]
    return tags
