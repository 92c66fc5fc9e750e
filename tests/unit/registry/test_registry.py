import multiprocessing as mp
from concurrent.futures import ThreadPoolExecutor

import pytest
from _factories import xgboost_artifact
from _fake_remote import use_fake_remote

from ray_apps import registry
from ray_apps.errors import ApprovalError, ArtifactIntegrityError, NotFoundError, SpecError


@pytest.fixture()
def uri(tmp_path):
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    return xgboost_artifact(tmp_path_factory.mktemp("art") / "artifact")


def test_life_cycle_and_approved_only_rule(uri, artifact):
    v1 = registry.register(artifact, "iris", tracking_uri=uri)
    assert (v1.name, v1.version, v1.status) == ("iris", 1, "Pending")
    assert len(v1.manifest_sha256) == 64 and v1.metrics["accuracy"] == 0.9
    assert v1.params["name"] == "test" and v1.lineage["run_name"] == "test"

    with pytest.raises(ApprovalError, match="no Approved version"):
        registry.resolve_for_deploy("iris", tracking_uri=uri)
    with pytest.raises(ApprovalError, match="iris:1 is Pending"):
        registry.resolve_for_deploy("iris:1", tracking_uri=uri)
    assert registry.resolve_for_deploy("iris:1", force=True, tracking_uri=uri).version == 1

    approved = registry.approve("iris", 1, by="alice", reason="good", tracking_uri=uri)
    assert approved.status == "Approved"
    assert approved.history[-1]["by"] == "alice" and approved.history[-1]["reason"] == "good"
    v2 = registry.register(artifact, "iris", tracking_uri=uri)
    assert v2.version == 2 and v2.status == "Pending"
    assert registry.resolve_for_deploy("iris", tracking_uri=uri).version == 1  # newest approved
    registry.reject("iris", 2, by="bob", reason="worse", tracking_uri=uri)
    with pytest.raises(ApprovalError, match="Rejected"):
        registry.resolve_for_deploy("iris:2", tracking_uri=uri)

    assert [v.status for v in registry.list_versions("iris", tracking_uri=uri)] == [
        "Approved",
        "Rejected",
    ]
    (summary,) = registry.list_models(tracking_uri=uri)
    assert summary == {"name": "iris", "versions": 2, "latest": 2, "latest_approved": 1}
    local = registry.fetch_artifact(registry.get_version("iris", 1, tracking_uri=uri))
    assert (local / "model.ubj").is_file()


def test_unknown_names_and_versions(uri, artifact):
    with pytest.raises(NotFoundError, match="no registered model 'nope'"):
        registry.get_version("nope", 1, tracking_uri=uri)
    registry.register(artifact, "m", tracking_uri=uri)
    with pytest.raises(NotFoundError, match=r"no version 7; its versions are \[1\]"):
        registry.get_version("m", 7, tracking_uri=uri)
    with pytest.raises(SpecError, match="positive integer"):
        registry.parse_ref("m:x")
    with pytest.raises(SpecError, match="model name"):
        registry.parse_ref("bad name")


def test_a_changed_artifact_is_refused(uri, tmp_path):
    art = xgboost_artifact(tmp_path / "a")
    mv = registry.register(art, "m", tracking_uri=uri)
    xgboost_artifact(tmp_path / "a", rounds=7)  # rewritten in place: a different manifest
    with pytest.raises(ArtifactIntegrityError, match="not the one registered"):
        registry.fetch_artifact(mv)


def test_concurrent_registrations_give_distinct_consecutive_versions(uri, artifact):
    registry.register(artifact, "c", tracking_uri=uri)  # creates the store and the model
    with ThreadPoolExecutor(6) as pool:
        threads = list(
            pool.map(lambda _: registry.register(artifact, "c", tracking_uri=uri).version, range(6))
        )
    ctx = mp.get_context("spawn")
    with ctx.Pool(2) as pool:
        procs = pool.starmap(_register_in_process, [(str(artifact), uri)] * 6)
    assert sorted(threads + procs) == list(range(2, 14))


def _register_in_process(artifact: str, uri: str) -> int:
    return registry.register(artifact, "c", tracking_uri=uri).version


def test_a_name_another_process_creates_between_our_read_and_write_is_used(
    uri, artifact, monkeypatch
):
    # The interleaving a CI run hit on PostgreSQL with four concurrent first registrations:
    # this process reads "no such model", another creates it, this one's create then fails
    # with RESOURCE_ALREADY_EXISTS. Played here in order on a real store.
    from mlflow.tracking import MlflowClient

    real_get = MlflowClient.get_registered_model
    raced = []

    def read_then_lose_the_race(self, name):
        try:
            return real_get(self, name)
        finally:
            if not raced:
                raced.append(name)
                MlflowClient(uri).create_registered_model(name)  # the other process

    monkeypatch.setattr(MlflowClient, "get_registered_model", read_then_lose_the_race)
    v = registry.register(artifact, "raced", tracking_uri=uri)
    assert raced == ["raced"] and (v.name, v.version) == ("raced", 1)


def test_remote_artifacts_are_copied_once_and_removed(uri, tmp_path, monkeypatch):
    temp = use_fake_remote(monkeypatch, tmp_path)
    art = xgboost_artifact(tmp_path / "store" / "a")
    mv = registry.register(f"fake://{art}", "r", tracking_uri=uri)
    assert list(temp.iterdir()) == []  # registering reads a copy and removes it
    local = registry.fetch_artifact(mv)
    assert local.parent == temp and registry.fetch_artifact(mv) == local  # once per process
    registry.release_fetched()
    assert list(temp.iterdir()) == []
    xgboost_artifact(art, rounds=7)  # rewritten in place: a different manifest
    with pytest.raises(ArtifactIntegrityError, match="not the one registered"):
        registry.fetch_artifact(mv)
    assert list(temp.iterdir()) == []  # the refused copy is not kept


def test_a_version_is_ascii_digits():
    for ref in ("m:²", "m:٣", "m:" + "9" * 5000, "m:0", "m:-1"):
        with pytest.raises(SpecError, match="must be a positive integer"):
            registry.parse_ref(ref)
    assert registry.parse_ref("m:007") == ("m", 7)
