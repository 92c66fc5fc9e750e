"""Every operation of the endpoint, by the route name ``serve.routes`` matches it to.

One row per (method, OpenAPI path): what the route takes, what it answers on success, and the
errors it may answer besides 401/403 (added from the route's role in ``serve.routes.ROLES``).
A route whose regex matches several paths (a V2 route with and without ``/versions/{version}``,
approve and reject) has a row for each. ``tests/unit/serve/test_openapi.py`` checks the rows
against the route table both ways: every route has a row, and every row's path is matched to
its route.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from serve.openapi.schemas import V1_EXAMPLE, V2_EXAMPLE


@dataclass(frozen=True)
class Operation:
    route: str  # the route name in serve.routes
    method: str
    path: str
    tag: str
    summary: str
    answer: int  # the success status
    schema: str  # its body's schema
    errors: tuple[int, ...] = ()
    body: str | None = None  # the request body's schema (required unless optional_body)
    optional_body: bool = False
    example: dict[str, Any] | None = None
    location: bool = False  # the answer carries a Location header (202: where to look)
    deprecated: bool = False


V1, V2, HEALTH = "KServe V1", "Open Inference Protocol V2", "Health"
ASYNC, REGISTRY, ADMIN = "Asynchronous inference", "Registry", "Admin"
LOADS = (404, 507)  # the model is named; a model set loads it (507: above the replica's budget)
BODY = (400, 413)
VERSION = (400, 404, 409)  # a version named that is not a number / not served / not Approved
_V = "/v2/models/{name}"
_VV = "/v2/models/{name}/versions/{version}"


def _v2(route: str, suffix: str, method: str, summary: str, **kw: Any) -> list[Operation]:
    """The V2 route at ``{name}`` and at ``{name}/versions/{version}``."""
    errors, tag = kw.pop("errors", ()), kw.pop("tag", V2)
    return [
        Operation(route, method, f"{_V}{suffix}", tag, summary, errors=errors, **kw),
        Operation(
            route,
            method,
            f"{_VV}{suffix}",
            tag,
            f"{summary} (a pinned version)",
            errors=tuple(sorted({*errors, *VERSION})),
            **kw,
        ),
    ]


def _decide(route: str, prefix: str, deprecated: bool) -> list[Operation]:
    path = prefix + "/registry/models/{name}/versions/{version}:"
    if deprecated:
        kw: dict[str, Any] = {"answer": 404, "schema": "Error", "deprecated": True}
        summary = "Moved to POST /admin/registry/…:{action}: answers 404 naming the new path"
    else:
        kw = {"answer": 200, "schema": "ModelVersion", "errors": (*BODY, 404, 409)}
        summary = "{Action} a version ({{by, reason}}); the answer is the version after it"
        kw["body"] = "DecisionBody"
    tag = REGISTRY if deprecated else ADMIN
    return [
        Operation(route, "POST", path + action, tag, summary.format(action=action, Action=title),
                  **kw)
        for action, title in (("approve", "Approve"), ("reject", "Reject"))
    ]  # fmt: skip


OPERATIONS: list[Operation] = [
    Operation("v1_predict", "POST", "/v1/models/{name}:predict", V1, "Predict",
              200, "V1PredictResponse", (*BODY, *LOADS), "V1PredictRequest", example=V1_EXAMPLE),
    Operation("v1_predict_async", "POST", "/v1/models/{name}:predict-async", ASYNC,
              "Queue a V1 predict; its answer is fetched later", 202, "AsyncAccepted",
              (*BODY, *LOADS, 429), "V1PredictRequest", example=V1_EXAMPLE, location=True),
    Operation("v1_explain", "POST", "/v1/models/{name}:explain", V1,
              "SHAP values of the rows (at most max_explain_rows)", 200, "V1ExplainResponse",
              (*BODY, *LOADS), "V1PredictRequest", example=V1_EXAMPLE),
    Operation("labels", "POST", "/v1/models/{name}/labels", V1,
              "Ground-truth labels of earlier requests, by request id", 200, "LabelsAccepted",
              (*BODY, *LOADS), "LabelsRequest"),
    Operation("v1_model", "GET", "/v1/models/{name}", V1, "A served model's version",
              200, "V1ModelStatus", (404,)),
    Operation("v1_models", "GET", "/v1/models", V1, "The served models", 200, "V1ModelList"),
    *_v2("v2_infer", "/infer", "POST", "Inference", answer=200, schema="inference_response",
         errors=(*BODY, *LOADS), body="inference_request", example=V2_EXAMPLE),
    *_v2("v2_infer_async", "/infer-async", "POST", "Queue a V2 inference", answer=202,
         schema="AsyncAccepted", errors=(*BODY, *LOADS, 429), body="inference_request",
         example=V2_EXAMPLE, location=True, tag=ASYNC),
    *_v2("v2_explain", "/explain", "POST", "SHAP values as V2 tensors", answer=200,
         schema="inference_response", errors=(*BODY, *LOADS), body="inference_request",
         example=V2_EXAMPLE),
    *_v2("v2_model_ready", "/ready", "GET", "Model Ready", answer=200, schema="ModelReady",
         errors=(404,)),
    *_v2("v2_model", "", "GET", "Model Metadata", answer=200,
         schema="metadata_model_response", errors=LOADS),
    Operation("live", "GET", "/v2/health/live", HEALTH, "Server Live", 200, "Live"),
    Operation("ready", "GET", "/v2/health/ready", HEALTH,
              "Server Ready (503 until the replica holds its models)", 200, "Ready", (503,)),
    Operation("v2_server", "GET", "/v2", V2, "Server Metadata", 200, "metadata_server_response"),
    Operation("async_status", "GET", "/async/requests/{id}", ASYNC,
              "An asynchronous request's status", 200, "AsyncStatus", (404,)),
    Operation("async_result", "GET", "/async/requests/{id}/result", ASYNC,
              "Its answer, with the real-time route's status (404 until it is done)", 200,
              "AsyncResult", (400, 404, 409, 413, 500, 507)),
    Operation("registry_models", "GET", "/registry/models", REGISTRY, "Registered models",
              200, "ModelGroups"),
    Operation("registry_versions", "GET", "/registry/models/{name}", REGISTRY,
              "A model's versions, oldest first", 200, "ModelVersions", (404,)),
    Operation("registry_version", "GET", "/registry/models/{name}/versions/{version}",
              REGISTRY, "One version: status, history, artifact, metrics", 200, "ModelVersion",
              (400, 404)),
    *_decide("admin_decide", "/admin", deprecated=False),
    *_decide("registry_decide_moved", "", deprecated=True),
    Operation("batch_submit", "POST", "/admin/batch/jobs", ADMIN,
              "Start a batch transform job (the batch job spec's fields)", 202, "BatchAccepted",
              (*BODY, 404, 409), "BatchJobSpec", location=True),
    Operation("batch_list", "GET", "/admin/batch/jobs", ADMIN, "The newest 50 batch jobs",
              200, "BatchJobs", (404,)),
    Operation("batch_status", "GET", "/admin/batch/jobs/{job_id}", ADMIN,
              "A batch job's status and progress", 200, "BatchStatus", (404,)),
    Operation("traffic_show", "GET", "/admin/traffic", ADMIN,
              "The variants, their weights and shares, the shadow", 200, "TrafficTable", (404,)),
    Operation("traffic_change", "POST", "/admin/traffic", ADMIN,
              "Change weights and/or the shadow (every replica within a second)", 200,
              "TrafficTable", (*BODY, 404), "TrafficChange"),
    Operation("pipeline_run", "POST", "/admin/pipelines/{pipeline}:run", ADMIN,
              "Start one of the endpoint's pipelines (an empty body is {})", 202, "PipelineRun",
              (*BODY, 404, 500, 504), "PipelineRunRequest", optional_body=True),
    Operation("model_cache", "GET", "/admin/models", ADMIN,
              "A model set's cache on the replica that answers", 200, "ModelCache", (404,)),
    Operation("openapi", "GET", "/openapi.json", "Document", "This document", 200,
              "OpenAPIDocument"),
]  # fmt: skip
