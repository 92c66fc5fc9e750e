"""The registry steps: register a version, approve it by rule, or wait for a person to."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from pipelines.steps import StepContext
from ray_apps.errors import SpecError, TrainingError

WAIT_POLL_S = 2.0


def register(inputs: Mapping[str, Any], ctx: StepContext) -> dict[str, Any]:
    from ray_apps import registry

    status = inputs.get("status") or "Pending"
    if status not in ("Pending", "Approved"):
        raise SpecError(f"with.status {status!r}: a new version is Pending or Approved")
    mv = registry.register(
        str(inputs["artifact"]),
        inputs["model"],
        description=f"made by pipeline run {ctx.run_id}, step {ctx.step}",
        lineage={"pipeline": ctx.pipeline, "pipeline_run": ctx.run_id, "pipeline_step": ctx.step},
    )
    if status == "Approved":
        mv = registry.approve(mv.name, mv.version, by=_by(ctx), reason="registered approved")
    return {"model": mv.name, "version": mv.version, "ref": mv.ref}


def approve(inputs: Mapping[str, Any], ctx: StepContext) -> dict[str, Any]:
    """Approve by rule: the step runs only when its ``if`` holds (a condition upstream)."""
    from ray_apps import registry

    reason = inputs.get("reason") or f"approved by pipeline run {ctx.run_id}"
    registry.approve(inputs["model"], int(inputs["version"]), by=_by(ctx), reason=reason)
    return {"approved": True, "by": _by(ctx)}


def wait_for_approval(inputs: Mapping[str, Any], ctx: StepContext) -> dict[str, Any]:
    """Until a person approves (``raymaker registry approve``) or rejects the version; at once
    when ``approve_if`` holds (the rule's verdict): approval by rule, else by a person."""
    from ray_apps import registry

    name, version = inputs["model"], int(inputs["version"])
    if inputs.get("approve_if") is True:
        mv = registry.get_version(name, version)
        if mv.status == "Pending":
            reason = inputs.get("reason") or f"approved by rule in pipeline run {ctx.run_id}"
            registry.approve(name, version, by=_by(ctx), reason=str(reason))
            print(f"[raymaker] {ctx.step}: {name}:{version} approved by rule", flush=True)
    timeout = inputs.get("timeout_s")
    deadline = None if timeout is None else time.monotonic() + float(timeout)
    said = False
    while True:
        mv = registry.get_version(name, version)
        if mv.status in ("Approved", "Rejected"):
            by = (mv.history[-1].get("by") if getattr(mv, "history", None) else None) or ""
            return {"approved": mv.status == "Approved", "by": by}
        if not said:
            print(
                f"[raymaker] {ctx.step}: waiting for {name}:{version} to be approved "
                f"(raymaker registry approve {name}:{version})",
                flush=True,
            )
            said = True
        if deadline is not None and time.monotonic() > deadline:
            raise TrainingError(f"{name}:{version} was not approved or rejected in {timeout} s")
        time.sleep(WAIT_POLL_S)


def _by(ctx: StepContext) -> str:
    return f"pipeline:{ctx.run_id}/{ctx.step}"
