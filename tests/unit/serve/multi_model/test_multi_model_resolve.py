import pytest
from _factories import xgboost_artifact

from ray_apps import registry
from serve.multi_model import RegistryEntry, parse_model_set, read_listing, servable_versions

STORES = parse_model_set({"prefix": "store-", "max_models": 10})
TENANTS = parse_model_set({"tag": "tenant-models", "max_models": 10})


def entry(name, version, status, *tags):
    return RegistryEntry(name, version, status, frozenset(tags))


def test_newest_approved_version_of_each_model_in_the_set():
    listing = [
        entry("store-1", 1, "Approved"),
        entry("store-1", 2, "Approved"),
        entry("store-1", 3, "Pending"),  # newer but not approved: v2 serves
        entry("store-2", 1, "Approved"),
        entry("store-2", 2, "Rejected"),
        entry("store-3", 1, "Pending"),  # nothing approved: not served
        entry("shop-1", 1, "Approved"),  # outside the prefix
    ]
    assert servable_versions(STORES, listing) == {"store-1": 2, "store-2": 1}
    assert servable_versions(STORES, reversed(listing)) == {"store-1": 2, "store-2": 1}


def test_approval_changes_are_followed_without_anything_else():
    before = [entry("store-1", 1, "Approved"), entry("store-2", 1, "Approved")]
    # store-1's only approved version was rejected; store-2 gained an approved v2
    after = [
        entry("store-1", 1, "Rejected"),
        entry("store-2", 1, "Approved"),
        entry("store-2", 2, "Approved"),
    ]
    assert servable_versions(STORES, before) == {"store-1": 1, "store-2": 1}
    assert servable_versions(STORES, after) == {"store-2": 2}


def test_a_tag_selects_models_and_versions_that_carry_it():
    listing = [
        entry("acme", 1, "Approved", "tenant-models"),
        entry("acme", 2, "Approved"),  # the tag is on v1 only: v1 serves
        entry("zeta", 1, "Approved", "tenant-models", "other"),
        entry("store-1", 1, "Approved", "other"),
    ]
    assert servable_versions(TENANTS, listing) == {"acme": 1, "zeta": 1}
    assert servable_versions(TENANTS, []) == {}


@pytest.fixture()
def uri(tmp_path):
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def test_read_from_a_real_registry(uri, tmp_path):
    from mlflow.tracking import MlflowClient

    artifact = xgboost_artifact(tmp_path / "artifact")
    for name in ("store-1", "store-1", "store-2", "acme"):
        registry.register(artifact, name, tracking_uri=uri)
    registry.approve("store-1", 1, by="alice", tracking_uri=uri)
    registry.approve("store-2", 1, by="alice", tracking_uri=uri)
    registry.approve("acme", 1, by="alice", tracking_uri=uri)
    MlflowClient(uri).set_registered_model_tag("acme", "tenant-models", "")
    MlflowClient(uri).set_model_version_tag("store-2", "1", "tenant-models", "yes")
    registry.mark_served("store-1", 1, "ep", tracking_uri=uri)  # a raymaker.* tag: not a tag

    listing = read_listing(uri)
    assert listing == [
        entry("acme", 1, "Approved", "tenant-models"),
        entry("store-1", 1, "Approved"),
        entry("store-1", 2, "Pending"),
        entry("store-2", 1, "Approved", "tenant-models"),
    ]
    assert servable_versions(STORES, listing) == {"store-1": 1, "store-2": 1}
    assert servable_versions(TENANTS, listing) == {"acme": 1, "store-2": 1}

    # approved after the deploy: servable at the next read; the only approved one rejected: gone
    registry.approve("store-1", 2, by="bob", tracking_uri=uri)
    registry.reject("store-2", 1, by="bob", reason="drift", tracking_uri=uri)
    assert servable_versions(STORES, read_listing(uri)) == {"store-1": 2}


def test_every_page_is_read(uri, tmp_path, monkeypatch):
    import serve.multi_model.resolve as resolve

    artifact = xgboost_artifact(tmp_path / "artifact")
    for name in ("a", "b", "b", "c"):
        registry.register(artifact, name, tracking_uri=uri)
    whole = read_listing(uri)
    monkeypatch.setattr(resolve, "_PAGE", 1)  # one model or version per query
    assert read_listing(uri) == whole and len(whole) == 4


def test_an_empty_registry_lists_nothing(uri):
    assert read_listing(uri) == []
