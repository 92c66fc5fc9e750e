"""The endpoint's routes: a request's method and path → a route name, its parameters, its role.

Pure functions, so routing and who may call what are tested without HTTP.

Roles (``ROLES``, one per route name):
    open       health, server metadata and the OpenAPI document (``GET /openapi.json``,
               ``serve.openapi``); no key
    inference  predict/infer (real-time and async), explain, async status and results, model
               metadata, posting ground-truth labels, read-only registry; an inference (or
               admin) key
    admin      changes state (approve/reject, start batch jobs and read their status, read and
               change traffic weights and the shadow, start one of the endpoint's pipelines:
               POST /admin/pipelines/{name}:run, read a multi-model replica's model cache:
               GET /admin/models); an admin credential only, and off unless
               ``auth.admin_key_envs`` names one
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Role = Literal["open", "inference", "admin"]

_V = r"(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?"
_MV = r"/registry/models/(?P<name>[^/:]+)/versions/(?P<version>\d+)"
_TABLE: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"/v1/models/(?P<name>[^/:]+):predict"), "v1_predict"),
    ("POST", re.compile(r"/v1/models/(?P<name>[^/:]+):predict-async"), "v1_predict_async"),
    ("POST", re.compile(r"/v1/models/(?P<name>[^/:]+):explain"), "v1_explain"),
    ("POST", re.compile(r"/v1/models/(?P<name>[^/:]+)/labels"), "labels"),
    ("POST", re.compile(rf"/v2/models/{_V}/infer-async"), "v2_infer_async"),
    ("GET", re.compile(r"/async/requests/(?P<id>[^/]+)"), "async_status"),
    ("GET", re.compile(r"/async/requests/(?P<id>[^/]+)/result"), "async_result"),
    ("GET", re.compile(r"/v1/models/(?P<name>[^/:]+)"), "v1_model"),
    ("GET", re.compile(r"/v1/models"), "v1_models"),
    ("POST", re.compile(rf"/v2/models/{_V}/infer"), "v2_infer"),
    ("POST", re.compile(rf"/v2/models/{_V}/explain"), "v2_explain"),
    ("GET", re.compile(rf"/v2/models/{_V}/ready"), "v2_model_ready"),
    ("GET", re.compile(rf"/v2/models/{_V}"), "v2_model"),
    ("GET", re.compile(r"/v2/health/live"), "live"),
    ("GET", re.compile(r"/v2/health/ready"), "ready"),
    ("GET", re.compile(r"/v2"), "v2_server"),
    ("GET", re.compile(r"/registry/models"), "registry_models"),
    ("GET", re.compile(r"/registry/models/(?P<name>[^/:]+)"), "registry_versions"),
    ("GET", re.compile(_MV), "registry_version"),
    ("POST", re.compile(rf"/admin{_MV}:(?P<action>approve|reject)"), "admin_decide"),
    # Where approve/reject lived before they moved to the admin surface: a 404 that says so.
    ("POST", re.compile(rf"{_MV}:(?P<action>approve|reject)"), "registry_decide_moved"),
    ("POST", re.compile(r"/admin/batch/jobs"), "batch_submit"),
    ("GET", re.compile(r"/admin/batch/jobs"), "batch_list"),
    ("GET", re.compile(r"/admin/batch/jobs/(?P<job_id>[^/:]+)"), "batch_status"),
    ("GET", re.compile(r"/admin/traffic"), "traffic_show"),
    ("POST", re.compile(r"/admin/traffic"), "traffic_change"),
    ("POST", re.compile(r"/admin/pipelines/(?P<pipeline>[^/:]+):run"), "pipeline_run"),
    ("GET", re.compile(r"/admin/models"), "model_cache"),
    ("GET", re.compile(r"/openapi\.json"), "openapi"),
]

ROLES: dict[str, Role] = {
    "live": "open",
    "ready": "open",
    "v2_server": "open",
    "openapi": "open",
    "v1_predict": "inference",
    "v1_predict_async": "inference",
    "v2_infer_async": "inference",
    "async_status": "inference",
    "async_result": "inference",
    "v1_model": "inference",
    "v1_models": "inference",
    "v2_infer": "inference",
    "v1_explain": "inference",
    "v2_explain": "inference",
    "labels": "inference",
    "v2_model_ready": "inference",
    "v2_model": "inference",
    "registry_models": "inference",
    "registry_versions": "inference",
    "registry_version": "inference",
    "registry_decide_moved": "inference",
    "admin_decide": "admin",
    "batch_submit": "admin",
    "batch_status": "admin",
    "batch_list": "admin",
    "traffic_show": "admin",
    "traffic_change": "admin",
    "pipeline_run": "admin",
    "model_cache": "admin",
}


@dataclass(frozen=True)
class Route:
    name: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def role(self) -> Role:
        return role_of(self.name)


def role_of(route_name: str) -> Role:
    """Who may call ``route_name``; a route missing from ``ROLES`` is admin (fail closed)."""
    return ROLES.get(route_name, "admin")


def match(method: str, path: str) -> Route | None:
    """The route for ``method path`` or None (404); a known path with another method is 405."""
    path = path.rstrip("/") or "/"
    allowed = False
    for verb, pattern, name in _TABLE:
        m = pattern.fullmatch(path)
        if m is None:
            continue
        if verb == method or (verb == "GET" and method == "HEAD"):
            return Route(name, {k: v for k, v in m.groupdict().items() if v is not None})
        allowed = True
    return Route("method_not_allowed") if allowed else None
