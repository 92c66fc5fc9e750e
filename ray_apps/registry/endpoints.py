"""Record in the registry which endpoint serves which version (the ``served_by`` tag).

    record_endpoint("cancer", [("cancer", 3)], tracking_uri=uri)   # after a deploy or rollout
    record_endpoint("cancer", [], tracking_uri=uri)                # after an undeploy
    get_version("cancer", 3).served_by                             # ["cancer"]
    served_endpoints()                                  # {"cancer": [("cancer", 3)], …}

It says what ``serve.deploy`` last did, not what Ray runs now: an endpoint lost with its
cluster keeps its mark until the same endpoint name is deployed or undeployed again.
"""

from __future__ import annotations

from ray_apps import tracking
from ray_apps.registry import served_by
from ray_apps.registry.registry import _client, _store_lock, get_version


def mark_served(name: str, version: int, endpoint: str, *, tracking_uri: str | None = None) -> None:
    """Add ``endpoint`` to the endpoints serving ``name:version``."""
    _update(name, version, endpoint, served_by.with_endpoint, tracking_uri)


def mark_unserved(
    name: str, version: int, endpoint: str, *, tracking_uri: str | None = None
) -> None:
    """Remove ``endpoint`` from the endpoints serving ``name:version``."""
    _update(name, version, endpoint, served_by.without_endpoint, tracking_uri)


def served_versions(endpoint: str, *, tracking_uri: str | None = None) -> list[tuple[str, int]]:
    """The (model, version) pairs the registry records ``endpoint`` as serving."""
    return served_endpoints(tracking_uri=tracking_uri).get(endpoint, [])


def served_endpoints(*, tracking_uri: str | None = None) -> dict[str, list[tuple[str, int]]]:
    """Every endpoint the registry records as serving a version, with its (model, version)
    pairs, in one query (the web console's endpoints page)."""
    client = _client(tracking.resolve_uri(tracking_uri))
    out: dict[str, list[tuple[str, int]]] = {}
    for mv in client.search_model_versions(max_results=10000):
        for endpoint in served_by.parse((mv.tags or {}).get(served_by.TAG)):
            out.setdefault(endpoint, []).append((mv.name, int(mv.version)))
    return {endpoint: sorted(pairs) for endpoint, pairs in sorted(out.items())}


def record_endpoint(
    endpoint: str, serving: list[tuple[str, int]], *, tracking_uri: str | None = None
) -> None:
    """Make the registry say ``endpoint`` serves exactly ``serving`` (a deploy/undeploy)."""
    uri = tracking.resolve_uri(tracking_uri)
    now = set(serving)
    for name, version in served_versions(endpoint, tracking_uri=uri):
        if (name, version) not in now:
            mark_unserved(name, version, endpoint, tracking_uri=uri)
    for name, version in sorted(now):
        mark_served(name, version, endpoint, tracking_uri=uri)


def _update(name, version, endpoint, change, tracking_uri) -> None:
    uri = tracking.resolve_uri(tracking_uri)
    client = _client(uri)
    with _store_lock(uri):  # read-modify-write of one tag: two deploys must not lose a name
        get_version(name, version, tracking_uri=uri)  # a NotFoundError naming what exists
        tags = client.get_model_version(name, str(version)).tags or {}
        value = change(tags.get(served_by.TAG), endpoint)
        if value:
            client.set_model_version_tag(name, str(version), served_by.TAG, value)
        elif served_by.TAG in tags:
            client.delete_model_version_tag(name, str(version), served_by.TAG)
