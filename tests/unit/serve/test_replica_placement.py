"""Replica placement in the endpoint spec: custom resources and ``max_replicas_per_node`` reach
Serve's deployment options as Serve spells them, in ``deploy`` and in the Serve config file."""

import pytest
import yaml
from _factories import xgboost_artifact

from ray_apps import registry
from ray_apps.errors import SpecError
from serve import write_serve_config
from serve.config import endpoint_spec
from serve.deploy import plan

MODELS = [{"name": "iris"}]


@pytest.fixture
def iris(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    registry.register(xgboost_artifact(tmp_path / "a"), "iris", tracking_uri=uri)
    registry.approve("iris", 1, by="t", tracking_uri=uri)
    return uri


def test_resources_and_spread_become_serve_deployment_options(iris, tmp_path):
    from ray.serve.schema import ServeDeploySchema

    spec = {
        "models": MODELS,
        "tracking_uri": iris,
        "num_cpus": 0.25,
        "resources": {"rmk_worker": 1, "accelerator_type_T4": 0.5},
        "max_replicas_per_node": 1,
        "async_inference": {"enabled": False},
    }
    options = plan(spec).deployment
    assert options["ray_actor_options"] == {
        "num_cpus": 0.25,
        "resources": {"rmk_worker": 1.0, "accelerator_type_T4": 0.5},
    }
    assert options["max_replicas_per_node"] == 1

    path = write_serve_config(spec, tmp_path / "serve.yaml")
    config = ServeDeploySchema.model_validate(yaml.safe_load(path.read_text()))
    assert config.proxy_location == "HeadOnly"
    (dep,) = config.applications[0].deployments
    assert dep.max_replicas_per_node == 1
    assert dep.ray_actor_options.resources == {"rmk_worker": 1.0, "accelerator_type_T4": 0.5}


def test_unset_placement_leaves_serve_defaults(iris):
    options = plan({"models": MODELS, "tracking_uri": iris}).deployment
    assert options["ray_actor_options"] == {"num_cpus": 0.5}
    assert "max_replicas_per_node" not in options


@pytest.mark.parametrize(
    ("field", "value", "names"),
    [
        ("resources", {"CPU": 1}, ["resources", "'num_cpus'"]),
        ("resources", {"GPU": 1}, ["resources", "'num_gpus'"]),
        ("resources", {"memory": 1e9}, ["resources", "'memory'"]),
        ("resources", {"rmk_worker": 0}, ["resources.rmk_worker", "positive"]),
        ("resources", {"rmk_worker": -1}, ["resources.rmk_worker", "positive"]),
        ("resources", {"rmk_worker": float("inf")}, ["resources.rmk_worker", "finite"]),
        ("resources", {"rmk_worker": 0.00001}, ["resources.rmk_worker", "0.0001"]),
        ("resources", {" ": 1}, ["resources", "empty resource name"]),
        ("resources", {"rmk_worker": "lots"}, ["resources.rmk_worker"]),
        ("max_replicas_per_node", 0, ["max_replicas_per_node"]),
        ("max_replicas_per_node", 101, ["max_replicas_per_node"]),
    ],
)
def test_bad_placement_is_refused_naming_the_field(field, value, names):
    with pytest.raises(SpecError) as err:
        endpoint_spec({"models": MODELS, field: value})
    for name in names:
        assert name in str(err.value)
