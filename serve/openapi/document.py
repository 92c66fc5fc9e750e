"""Build the endpoint's OpenAPI 3.1 document from ``operations.OPERATIONS`` and ``schemas``.

Who may call an operation comes from ``serve.routes.ROLES``, as ``serve.auth`` checks it: open
routes take no credential; inference routes take ``Authorization: Bearer <key>``, an inference
key or an admin credential (401 without one, 403 for a key that is not accepted or is scoped to
other models); admin routes take an admin credential only (403 for an inference key, and on an
endpoint without admin credentials, where they are off). Built once per server version.
"""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

from serve import routes
from serve.openapi import schemas
from serve.openapi.operations import OPERATIONS, Operation

_WHY = {
    400: "Bad input: the error names the field, what it got and what is expected",
    401: "No credential, or not as 'Authorization: Bearer <key>'",
    403: "A key this route does not accept (an inference key on an admin route, a key scoped "
    "to other models), or admin routes are off on this endpoint",
    404: "No such model, version, request, job or pipeline here, or the feature is off on "
    "this endpoint (the error says which and how to turn it on)",
    409: "The version exists but is not Approved (or the decision is not allowed from its status)",
    413: "The body is over max_body_bytes (or, to explain, more rows than max_explain_rows)",
    429: "The asynchronous queue is full; retry after Retry-After seconds",
    500: "The work failed; the error says why",
    503: "Not ready: the replica holds no model yet",
    504: "No answer in time; the work may still have started (the error says how to check)",
    507: "The model is larger than a replica's whole model budget (max_model_bytes)",
}
_PARAMS = {  # the route table's path parameters: what its regex matches, as a schema
    "name": {"type": "string", "pattern": r"^[^/:]+$", "example": "iris"},
    "version": {"type": "string", "pattern": r"^[0-9]+$", "example": "1"},
    "id": {"type": "string", "pattern": r"^[^/]+$"},
    "job_id": {"type": "string", "pattern": r"^[^/:]+$"},
    "pipeline": {"type": "string", "pattern": r"^[^/:]+$", "example": "retrain"},
}
# Triton's binary tensor extension (tritonclient's default): the body is this many bytes of
# JSON, then the inputs' raw values (each input's parameters.binary_data_size bytes).
_BINARY_HEADER = {
    "name": "Inference-Header-Content-Length",
    "in": "header",
    "required": False,
    "description": "Triton's binary tensor extension: the length of the JSON part of the body; "
    "the inputs' raw little-endian values follow it (parameters.binary_data_size each)",
    "schema": {"type": "integer", "minimum": 1},
}
_SECURITY = {
    "open": [],
    "inference": [{"inferenceKey": []}, {"adminKey": []}],
    "admin": [{"adminKey": []}],
}
_SCHEMES = {
    "inferenceKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "An inference key (auth.api_key_envs): 'Authorization: Bearer <key>'. "
        "An endpoint without inference keys leaves the inference routes open.",
    },
    "adminKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "An admin credential (auth.admin_key_envs): 'Authorization: Bearer "
        "<key>'. It may also call every inference route. No admin credential configured: the "
        "admin routes are off (403).",
    },
}
_HEADERS = {
    "Location": {"description": "Where to read the status", "schema": {"type": "string"}},
    "Retry-After": {"description": "Seconds to wait", "schema": {"type": "string"}},
}


def document(version: str, root_path: str = "") -> dict[str, Any]:
    """The document for a server of ``version`` mounted at ``root_path`` (its route prefix)."""
    doc = copy.copy(_built(version))
    if root_path.rstrip("/"):
        doc["servers"] = [{"url": root_path.rstrip("/")}]
    return doc


@functools.lru_cache(maxsize=4)
def _built(version: str) -> dict[str, Any]:
    from ray_apps.batch.spec import BatchJobSpec
    from serve.labels_routes import LabelsBody
    from serve.registry_routes import DecisionBody

    components = schemas.all_schemas(LabelsBody, DecisionBody, BatchJobSpec)
    components["LabelsRequest"] = {
        "description": "several labels, or one alone",
        "anyOf": [schemas.ref("LabelsBody"), schemas.ref("LabelItem")],
    }
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "raymaker endpoint",
            "version": version,
            "summary": "Registered models over KServe V1 and the Open Inference Protocol V2",
            "description": 'Every error is JSON {"error": "..."} naming what was wrong and '
            "the fix. Answers carry x-request-id (an x-request-id sent with the request is "
            "kept). See serve/README.md.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": _SCHEMES},
    }


def operation(op: Operation) -> dict[str, Any]:
    """One operation object: parameters, body, answers and security of ``op``."""
    role = routes.role_of(op.route)
    out: dict[str, Any] = {
        "operationId": _operation_id(op),
        "summary": op.summary,
        "tags": [op.tag],
        "security": _SECURITY[role],
    }
    names = re.findall(r"{(\w+)}", op.path)
    if names:
        out["parameters"] = [
            {"name": n, "in": "path", "required": True, "schema": _PARAMS[n]} for n in names
        ]
    if op.body == "inference_request":
        out.setdefault("parameters", []).append(_BINARY_HEADER)
    if op.body is not None:
        media: dict[str, Any] = {"schema": schemas.ref(op.body)}
        if op.example is not None:
            media["example"] = op.example
        out["requestBody"] = {
            "required": not op.optional_body,
            "content": {"application/json": media},
        }
    errors = set(op.errors) | ({401, 403} if role != "open" else set())
    out["responses"] = {str(op.answer): _response(op.answer, op.schema, op)}
    for status in sorted(errors - {op.answer}):
        out["responses"][str(status)] = _response(status, "Error", op)
    if op.deprecated:
        out["deprecated"] = True
    return out


def _response(status: int, schema: str, op: Operation) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": _WHY.get(status, "OK" if status < 300 else "Error"),
        "content": {"application/json": {"schema": schemas.ref(schema)}},
    }
    if status == 202 and op.location:
        answer["description"] = "Accepted: queued; Location says where to read its status"
        answer["headers"] = {"Location": {**_HEADERS["Location"], "required": True}}
    if status == 429:
        answer["headers"] = {"Retry-After": {**_HEADERS["Retry-After"], "required": True}}
    return answer


def _operation_id(op: Operation) -> str:
    """The route name, told apart where a route has several paths."""
    if "{version}" in op.path and op.path.startswith("/v2/"):
        return f"{op.route}_version"
    if op.route in ("admin_decide", "registry_decide_moved"):
        return f"{op.route}_{op.path.rsplit(':', 1)[1]}"
    return op.route
