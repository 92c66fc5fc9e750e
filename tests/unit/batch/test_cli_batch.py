"""``raymaker batch`` and ``python -m ray_apps.batch``: one line and exit 2 on bad input."""

import os
import subprocess
import sys

import yaml
from _factories import xgboost_artifact

from ray_apps import registry


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, env=env)


def test_a_bad_field_exits_2_naming_it(tmp_path):
    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump({"name": "s", "model": "iris", "input": "x", "keep": "some"}))
    for entry in (["ray_apps.cli", "batch"], ["ray_apps.batch"]):
        out = run(*entry, "--config", str(job))
        assert out.returncode == 2, out.stderr
        assert "keep: Input should be 'all' or 'id'" in out.stderr
        assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_no_config_and_unknown_run_exit_2(tmp_path):
    assert run("ray_apps.cli", "batch").returncode == 2
    unknown = run("ray_apps.batch", "--resume", "no-such-run", "--storage", str(tmp_path))
    assert unknown.returncode == 2 and "no batch run 'no-such-run'" in unknown.stderr


def test_an_unapproved_version_exits_2_naming_the_approve_command(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    registry.register(xgboost_artifact(tmp_path / "art"), "iris", tracking_uri=uri)
    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump({"name": "s", "model": "iris:1", "input": str(tmp_path)}))
    out = run(
        "ray_apps.batch", "--config", str(job), env={**os.environ, "MLFLOW_TRACKING_URI": uri}
    )
    assert out.returncode == 2
    assert "iris:1 is Pending" in out.stderr and "raymaker registry approve iris:1" in out.stderr
