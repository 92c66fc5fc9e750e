"""The endpoint's routes: a request's method and path → a route name and its parameters.

A pure function, so routing is tested without HTTP. Health routes need no API key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_V = r"(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?"
_TABLE: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"/v1/models/(?P<name>[^/:]+):predict"), "v1_predict"),
    ("GET", re.compile(r"/v1/models/(?P<name>[^/:]+)"), "v1_model"),
    ("GET", re.compile(r"/v1/models"), "v1_models"),
    ("POST", re.compile(rf"/v2/models/{_V}/infer"), "v2_infer"),
    ("GET", re.compile(rf"/v2/models/{_V}/ready"), "v2_model_ready"),
    ("GET", re.compile(rf"/v2/models/{_V}"), "v2_model"),
    ("GET", re.compile(r"/v2/health/live"), "live"),
    ("GET", re.compile(r"/v2/health/ready"), "ready"),
    ("GET", re.compile(r"/v2"), "v2_server"),
    ("GET", re.compile(r"/registry/models"), "registry_models"),
    ("GET", re.compile(r"/registry/models/(?P<name>[^/:]+)"), "registry_versions"),
    (
        "GET",
        re.compile(r"/registry/models/(?P<name>[^/:]+)/versions/(?P<version>\d+)"),
        "registry_version",
    ),
    (
        "POST",
        re.compile(
            r"/registry/models/(?P<name>[^/:]+)/versions/(?P<version>\d+):(?P<action>approve|reject)"
        ),
        "registry_decide",
    ),
]
OPEN = frozenset({"live", "ready", "v2_server"})


@dataclass(frozen=True)
class Route:
    name: str
    params: dict[str, str] = field(default_factory=dict)


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
