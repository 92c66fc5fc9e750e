"""The job steps: a job file (``config``) with ``overrides`` merged in, run as the CLI runs it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipelines.steps import StepContext
from ray_apps.errors import SpecError


def job_spec(inputs: Mapping[str, Any], required: bool = True) -> dict[str, Any]:
    """The job file's mapping with ``inputs["overrides"]`` merged in (nested keys merge)."""
    config = inputs.get("config")
    if config is None:
        if required:
            raise SpecError("the step needs with.config: the job file it runs")
        spec: dict[str, Any] = {}
    else:
        import yaml

        path = Path(str(config))
        if not path.is_file():
            raise SpecError(f"with.config {config!r}: no such job file")
        spec = yaml.safe_load(path.read_text()) or {}
        if not isinstance(spec, dict):
            raise SpecError(f"with.config {config!r}: a job file is a mapping")
    return merge(spec, inputs.get("overrides") or {})


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = (
            merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
        )
    return out


def train(inputs: Mapping[str, Any], ctx: StepContext) -> dict[str, Any]:
    from ray_apps.training import run_training

    result = run_training(job_spec(inputs))
    return {
        "artifact": result.artifact_path,
        "run_name": result.run_name,
        "metrics": result.metrics,
    }


def tune(inputs: Mapping[str, Any], ctx: StepContext) -> dict[str, Any]:
    from tuning import run_tuning

    spec = job_spec(inputs)
    if inputs.get("warm_start_from"):  # a tuning job's run name: its trials seed this search
        parent = _tuning_run(str(inputs["warm_start_from"]))
        spec = merge(spec, {"warm_start": {"mode": "transfer", "parents": [parent]}})
    result = run_tuning(spec)
    return {
        "best_artifact": result.artifact_path,
        "best_params": result.best_config,
        "best_metrics": result.metrics,
        "run_name": result.run_name,
    }


def _tuning_run(source: str) -> str:
    """A tuning job's run name: as given, or the one that made a registered version
    (``name:version``, the serving one in the closed loop), read from its lineage."""
    name, sep, version = source.rpartition(":")
    if not sep or not version.isdigit():
        return source
    from ray_apps import registry

    mv = registry.get_version(name, int(version))
    run = (mv.lineage or {}).get("run_name")
    if not run:
        raise SpecError(
            f"with.warm_start_from {source!r}: the version records no run that made it; name "
            "the tuning job's run instead"
        )
    return run


def evaluate(inputs: Mapping[str, Any], ctx: StepContext) -> dict[str, Any]:
    from ray_apps.evaluation.job import run_evaluation

    spec = job_spec(inputs, required=False)
    what = {"artifact": str(inputs["artifact"])} if inputs.get("artifact") else {}
    if inputs.get("model"):  # a registered version: the serving one, to compare against
        what = {"model": str(inputs["model"])}
    spec = merge(spec, {**what, "data": {"source": inputs["data"]}})
    if inputs.get("gate"):
        spec = merge(spec, {"thresholds": inputs["gate"]})
    result = run_evaluation(spec)
    return {
        "metrics": dict(result.report.overall),
        "passed": result.passed,
        "report": result.report_dir,
    }


def batch(inputs: Mapping[str, Any], ctx: StepContext) -> dict[str, Any]:
    from ray_apps.batch import run_batch

    result = run_batch(job_spec(inputs))
    return {
        "output": result.output_dir,
        "rows_out": result.summary.rows_out,
        "rejected": result.summary.rows_rejected,
    }


def monitor(inputs: Mapping[str, Any], ctx: StepContext) -> dict[str, Any]:
    from ray_apps.monitoring import run_monitor

    result = run_monitor(job_spec(inputs))
    verdict = result.verdict
    return {
        "drifted": verdict.status == "violation",
        "report": result.report_dir,
        "alerts": [v.message for v in verdict.violations],
    }


def explain(inputs: Mapping[str, Any], ctx: StepContext) -> dict[str, Any]:
    from ray_apps.explain import run_explain

    result = run_explain(job_spec(inputs))
    return {"report": str(result.output_dir)}


def bias(inputs: Mapping[str, Any], ctx: StepContext) -> dict[str, Any]:
    from ray_apps import run_bias

    result = run_bias(job_spec(inputs))
    return {"report": result.report_dir}
