"""The Ray cluster launcher config is valid for the Ray we ship and locks the cluster down."""

import copy
import json
from pathlib import Path

import jsonschema
import pytest
import ray.autoscaler
import yaml

LAUNCHER = Path("cluster/ray-cluster.yaml")


@pytest.fixture(scope="module")
def schema():
    return json.loads((Path(ray.autoscaler.__file__).parent / "ray-schema.json").read_text())


@pytest.fixture()
def config():
    return yaml.safe_load(LAUNCHER.read_text())


def test_validates_against_the_schema_ray_ships(schema, config):
    jsonschema.validate(config, schema)
    # What `ray up` checks beyond the schema (ray.autoscaler._private.util.validate_config).
    types = config["available_node_types"]
    assert config["head_node_type"] in types
    assert sum(t.get("min_workers", 0) for t in types.values()) <= config["max_workers"]


@pytest.mark.parametrize(
    "break_it",
    [
        lambda c: c.update(max_worker=4),  # misspelled top-level key
        lambda c: c["available_node_types"]["gpu"].update(max_workers="2"),  # wrong type
        lambda c: c["available_node_types"]["cpu"].pop("node_config"),  # required
    ],
    ids=["unknown-key", "wrong-type", "missing-required"],
)
def test_a_broken_config_fails_validation(schema, config, break_it):
    broken = copy.deepcopy(config)
    break_it(broken)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_cpu_and_gpu_workers_scale_within_bounds(config):
    types = config["available_node_types"]
    assert types["gpu"]["resources"]["GPU"] >= 1 and "GPU" not in types["cpu"]["resources"]
    for name in ("cpu", "gpu"):
        assert 0 <= types[name]["min_workers"] < types[name]["max_workers"], name


def test_every_node_starts_with_token_auth_and_the_cluster_settings(config):
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        start = next(c for c in config[key] if "ray start" in c)
        assert "RAY_AUTH_MODE=token" in start, key
        assert ". ~/.config/raymaker/cluster.env" in start, key
    # The token and the settings travel as files from the operator's machine, not in this file.
    assert set(config["file_mounts"]) == {"~/.ray/auth_token", "~/.config/raymaker/cluster.env"}


def test_the_dashboard_binds_to_loopback(config):
    head = next(c for c in config["head_start_ray_commands"] if "ray start" in c)
    assert "--dashboard-host=127.0.0.1" in head
    assert config["cluster_name"] == "raymaker"
