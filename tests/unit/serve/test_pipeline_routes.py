"""POST /admin/pipelines/{name}:run without Ray: the body checked at the edge, the allow-list
of the endpoint's pipelines, the CLI command line built, and its answer read."""

import asyncio
import hashlib
import json
import sys

import pytest

from ray_apps.cli.pipeline import _params
from ray_apps.errors import NotFoundError, RaymakerError, SpecError
from ray_apps.spec import parse_spec
from serve import pipeline_routes
from serve.config import EndpointSpec
from serve.endpoint import EndpointCore
from serve.pipeline_routes import (
    PipelineTimeoutError,
    RunRequest,
    parse_body,
    pipeline_file,
    reply_from,
    trigger_command,
    trigger_env,
)
from serve.replica_settings import ReplicaSettings

ADMIN, USER = "admin-key-Pw4NcL7r", "user-key-Zq8XvT3m"
ADMIN_AUTH = {"authorization": f"Bearer {ADMIN}"}


def _digest(key: str) -> tuple[str, ...]:
    return (hashlib.sha256(key.encode()).hexdigest(),)


def call(core, path, body=b"", headers=None):
    read = []

    async def read_body():
        read.append(True)
        return body

    headers = {**(headers or {}), "content-length": str(len(body))}
    reply = asyncio.run(core.handle("POST", path, headers, read_body, "rid"))
    json.dumps(reply.payload)
    return reply, bool(read)


@pytest.fixture()
def core(tmp_path):
    pipeline = tmp_path / "retrain.yaml"
    pipeline.write_text("name: retrain\n")
    return EndpointCore(
        key_digests=_digest(USER),
        admin_key_digests=_digest(ADMIN),
        endpoint="cancer",
        pipelines={"retrain": str(pipeline), "refresh": str(pipeline)},
    )


# -- the body --------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"  \n", b"{}"])
def test_an_empty_body_asks_for_the_defaults(body):
    assert parse_body(body) == RunRequest()


