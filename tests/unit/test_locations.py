"""Where a run may write: the decision (pure) and the context it is read from."""

from __future__ import annotations

import json

import pytest

from ray_apps import settings
from ray_apps.errors import SpecError
from ray_apps.locations import JobContext, Location, Source, job_context, local_path, refusal

WD = "/tmp/ray/session_1/runtime_resources/working_dir_files/_ray_pkg_abc"
JOB = JobContext(submission_id="raysubmit_1", working_dir=WD)
LAPTOP = JobContext()


def loc(value: str, source: Source = Source.DEFAULT) -> Location:
    return Location("run storage", value, source, "RAYMAKER_STORAGE")


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ("sqlite:////data/mlflow.db", "/data/mlflow.db"),
        ("file:///data/runs", "/data/runs"),
        ("/data/runs", "/data/runs"),
        ("s3://bucket/runs", None),
        ("postgresql+psycopg://u@db/mlflow", None),
        ("http://mlflow:5000", None),
    ],
)
def test_local_path_tells_local_from_remote(value, path):
    assert local_path(value) == path


def test_embedded_default_unchanged_outside_a_job():
    assert refusal(loc("/home/me/project/raymaker_data/runs"), LAPTOP) is None


def test_default_inside_the_working_dir_is_refused_naming_the_setting():
    reason = refusal(loc(f"{WD}/raymaker_data/runs"), JOB)
    assert reason is not None
    assert "Ray working directory" in reason and "RAYMAKER_STORAGE" in reason


def test_explicit_relative_path_inside_the_working_dir_is_refused_too():
    assert refusal(loc(f"{WD}/runs", Source.EXPLICIT), JOB) is not None


def test_default_outside_the_working_dir_is_still_refused_in_a_job():
    reason = refusal(loc("/srv/raymaker_data/runs"), JobContext(submission_id="raysubmit_1"))
    assert reason is not None and "no stable default" in reason


def test_remote_uris_always_pass():
    for value in ("s3://bucket/runs", "postgresql://db/mlflow", "http://mlflow:5000"):
        assert refusal(loc(value), JobContext("raysubmit_1", WD, nodes=4)) is None


def test_home_folder_passes_on_one_node_and_is_refused_on_many():
    home = loc("/srv/raymaker/runs", Source.HOME)
    assert refusal(home, JobContext(submission_id="raysubmit_1")) is None
    reason = refusal(home, JobContext(submission_id="raysubmit_1", nodes=3))
    assert reason is not None and "3-node cluster" in reason


def test_explicit_local_path_is_trusted_on_many_nodes_as_a_shared_mount():
    assert refusal(loc("/mnt/shared/runs", Source.EXPLICIT), JobContext(nodes=3)) is None


def test_job_context_reads_rays_job_config_and_working_dir():
    config = {
        "metadata": {"job_submission_id": "raysubmit_9"},
        "runtime_env": {"working_dir": "gcs://_ray_pkg_x.zip"},
    }
    ctx = job_context({"RAY_JOB_CONFIG_JSON_ENV_VAR": json.dumps(config)}, cwd=WD)
    assert ctx == JobContext("raysubmit_9", WD, 1)


def test_job_context_without_a_job_is_empty():
    assert job_context({}, cwd="/home/me/project") == JobContext()


def test_job_context_sees_a_working_dir_by_its_path_alone():
    assert job_context({}, cwd=WD).working_dir == WD


def test_settings_refuse_the_embedded_default_in_a_submitted_job(monkeypatch, tmp_path):
    config = {"metadata": {"job_submission_id": "raysubmit_2"}, "runtime_env": {"working_dir": "x"}}
    monkeypatch.setenv("RAY_JOB_CONFIG_JSON_ENV_VAR", json.dumps(config))
    monkeypatch.delenv("RAYMAKER_HOME", raising=False)
    monkeypatch.delenv("RAYMAKER_STORAGE", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError, match="RAYMAKER_STORAGE") as err:
        settings.storage_path()
    assert err.value.exit_code == 2
    with pytest.raises(SpecError, match="MLFLOW_TRACKING_URI"):
        settings.tracking_uri()
    assert not (tmp_path / "raymaker_data").exists()


def test_settings_take_configured_locations_in_a_submitted_job(monkeypatch, tmp_path):
    config = {"metadata": {"job_submission_id": "raysubmit_3"}, "runtime_env": {"working_dir": "x"}}
    monkeypatch.setenv("RAY_JOB_CONFIG_JSON_ENV_VAR", json.dumps(config))
    monkeypatch.setenv("RAYMAKER_STORAGE", "s3://bucket/runs")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "postgresql+psycopg://u@db/mlflow")
    monkeypatch.delenv("RAYMAKER_MLFLOW_ARTIFACTS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert settings.storage_path() == "s3://bucket/runs"
    assert settings.tracking_uri() == "postgresql+psycopg://u@db/mlflow"
    assert settings.mlflow_artifact_root(settings.tracking_uri()) == (
        "s3://bucket/runs/mlflow-artifacts"
    )


def test_mlflow_artifacts_in_the_working_dir_are_refused(monkeypatch, tmp_path):
    config = {"metadata": {"job_submission_id": "raysubmit_4"}, "runtime_env": {"working_dir": "x"}}
    monkeypatch.setenv("RAY_JOB_CONFIG_JSON_ENV_VAR", json.dumps(config))
    monkeypatch.delenv("RAYMAKER_STORAGE", raising=False)
    monkeypatch.delenv("RAYMAKER_MLFLOW_ARTIFACTS", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError, match="RAYMAKER_MLFLOW_ARTIFACTS"):
        settings.mlflow_artifact_root("postgresql://db/mlflow")
    assert settings.mlflow_artifact_root("http://mlflow:5000") is None
