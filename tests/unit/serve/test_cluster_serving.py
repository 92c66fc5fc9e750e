"""The cluster configs turn on the fast ingress, and the RayService holds a valid Serve config."""

from pathlib import Path

import yaml

from serve.replica_settings import ReplicaSettings

FAST = ("RAY_SERVE_ENABLE_HA_PROXY=1", "RAY_SERVE_THROUGHPUT_OPTIMIZED=1")


def test_cluster_launcher_starts_ray_with_the_fast_ingress():
    config = yaml.safe_load(Path("cluster/ray-cluster.yaml").read_text())
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        start = next(c for c in config[key] if "ray start" in c)
        assert all(flag in start for flag in FAST), key


def test_rayservice_has_a_valid_serve_config_and_the_fast_ingress():
    from ray.serve.schema import ServeDeploySchema

    svc = yaml.safe_load(Path("cluster/kuberay-rayservice.yaml").read_text())
    config = ServeDeploySchema.model_validate(yaml.safe_load(svc["spec"]["serveConfigV2"]))
    assert config.applications[0].import_path == "serve.app:build"
    settings = ReplicaSettings.parse(config.applications[0].args["settings"])  # what build does
    assert settings.admin_key_digests == ()  # the example keeps the admin routes off
    cluster = svc["spec"]["rayClusterConfig"]
    pods = [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]
    for pod in pods:
        env = {e["name"]: e["value"] for e in pod["template"]["spec"]["containers"][0]["env"]}
        assert all(env[f.split("=")[0]] == "1" for f in FAST)