def test_a_whole_body_is_kept():
    body = {"parameters": {"min_auc": 0.95, "model": "cancer"}, "key": "k-1", "reason": "drift"}
    assert parse_body(json.dumps(body).encode()) == RunRequest(
        {"min_auc": 0.95, "model": "cancer"}, "k-1", "drift"
    )


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"[1, 2]", "must be a JSON object"),
        (b'"pipeline.yaml"', "got str"),
        (b"{not json", "not valid JSON"),
        (b'{"colour": "red"}', "colour: unknown field; the body takes parameters, key, reason"),
        (b'{"parameters": [1]}', "parameters must be an object"),
        (b'{"parameters": {"a": [1]}}', r"parameters\.a is \[1\]"),
        (b'{"parameters": {"a": null}}', r"parameters\.a is null"),
        (b'{"parameters": {"a=b": 1}}', "parameters: 'a=b' is not a parameter name"),
        (b'{"key": "--storage"}', "key '--storage' names the trigger's state file"),
        (b'{"key": 3}', "key 3 names"),
        (b'{"reason": 3}', "reason must be a string"),
        (json.dumps({"reason": "x" * 501}).encode(), "at most 500 characters"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field(body, says):
    with pytest.raises(SpecError, match=says) as err:
        parse_body(body)
    assert err.value.http_status == 400


# -- the allow-list ---------------------------------------------------------------------------


def test_only_the_pipelines_the_spec_names_can_start():
    assert pipeline_file("retrain", {"retrain": "/p/r.yaml"}) == "/p/r.yaml"
    with pytest.raises(NotFoundError, match=r"no pipeline 'nope' on this endpoint; it has \['a'"):
        pipeline_file("nope", {"b": "/b.yaml", "a": "/a.yaml"})
    with pytest.raises(NotFoundError, match=r"has no pipelines.*pipelines: \{nope: pipeline"):
        pipeline_file("nope", {})


def test_the_route_needs_an_admin_credential_and_a_named_pipeline(core):
    reply, read = call(core, "/admin/pipelines/retrain:run", b"{}")
    assert reply.status == 401 and not read
    reply, read = call(
        core, "/admin/pipelines/retrain:run", b"{}", {"authorization": f"Bearer {USER}"}
    )
    assert reply.status == 403 and not read
    reply, read = call(core, "/admin/pipelines/other:run", b"{}", ADMIN_AUTH)
    assert reply.status == 404 and not read
    assert "['refresh', 'retrain']" in reply.payload["error"]


def test_a_bad_body_is_refused_before_anything_runs(core):
    reply, _ = call(core, "/admin/pipelines/retrain:run", b'{"parametres": {}}', ADMIN_AUTH)
    assert reply.status == 400 and "parametres: unknown field" in reply.payload["error"]


def test_an_endpoint_without_pipelines_says_how_to_name_one():
    core = EndpointCore(admin_key_digests=_digest(ADMIN))
    reply, _ = call(core, "/admin/pipelines/retrain:run", b"", ADMIN_AUTH)
    assert reply.status == 404 and "pipelines: {retrain: pipeline.yaml}" in reply.payload["error"]


# -- the command line -------------------------------------------------------------------------


def test_the_trigger_command_line():
    params = {"min_auc": 0.95, "epochs": 3, "deploy": True, "model": "cancer", "note": "a=b c"}
    command = trigger_command("/p/r.yaml", "cancer", params, "POST x", None, "/py")
    assert command == [
        "/py",
        "-m",
        "ray_apps.cli",
        "pipeline",
        "trigger",
        "/p/r.yaml",
        "--key=cancer",
        "--param=min_auc=0.95",
        "--param=epochs=3",
        "--param=deploy=true",
        "--param=model=cancer",
        "--param=note=a=b c",
        "--reason=POST x",
        "--json",
    ]
    # The CLI reads them back as the text the pipeline parses to each declared type.
    given = [a.removeprefix("--param=") for a in command if a.startswith("--param=")]
    assert _params(given) == {
        "min_auc": "0.95",
        "epochs": "3",
        "deploy": "true",
        "model": "cancer",
        "note": "a=b c",
    }
    with_storage = trigger_command("/p/r.yaml", "k", {}, "-r", "s3://b/runs", "/py")
    assert with_storage[-3:] == ["--reason=-r", "--json", "--storage=s3://b/runs"]


def test_the_subprocess_gets_the_endpoints_home_and_registry_and_no_other_secrets(tmp_path):
    env = trigger_env(str(tmp_path), "sqlite:///x.db", {"PATH": "/bin", "RAYMAKER_HOME": "/o"})
    assert env == {
        "PATH": "/bin",
        "RAYMAKER_HOME": str(tmp_path),
        "MLFLOW_TRACKING_URI": "sqlite:///x.db",
    }
    assert trigger_env(None, None, {"PATH": "/bin"}) == {"PATH": "/bin"}  # outside Ray: no address


# -- the answer -------------------------------------------------------------------------------

STARTED = {"status": "started", "key": "cancer", "run_id": "retrain-1", "pid": 42, "message": "m"}


def test_started_and_already_running_are_202_payloads_with_a_hint():
    out = "a log line\n" + json.dumps(STARTED) + "\n"
    assert reply_from(0, out, "") == {
        **STARTED,
        "status_hint": "raymaker pipeline status retrain-1",
    }
    running = {**STARTED, "status": "already_running", "pid": None}
    assert reply_from(0, json.dumps(running), "")["status"] == "already_running"
    unknown = {**STARTED, "status": "already_running", "run_id": None}
    assert reply_from(0, json.dumps(unknown), "")["status_hint"] == "raymaker pipeline list"


def test_exit_2_is_a_400_with_the_clis_message():
    stderr = (
        "2026-01-01 WARNING something noisy\n"
        "error: unknown parameter 'x'; pipeline r declares no parameters\n"
    )
    with pytest.raises(SpecError, match="^unknown parameter 'x'; pipeline r declares") as err:
        reply_from(2, "", stderr)
    assert err.value.http_status == 400
    usage = (
        "Usage: python -m ray_apps.cli pipeline trigger [OPTIONS] FILE\n"
        "Try 'python -m ray_apps.cli pipeline trigger --help' for help.\n"
        "╭─ Error ──────────────────────╮\n"
        "│ No such option: --jsn         │\n"
        "╰──────────────────────────────╯\n"
    )
    with pytest.raises(SpecError, match="^No such option: --jsn$"):
        reply_from(2, "", usage)


def test_another_failure_is_a_500_with_a_short_message():
    with pytest.raises(RaymakerError, match=r"failed \(exit 1\): TrainingError: boom") as err:
        reply_from(1, "", "Traceback (most recent call last):\n  File x\nTrainingError: boom\n")
    assert err.value.http_status == 500 and not isinstance(err.value, SpecError)
    with pytest.raises(RaymakerError, match=r"exit -9\); see the replica log"):
        reply_from(-9, "", "")
    with pytest.raises(RaymakerError, match="without its JSON answer") as err:
        reply_from(0, "started\n", "")
    assert err.value.http_status == 500


# -- the real CLI, as a subprocess (no Ray: it fails or is stopped before any run starts) -------


def test_the_real_cli_refusing_a_pipeline_file_is_a_400(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- not a pipeline\n")
    with pytest.raises(SpecError) as err:
        asyncio.run(
            pipeline_routes.run(
                "retrain",
                b"{}",
                pipelines={"retrain": str(bad)},
                endpoint="cancer",
                storage=str(tmp_path / "runs"),
                home=str(tmp_path),
                tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
            )
        )
    assert str(bad) in str(err.value) and "error:" not in str(err.value)


def test_no_answer_in_time_is_a_504(tmp_path):
    with pytest.raises(PipelineTimeoutError, match="no answer in 0.01 s") as err:
        asyncio.run(
            pipeline_routes.run(
                "retrain",
                b"",
                pipelines={"retrain": str(tmp_path / "p.yaml")},
                endpoint="cancer",
                storage=str(tmp_path / "runs"),
                home=str(tmp_path),
                tracking_uri=None,
                timeout_s=0.01,
            )
        )
    assert err.value.http_status == 504


# -- the spec field ---------------------------------------------------------------------------


def _spec(pipelines):
    return parse_spec(
        EndpointSpec, {"name": "ep", "models": [{"name": "m"}], "pipelines": pipelines}
    )


def test_pipeline_files_are_made_absolute_and_reach_the_replicas(tmp_path, monkeypatch):
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "retrain.yaml").write_text("name: retrain\n")
    monkeypatch.chdir(tmp_path)
    spec = _spec({"retrain": "flows/retrain.yaml"})
    assert spec.pipelines == {"retrain": str(tmp_path.resolve() / "flows" / "retrain.yaml")}
    assert (
        _spec({}).pipelines == {} == parse_spec(EndpointSpec, {"models": [{"name": "m"}]}).pipelines
    )
    settings = ReplicaSettings.from_spec(spec, tracking_uri="sqlite:///x.db", home=tmp_path)
    assert settings.pipelines == spec.pipelines
    assert ReplicaSettings.parse(settings.to_args()) == settings


def test_a_missing_pipeline_file_fails_the_deploy_naming_the_field(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = _spec({"retrain": "nowhere.yaml"})  # parsed: files are checked at deploy
    with pytest.raises(SpecError, match=r"pipelines\.retrain: '.*nowhere\.yaml' is not a file"):
        ReplicaSettings.from_spec(spec, tracking_uri="sqlite:///x.db", home=tmp_path)


@pytest.mark.parametrize(
    ("pipelines", "says"),
    [
        ({"re train": "p.yaml"}, "pipelines names 're train'"),
        ({"-x": "p.yaml"}, "pipelines names '-x'"),
        ({"retrain": " "}, r"pipelines\.retrain is empty"),
        ({"retrain": 3}, "pipelines"),
        (["p.yaml"], "pipelines"),
    ],
)
def test_bad_pipeline_entries_are_refused(pipelines, says):
    with pytest.raises(SpecError, match=says):
        _spec(pipelines)


def test_sys_executable_runs_the_cli():
    assert trigger_command("/f", "k", {}, "r", None, sys.executable)[:3] == [
        sys.executable,
        "-m",
        "ray_apps.cli",
    ]
