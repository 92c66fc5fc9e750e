"""``raymaker submit``: what goes to Ray (pure), the token as Ray finds it, the exit status."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from ray_apps.cli import app
from ray_apps.errors import SpecError
from ray_apps.submission import (
    EXCLUDES,
    JOBS,
    StartupRetry,
    auth_headers,
    exit_status,
    plan,
    starting_reason,
)


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


# Ray's own texts: the head's 500 before its job agent is up (job_head.py), and the client's
# ConnectionError raised from requests' refused connection (dashboard_sdk.py).
NO_AGENT = (
    "Request failed with status code 500: No available agent to submit job, please try again "
    "later.."
)
REFUSED = (
    "HTTPConnectionPool(host='127.0.0.1', port=8265): Max retries exceeded with url: "
    "/api/version (Caused by NewConnectionError('<urllib3.connection.HTTPConnection object>: "
    "Failed to establish a new connection: [Errno 111] Connection refused'))"
)


def _refused() -> ConnectionError:
    try:
        try:
            raise OSError(REFUSED)
        except OSError:
            raise ConnectionError("Failed to connect to Ray at address: http://h:8265.")  # noqa: B904
    except ConnectionError as err:
        return err


def test_only_a_head_still_starting_is_retried():
    assert starting_reason(NO_AGENT) == "its job agent is not up yet"
    assert starting_reason(REFUSED) == "its dashboard refuses connections"
    assert starting_reason("Request failed with status code 400: bad runtime_env") is None
    assert starting_reason("Request failed with status code 401: Unauthorized") is None
    assert starting_reason("[Errno -2] Name or service not known") is None


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _retry(clock: FakeClock, lines: list[str], retry_s: float = 60) -> StartupRetry:
    return StartupRetry("http://h:8265", retry_s, lines.append, clock=clock, sleep=clock.sleep)


def _failing(errors: list[Exception], result: str = "raysubmit_1"):
    calls = []

    def request() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return result

    return request, calls


def test_a_starting_head_is_retried_until_it_takes_the_job_saying_so_once():
    clock, lines = FakeClock(), []
    request, calls = _failing([_refused(), RuntimeError(NO_AGENT), RuntimeError(NO_AGENT)])
    assert _retry(clock, lines)(request) == "raysubmit_1"
    assert len(calls) == 4 and clock.slept == [1.0, 1.0, 1.0]
    assert lines == [
        "[raymaker] the cluster at http://h:8265 is still starting (its dashboard refuses "
        "connections); retrying for up to 60 s"
    ]


def test_a_head_that_never_comes_up_fails_in_bounded_time_naming_address_and_fix():
    clock, lines = FakeClock(), []
    request, calls = _failing([RuntimeError(NO_AGENT)] * 1000)
    with pytest.raises(SpecError) as caught:
        _retry(clock, lines, retry_s=5)(request)
    message = str(caught.value)
    assert "the cluster at http://h:8265 is not taking jobs after 5 s" in message
    assert "its job agent is not up yet" in message
    assert "`ray status`" in message and "--retry-for" in message
    assert clock.now == 5 and len(calls) == 6 and len(lines) == 1


def test_other_errors_pass_through_at_once_and_the_budget_is_shared():
    clock, lines = FakeClock(), []
    retry = _retry(clock, lines, retry_s=10)
    request, calls = _failing([RuntimeError("Request failed with status code 400: bad")])
    with pytest.raises(RuntimeError, match="400"):
        retry(request)
    assert len(calls) == 1 and clock.slept == [] and lines == []
    clock.now = 8  # the client took 8 s to come up: the submission has 2 s left
    request, calls = _failing([RuntimeError(NO_AGENT)] * 10)
    with pytest.raises(SpecError, match="after 10 s"):
        retry(request)
    assert clock.now == 10 and len(calls) == 3


def test_submit_waits_for_a_head_still_starting(project, monkeypatch):
    """Through ``submit``: the client is refused, then the submission finds no agent, then
    the job is accepted."""
    import ray.job_submission

    import ray_apps.submission as submission

    refusals, no_agent = [_refused(), _refused()], [RuntimeError(NO_AGENT)]

    class FakeClient:
        def __init__(self, address, headers):
            if refusals:
                raise refusals.pop(0)

        def submit_job(self, *, entrypoint, runtime_env):
            if no_agent:
                raise no_agent.pop(0)
            return "raysubmit_7"

    clock, lines = FakeClock(), []
    monkeypatch.setattr(ray.job_submission, "JobSubmissionClient", FakeClient)
    monkeypatch.setattr(
        submission,
        "StartupRetry",
        lambda address, retry_s, out: StartupRetry(
            address, retry_s, out, clock=clock, sleep=clock.sleep
        ),
    )
    monkeypatch.chdir(project)
    code = submission.submit(
        "train", "examples/job.yaml", "http://h:8265", wait=False, out=lines.append
    )
    assert code == 0 and not refusals and not no_agent and clock.now == 3
    assert lines[0].startswith("[raymaker] the cluster at http://h:8265 is still starting")
    assert lines[1] == "[raymaker] submitted train as raysubmit_7 to http://h:8265"
