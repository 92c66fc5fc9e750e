"""The serving steps: deploy an endpoint, roll a candidate out on it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipelines.steps import StepContext
from pipelines.steps.jobs import job_spec
from ray_apps.errors import NotFoundError


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
    """Start the rollout and tick it to its end; a rollout of this candidate already running
    on the endpoint (this step, before its driver was killed) is resumed, not started again."""
    from serve.rollout.controller import ACTIVE, rollout_status, run_rollout, start_rollout

    spec = {**job_spec(inputs), "candidate": inputs["candidate"]}
    endpoint = spec.get("endpoint")
    current = _current(rollout_status, endpoint)
    running = current is not None and current["state"]["status"] in ACTIVE
    if not (running and current["spec"]["candidate"] == spec["candidate"]):
        endpoint = start_rollout(spec)["spec"]["endpoint"]
    print(f"[raymaker] {ctx.step}: rolling {spec['candidate']} out on {endpoint}", flush=True)
    record = run_rollout(endpoint)
    status = record["state"]["status"]
    reason = record["history"][-1].get("reason", "") if record.get("history") else ""
    return {"status": status, "promoted": status == "promoted", "reason": reason}


def _current(rollout_status, endpoint: Any) -> dict[str, Any] | None:
    if not endpoint:
        return None  # start_rollout names the missing field
    try:
        return rollout_status(str(endpoint))
    except NotFoundError:
        return None
