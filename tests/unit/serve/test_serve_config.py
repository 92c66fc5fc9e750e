import warnings

import pytest
import yaml
from _factories import xgboost_artifact

from ray_apps import registry
from ray_apps.errors import ApprovalError, SpecError
from ray_apps.spec import parse_spec
from serve import write_serve_config
from serve.config import RAY_METRICS_INTERVAL_S, AsyncConsumerSpec, AutoscalingSpec, EndpointSpec


def test_generated_config_is_a_valid_serve_config_pinning_the_approved_version(
    tmp_path, monkeypatch
):
    from ray.serve.schema import ServeDeploySchema

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    art = xgboost_artifact(tmp_path / "a")
    for _ in range(2):
        registry.register(art, "iris", tracking_uri=uri)
    registry.approve("iris", 1, by="t", tracking_uri=uri)
    monkeypatch.setenv("KEYS", "secret-key")
    spec = {
        "name": "iris-ep",
        "models": [{"name": "iris"}],
        "auth": {"api_key_envs": ["KEYS"]},
        "autoscaling": {"min_replicas": 0, "max_replicas": 3},
        "tracking_uri": uri,
    }
    path = write_serve_config(spec, tmp_path / "serve.yaml", port=8100)
    text = path.read_text()
    assert "secret-key" not in text  # only digests travel
    config = ServeDeploySchema.model_validate(yaml.safe_load(text))
    (app,) = config.applications
    assert app.import_path == "serve.app:build" and app.name == "iris-ep"
    dep, consumer = app.deployments
    pinned = {"models": [{"name": "iris", "version": 1, "force": False}]}
    assert dep.user_config == pinned and dep.autoscaling_config["min_replicas"] == 0
    # The async consumer serves the same versions, so a rollout reaches it too.
    assert consumer.name == "async-consumer" and consumer.user_config == pinned
    assert config.http_options.host == "127.0.0.1" and config.http_options.port == 8100

    with pytest.raises(ApprovalError, match="iris:2 is Pending"):
        write_serve_config({**spec, "models": [{"name": "iris", "version": 2}]}, path)


@pytest.mark.parametrize("look_back", [1, 10])
@pytest.mark.parametrize(
    ("where", "spec"),
    [
        ("autoscaling", lambda v: {"autoscaling": {"look_back_period_s": v}}),
        (
            "async_inference.consumers",
            lambda v: {"async_inference": {"consumers": {"look_back_period_s": v}}},
        ),
    ],
)
def test_a_look_back_window_not_above_rays_metrics_interval_is_refused(where, spec, look_back):
    with pytest.raises(SpecError) as err:
        parse_spec(EndpointSpec, {"models": [{"name": "m"}], **spec(look_back)})
    msg = str(err.value)  # both fields, both values, the fix
    assert f"{where}.look_back_period_s: look_back_period_s {look_back} must be above" in msg
    assert "metrics_interval_s 10" in msg and "set look_back_period_s above 10" in msg
    parse_spec(EndpointSpec, {"models": [{"name": "m"}], **spec(10.5)})


def test_the_interval_checked_against_is_rays_default_and_ray_takes_our_configs_silently():
    from ray.serve.config import AutoscalingConfig

    assert AutoscalingConfig().metrics_interval_s == RAY_METRICS_INTERVAL_S
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Ray's FutureWarning on a too short window, say
        for ours in (AutoscalingSpec(look_back_period_s=10.5), AsyncConsumerSpec()):
            AutoscalingConfig(**ours.to_serve())


def test_a_serve_config_with_variants_holds_one_application_per_variant(tmp_path):
    """`serve deploy` (and the KubeRay RayService, which embeds this config) gets the endpoint
    and an application without an HTTP route for each variant after the first."""
    from ray.serve.schema import ServeDeploySchema

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    art = xgboost_artifact(tmp_path / "a")
    for v in (1, 2):
        registry.register(art, "iris", tracking_uri=uri)
        registry.approve("iris", v, by="t", tracking_uri=uri)
    spec = {
        "name": "ab",
        "tracking_uri": uri,
        "variants": [
            {"name": "prod", "model": "iris:1", "weight": 90},
            {"name": "cand", "model": "iris:2", "weight": 10, "num_cpus": 0.25},
        ],
    }
    path = write_serve_config(spec, tmp_path / "serve.yaml")
    config = ServeDeploySchema.model_validate(yaml.safe_load(path.read_text()))
    cand, ab = config.applications
    assert (cand.name, cand.route_prefix, ab.name, ab.route_prefix) == ("ab--cand", None, "ab", "/")
    (dep,) = cand.deployments
    assert dep.user_config == {"models": [{"name": "iris", "version": 2, "force": False}]}
    assert dep.ray_actor_options.num_cpus == 0.25
    traffic = ab.deployments[0].user_config["traffic"]
    assert traffic["weights"] == {"prod": 90.0, "cand": 10.0}
    assert [(v["name"], v["version"], v["app"]) for v in traffic["variants"]] == [
        ("prod", 1, "ab"),
        ("cand", 2, "ab--cand"),
    ]
