"""kuberay-rayservice.yaml is what `python -m serve.kuberay` generates from cluster/endpoint.yaml
and the RayCluster: the same Serve config `raymaker deploy` writes, never hand-edited."""

import difflib
from pathlib import Path

import yaml
from _rayservice import PLACEHOLDER, regenerate

from serve.replica_settings import ReplicaSettings

COMMITTED = Path("cluster/kuberay-rayservice.yaml")


def test_the_committed_rayservice_is_the_generated_one(tmp_path):
    generated = regenerate(tmp_path)
    committed = COMMITTED.read_text()
    diff = "".join(
        difflib.unified_diff(committed.splitlines(True), generated.splitlines(True), "committed")
    )
    assert generated == committed, f"regenerate with `python tests/_rayservice.py`:\n{diff}"


def test_its_serve_config_is_one_serve_and_the_replicas_accept():
    from ray.serve.schema import ServeDeploySchema

    svc = yaml.safe_load(COMMITTED.read_text())
    config = ServeDeploySchema.model_validate(yaml.safe_load(svc["spec"]["serveConfigV2"]))
    (app,) = config.applications
    settings = ReplicaSettings.parse(app.args["settings"])  # what serve.app:build does
    assert settings.key_digests == (PLACEHOLDER,)  # no key anyone can read here opens it
    assert settings.tracking_uri == "postgresql://raymaker@postgres.raymaker.svc:5432/mlflow"
    assert config.http_options.host == "0.0.0.0" and config.proxy_location == "EveryNode"
