"""The registry over HTTP, on the endpoint: reads for inference keys, decisions for admins.

GET  /registry/models                                         model groups
GET  /registry/models/{name}                                  its versions
GET  /registry/models/{name}/versions/{v}                     one version
POST /admin/registry/models/{name}/versions/{v}:approve       {"by": "alice", "reason": "…"}
POST /admin/registry/models/{name}/versions/{v}:reject        {"by": "bob", "reason": "…"}

Who may call which is ``serve.routes.ROLES``; ``serve.auth.authorize`` checks it first.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import Field

from ray_apps import registry
from ray_apps._natural import natural
from ray_apps.errors import SpecError
from ray_apps.spec import parse_spec
from serve.config import _Strict
from serve.protocol_v1 import load_json
from serve.routes import Route


class DecisionBody(_Strict):
    by: str = Field(min_length=1)
    reason: str = ""


async def handle(route: Route, body: bytes, tracking_uri: str | None) -> Any:
    return await asyncio.to_thread(_handle, route, body, tracking_uri)


def _handle(route: Route, body: bytes, uri: str | None) -> Any:
    p = route.params
    if route.name == "registry_models":
        return {"models": registry.list_models(tracking_uri=uri)}
    if route.name == "registry_versions":
        versions = registry.list_versions(p["name"], tracking_uri=uri)
        return {"name": p["name"], "versions": [v.to_dict() for v in versions]}
    version = _version(p["version"])
    if route.name == "registry_version":
        return registry.get_version(p["name"], version, tracking_uri=uri).to_dict()
    decision = parse_spec(DecisionBody, load_json(body), source="decision body")
    act = registry.approve if p["action"] == "approve" else registry.reject
    mv = act(p["name"], version, by=decision.by, reason=decision.reason, tracking_uri=uri)
    return mv.to_dict()


def _version(text: str) -> int:
    number = natural(text)
    if number is None:
        raise SpecError(
            f"version {text[:40]!r} must be a version number: 1 to 18 digits 0-9 (the route "
            "matched other digits, or more of them)"
        )
    return number
