"""Which model versions a multi-model endpoint may serve now, from a registry listing.

    listing = read_listing(tracking_uri)        # every version: name, version, status, tags
    servable = servable_versions(spec, listing) # {"store-1": 3, "store-2": 1, ...}

``servable_versions`` is pure: each model in the set is served at its newest Approved version;
Pending and Rejected versions are not, so a model whose only Approved version is later
rejected drops out at the next read, and one approved after the deploy comes in. A replica
re-reads the listing every ``registry_check_interval_s``, hands the result to
``ModelCache.retain`` and answers 404 for a model that is not in it (``table.ModelSetTable``).

Tags: the registry has no tag command yet; a tag is an MLflow tag *key* (any value) on the
registered model (it then selects every version) or on one version (it selects that version):

    MlflowClient(uri).set_registered_model_tag("store-12", "tenant-models", "")

The registry's own bookkeeping tags (``raymaker.*``) are not tags in this sense.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

from serve.multi_model.spec import ModelSetSpec

# ray_apps.registry keeps a version's approval status in this model-version tag (registry.py,
# _to_version); its own functions read one model at a time, a replica needs every model in
# one query. tests/unit/serve/multi_model/test_multi_model_resolve.py reads statuses that the
# registry's approve/reject wrote, so a change of key there fails that test.
_STATUS_TAG = "raymaker.approval.status"
_OWN_TAGS = "raymaker."
_PAGE = 1000


class RegistryEntry(NamedTuple):
    """One registered version as the resolver sees it."""

    name: str
    version: int
    status: str  # Pending | Approved | Rejected
    tags: frozenset[str] = frozenset()


def servable_versions(spec: ModelSetSpec, listing: Iterable[RegistryEntry]) -> dict[str, int]:
    """{model name: the version to serve} for the models of ``spec`` servable now: the newest
    Approved version among a model's versions in the set."""
    out: dict[str, int] = {}
    for entry in listing:
        if entry.status != "Approved" or not spec.selects(entry.name, entry.tags):
            continue
        if entry.version > out.get(entry.name, 0):
            out[entry.name] = entry.version
    return dict(sorted(out.items()))


def read_listing(tracking_uri: str | None = None) -> list[RegistryEntry]:
    """Every registered version with its approval status and tags (model tags included), in
    two paged queries however many models there are."""
    from mlflow.tracking import MlflowClient

    from ray_apps import tracking

    uri = tracking.resolve_uri(tracking_uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    model_tags = {m.name: _user_tags(m.tags) for m in _pages(client.search_registered_models, None)}
    entries = [
        RegistryEntry(
            name=mv.name,
            version=int(mv.version),
            status=(mv.tags or {}).get(_STATUS_TAG, "Pending"),
            tags=model_tags.get(mv.name, frozenset()) | _user_tags(mv.tags),
        )
        for mv in _pages(client.search_model_versions, None)
    ]
    return sorted(entries, key=lambda e: (e.name, e.version))


def _user_tags(tags: dict[str, str] | None) -> frozenset[str]:
    return frozenset(k for k in (tags or {}) if not k.startswith(_OWN_TAGS))


def _pages(search, filter_string: str | None) -> Iterator:
    token = None
    while True:
        page = search(filter_string=filter_string, max_results=_PAGE, page_token=token)
        yield from page
        token = page.token
        if not token:
            return
