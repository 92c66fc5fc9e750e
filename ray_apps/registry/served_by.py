"""Which endpoints serve a version: the ``raymaker.served_by`` model-version tag, as pure functions.

The value is the sorted endpoint (Serve application) names, comma-separated, so ``mlflow ui``
shows it as it is: ``"cancer,cancer-canary"``. Endpoint names cannot hold commas
(``EndpointSpec.name``). ``serve.deploy`` records it when it deploys, rolls out or undeploys
(``ray_apps.registry.mark_served`` / ``mark_unserved`` / ``record_endpoint``).
"""

from __future__ import annotations

import re

TAG = "raymaker.served_by"
_ENDPOINT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def parse(value: str | None) -> list[str]:
    """The endpoint names a tag value holds, sorted; None or "" → []."""
    return sorted({e.strip() for e in (value or "").split(",") if e.strip()})


def with_endpoint(value: str | None, endpoint: str) -> str:
    """The tag value after ``endpoint`` starts serving the version."""
    _check(endpoint)
    return ",".join(sorted({*parse(value), endpoint}))


def without_endpoint(value: str | None, endpoint: str) -> str:
    """The tag value after ``endpoint`` stops serving the version ("" when none is left)."""
    _check(endpoint)
    return ",".join(e for e in parse(value) if e != endpoint)


def _check(endpoint: str) -> None:
    from ray_apps.errors import SpecError

    if not _ENDPOINT.match(endpoint):
        raise SpecError(
            f"endpoint name {endpoint!r} is invalid; use letters, digits, '_', '.', '-' (up to 64)"
        )
