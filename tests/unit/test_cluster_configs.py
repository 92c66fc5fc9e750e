"""The cluster configs stay valid YAML and keep the dashboard on loopback."""

from pathlib import Path

import yaml


def test_cluster_launcher_config_binds_dashboard_to_loopback():
    config = yaml.safe_load(Path("cluster/ray-cluster.yaml").read_text())
    head = " ".join(config["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in head
    assert config["cluster_name"] == "raymaker"


def test_kuberay_job_runs_the_training_entry_point():
    job = yaml.safe_load(Path("cluster/kuberay-rayjob.yaml").read_text())
    assert job["kind"] == "RayJob"
    assert job["spec"]["entrypoint"].startswith("python -m ray_apps.train --config ")
    head = job["spec"]["rayClusterSpec"]["headGroupSpec"]["rayStartParams"]
    assert head["dashboard-host"] == "127.0.0.1"
