"""The serving steps: deploy an endpoint, roll a candidate out on it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipelines.steps import StepContext
from pipelines.steps.jobs import job_spec


def deploy(inputs: Mapping[str, Any], ctx: StepContext) -> dict[str, Any]:
    from serve import deploy as deploy_endpoint

    spec = job_spec(inputs)
    if inputs.get("model"):
        version = inputs.get("version")
        model = {"name": inputs["model"], **({"version": int(version)} if version else {})}
        spec = {**spec, "models": [model]}
    info = deploy_endpoint(spec)
    return {"endpoint": spec.get("name", "raymaker"), "url": info.url, "models": list(info.models)}


def rollout(inputs: Mapping[str, Any], ctx: StepContext) -> dict[str, Any]:
    from serve.rollout.controller import run_rollout, start_rollout

    spec = {**job_spec(inputs), "candidate": inputs["candidate"]}
    record = start_rollout(spec)
    record = run_rollout(record["spec"]["endpoint"])
    status = record["state"]["status"]
    return {"status": status, "promoted": status == "promoted"}
