import pytest
import yaml
from _factories import xgboost_artifact

from ray_apps import registry
from ray_apps.errors import ApprovalError
from serve import write_serve_config


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
