"""Which endpoints serve a version: the tag format, and what deploy/undeploy record."""

import pytest
from _factories import xgboost_artifact

from ray_apps import registry
from ray_apps.errors import NotFoundError, SpecError
from ray_apps.registry import served_by


def test_tag_value_is_sorted_unique_endpoint_names():
    assert served_by.parse(None) == [] and served_by.parse("") == []
    assert served_by.with_endpoint(None, "b") == "b"
    assert served_by.with_endpoint("b", "a") == "a,b"
    assert served_by.with_endpoint("a,b", "a") == "a,b"  # idempotent
    assert served_by.without_endpoint("a,b", "a") == "b"
    assert served_by.without_endpoint("b", "b") == ""
    assert served_by.without_endpoint("b", "c") == "b"
    with pytest.raises(SpecError, match="endpoint name 'a,b' is invalid"):
        served_by.with_endpoint("", "a,b")


@pytest.fixture()
def uri(tmp_path):
    u = f"sqlite:///{tmp_path / 'mlflow.db'}"
    art = xgboost_artifact(tmp_path / "art")
    for _ in range(2):
        registry.register(art, "iris", tracking_uri=u)
    registry.register(art, "wine", tracking_uri=u)
    return u


def test_deploy_rollout_and_undeploy_are_recorded_on_the_versions(uri):
    def served(name, version):
        return registry.get_version(name, version, tracking_uri=uri).served_by

    registry.record_endpoint("ep", [("iris", 1), ("wine", 1)], tracking_uri=uri)
    registry.mark_served("iris", 1, "canary", tracking_uri=uri)
    assert served("iris", 1) == ["canary", "ep"] and served("wine", 1) == ["ep"]
    assert registry.served_versions("ep", tracking_uri=uri) == [("iris", 1), ("wine", 1)]

    registry.record_endpoint("ep", [("iris", 2)], tracking_uri=uri)  # a rollout
    assert (served("iris", 1), served("iris", 2), served("wine", 1)) == (["canary"], ["ep"], [])
    assert registry.get_version("iris", 2, tracking_uri=uri).to_dict()["served_by"] == ["ep"]

    registry.record_endpoint("ep", [], tracking_uri=uri)  # an undeploy
    registry.mark_unserved("iris", 1, "canary", tracking_uri=uri)
    assert served("iris", 1) == served("iris", 2) == []
    with pytest.raises(NotFoundError, match="has no version 9"):
        registry.mark_served("iris", 9, "ep", tracking_uri=uri)
