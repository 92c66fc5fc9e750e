"""``raymaker registry …`` and ``raymaker deploy --serve-config`` as real subprocesses."""

import os
import subprocess
import sys

import yaml
from _factories import xgboost_artifact


def run(home, *args):
    env = {**os.environ, "RAYMAKER_HOME": str(home), "COLUMNS": "200"}
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run(
        [sys.executable, "-m", "ray_apps.cli", *args], capture_output=True, text=True, env=env
    )


def test_registry_life_cycle_and_serve_config(tmp_path):
    home = tmp_path / "home"
    art = xgboost_artifact(tmp_path / "art")
    out = run(home, "registry", "register", str(art), "--name", "iris")
    assert out.returncode == 0 and "registered iris:1 (Pending)" in out.stdout, out.stderr
    refused = run(home, "deploy", "iris:1", "--serve-config", str(tmp_path / "s.yaml"))
    assert refused.returncode == 2 and "iris:1 is Pending" in refused.stderr
    assert "Traceback" not in refused.stderr
    out = run(home, "registry", "approve", "iris:1", "--by", "alice", "--reason", "ok")
    assert out.returncode == 0 and "iris:1 is Approved (by alice)" in out.stdout
    listing = run(home, "registry", "list", "iris")
    assert "Approved" in listing.stdout and "alice" in listing.stdout
    assert '"manifest_sha256"' in run(home, "registry", "show", "iris:1").stdout
    out = run(home, "deploy", "iris", "--capture", "5", "--serve-config", str(tmp_path / "s.yaml"))
    assert out.returncode == 0, out.stderr
    app = yaml.safe_load((tmp_path / "s.yaml").read_text())["applications"][0]
    assert app["deployments"][0]["user_config"]["models"][0]["version"] == 1
    assert app["args"]["settings"]["capture"]["percent"] == 5
    out = run(home, "registry", "reject", "iris:1", "--by", "bob")
    assert "iris:1 is Rejected" in out.stdout
    assert run(home, "registry", "reject", "iris:1", "--by", "bob").returncode == 2
    assert run(home, "registry", "show", "iris").returncode == 2  # needs a version
    assert run(home, "registry", "list", "nope").returncode == 2
