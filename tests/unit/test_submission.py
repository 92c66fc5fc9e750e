"""``raymaker submit``: what goes to Ray (pure), the token as Ray finds it, the exit status."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from ray_apps.cli import app
from ray_apps.errors import SpecError
from ray_apps.submission import EXCLUDES, JOBS, auth_headers, exit_status, plan


@pytest.fixture
def project(tmp_path) -> Path:
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "job.yaml").write_text("name: x\n")
    return tmp_path


def test_plan_runs_the_jobs_module_with_the_config_relative_to_the_working_dir(project):
    env = {"RAYMAKER_STORAGE": "s3://b/runs", "MLFLOW_TRACKING_URI": "postgresql://db/m"}
    sub = plan("train", project / "examples" / "job.yaml", project, env, ["--storage", "s3://x"])
    assert sub.entrypoint == "python -m ray_apps.train --config examples/job.yaml --storage s3://x"
    assert sub.runtime_env["working_dir"] == str(project.resolve())
    assert set(EXCLUDES) >= {".venv", "raymaker_data", "mlruns", ".git"}
    assert sub.runtime_env["excludes"] == EXCLUDES
    forwarded = sub.runtime_env["env_vars"]
    assert forwarded["RAYMAKER_STORAGE"] == "s3://b/runs"
    assert forwarded["MLFLOW_TRACKING_URI"] == "postgresql://db/m"


def test_plan_forwards_no_credentials(project):
    env = {"AWS_SECRET_ACCESS_KEY": "s3cr3t", "AWS_ACCESS_KEY_ID": "k", "RAY_AUTH_TOKEN": "t"}
    values = plan("tune", project / "examples" / "job.yaml", project, env).runtime_env["env_vars"]
    assert not {"AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "RAY_AUTH_TOKEN"} & set(values)
    with pytest.raises(SpecError, match="MLFLOW_TRACKING_URI embeds a password"):
        plan(
            "train",
            project / "examples" / "job.yaml",
            project,
            {"MLFLOW_TRACKING_URI": "postgresql://u:pw@db/m"},
        )


def test_plan_refuses_bad_input_naming_the_fix(project, tmp_path_factory):
    config = project / "examples" / "job.yaml"
    with pytest.raises(SpecError, match="unknown job 'fit'; choose one of train, tune"):
        plan("fit", config, project, {})
    with pytest.raises(SpecError, match="no such file"):
        plan("train", project / "none.yaml", project, {})
    outside = tmp_path_factory.mktemp("elsewhere") / "job.yaml"
    outside.write_text("name: x\n")
    with pytest.raises(SpecError, match="outside the working directory"):
        plan("train", outside, project, {})


@pytest.mark.parametrize(("job", "module"), JOBS.items())
def test_every_job_has_its_python_m_entry_point_for_a_real_command(job, module):
    spec = importlib.util.find_spec(module)
    if spec is not None and spec.submodule_search_locations:  # a package runs its __main__
        spec = importlib.util.find_spec(f"{module}.__main__")
    assert spec is not None and spec.origin is not None
    source = Path(spec.origin).read_text()
    assert f'run_job("{job}")' in source
    assert job in {c.name or c.callback.__name__ for c in app.registered_commands}


def test_token_is_found_where_ray_looks_in_rays_order(tmp_path):
    home = tmp_path / "home"
    (home / ".ray").mkdir(parents=True)
    (home / ".ray" / "auth_token").write_text("from-file\n")
    path = tmp_path / "token"
    path.write_text("from-path\n")
    assert auth_headers({}, tmp_path) == {}
    assert auth_headers({}, home) == {"Authorization": "Bearer from-file"}
    assert auth_headers({"RAY_AUTH_TOKEN_PATH": str(path)}, home)["Authorization"].endswith(
        "from-path"
    )
    env = {"RAY_AUTH_TOKEN": "from-env", "RAY_AUTH_TOKEN_PATH": str(path)}
    assert auth_headers(env, home) == {"Authorization": "Bearer from-env"}
    with pytest.raises(SpecError, match="RAY_AUTH_TOKEN_PATH .* cannot be read"):
        auth_headers({"RAY_AUTH_TOKEN_PATH": str(tmp_path / "missing")}, home)


def test_exit_status_is_the_drivers_own_when_known():
    assert exit_status("SUCCEEDED", 0) == 0
    assert exit_status("FAILED", 2) == 2
    assert exit_status("FAILED", None) == 1
    assert exit_status("STOPPED", None) == 1
    assert exit_status("SUCCEEDED", None) == 0


def test_cli_bad_input_exits_2_with_one_line(project):
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "ray_apps.cli", "submit", *args],
            capture_output=True,
            text=True,
            cwd=project,
        )

    unknown = run("fit", "--config", "examples/job.yaml", "--address", "http://127.0.0.1:9")
    assert unknown.returncode == 2 and "unknown job 'fit'" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    missing = run("train", "--config", "nope.yaml", "--address", "http://127.0.0.1:9")
    assert missing.returncode == 2 and "no such file" in missing.stderr
    assert run("train", "--address", "http://127.0.0.1:9").returncode == 2
