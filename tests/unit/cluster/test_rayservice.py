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


def test_the_generator_refuses_an_unregistered_model_in_one_line(tmp_path, capsys):
    from serve.kuberay import main

    argv = ["--config", "cluster/endpoint.yaml", "--cluster", "cluster/kuberay-raycluster.yaml"]
    code = main([*argv, "--registry-uri", f"sqlite:///{tmp_path / 'empty.db'}"])
    err = capsys.readouterr().err
    assert (
        code == 2 and err.startswith("error: no registered model 'cancer'") and err.count("\n") == 1
    )
