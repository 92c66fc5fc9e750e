"""Models: each model's versions with their status, metrics, gate verdict and lineage; approve
or reject a version with a reason.

The decision goes through ``ray_apps.registry.approve`` / ``reject``, the functions
``raymaker registry approve|reject`` and the endpoints' admin routes call: the same state machine
(``ray_apps.registry.approval``), the same lock, the same history, with ``by`` set to
``console:<role>``. The console asks for a reason (the CLI allows none).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from console.context import context_of
from console.guard import action, page, session_of
from console.readers.evaluations import gate_of
from console.readers.files import sandboxed_html
from console.render import render
from ray_apps import registry
from ray_apps.errors import ApprovalError, NotFoundError, SpecError

ACTIONS = ("approve", "reject")


@page()
def models_index(request: Request) -> Response:
    return render(request, "models.html", models=context_of(request).registry.list_models())


@page()
def model_versions(request: Request) -> Response:
    ctx = context_of(request)
    name = _name(request)
    versions = ctx.registry.list_versions(name)
    rows = [
        {
            "v": v,
            "gate": gate_of(ctx.places.evaluation_root, name, v.version),
            "lineage": lineage_of(v.lineage),
            "last": v.history[-1] if v.history else None,
        }
        for v in reversed(versions)
    ]
    return render(request, "model.html", name=name, rows=rows)


@page()
def version_detail(request: Request) -> Response:
    ctx = context_of(request)
    name, number = _name(request), request.path_params["version"]
    v = ctx.registry.get_version(name, number)
    return render(
        request,
        "version.html",
        v=v,
        gate=gate_of(ctx.places.evaluation_root, name, number),
        lineage=lineage_of(v.lineage),
        actions=[a for a in ACTIONS if _possible(v.status, a)],
        can_decide=session_of(request).role == "admin",
    )


@page()
def evaluation_report(request: Request) -> Response:
    ctx = context_of(request)
    name, number = _name(request), request.path_params["version"]
    gate = gate_of(ctx.places.evaluation_root, name, number)
    if gate is None or not gate.has_html:
        raise NotFoundError(f"{name}:{number} has no evaluation report (raymaker evaluate)")
    return sandboxed_html(f"{gate.folder}/report.html")


def _decide(verb: str):
    @action("admin")
    def decide(request: Request, form: dict[str, str]) -> Response:
        ctx = context_of(request)
        name, number = _name(request), request.path_params["version"]
        reason = form.get("reason", "").strip()
        if not reason:
            raise SpecError(
                f"say why you {verb} {name}:{number}: the reason is kept in its history"
            )
        decide_fn = registry.approve if verb == "approve" else registry.reject
        by = f"console:{session_of(request).role}"
        try:
            decide_fn(name, number, by=by, reason=reason, tracking_uri=ctx.places.tracking_uri)
        finally:
            ctx.registry.forget()  # the next page reads the registry as it is now
        return RedirectResponse(f"/models/{name}/versions/{number}", status_code=303)

    decide.__name__ = f"{verb}_version"
    return decide


def lineage_of(lineage: dict[str, Any]) -> dict[str, Any]:
    """The lineage fields a reviewer looks for, each None when absent."""
    data = lineage.get("data") or {}
    return {
        "run": lineage.get("run_name"),
        "mlflow_run": lineage.get("mlflow_run_id"),
        "fingerprint": data.get("fingerprint"),
        "rows": data.get("rows"),
        "pipeline_run": lineage.get("pipeline_run"),
        "pipeline_step": lineage.get("pipeline_step"),
        "code": lineage.get("code_version"),
    }


def _possible(status: str, verb: str) -> bool:
    try:
        registry.transition(status, verb, by="console")
    except ApprovalError:
        return False
    return True


def _name(request: Request) -> str:
    given = request.path_params["name"]
    name, version = registry.parse_ref(given)  # a SpecError (400) names the rule
    if version is not None:
        raise NotFoundError(f"no model {given!r}: the version goes in /models/{name}/versions/")
    return name


routes = [
    Route("/models", models_index),
    Route("/models/{name}", model_versions),
    Route("/models/{name}/versions/{version:int}", version_detail),
    Route("/models/{name}/versions/{version:int}/evaluation", evaluation_report),
    *[
        Route(f"/models/{{name}}/versions/{{version:int}}/{verb}", _decide(verb), methods=["POST"])
        for verb in ACTIONS
    ],
]
