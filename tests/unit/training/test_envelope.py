"""The run envelope's folder and MLflow run, on a real (SQLite) MLflow store; no Ray."""

import contextlib

import pytest
from mlflow.tracking import MlflowClient

from ray_apps.errors import NotFoundError
from ray_apps.spec import TrackingSpec
from ray_apps.training import find_run_folder, new_run_folder, tracked_run


def test_new_folders_are_unique_and_found_again_by_name(tmp_path):
    a, b = new_run_folder("job", str(tmp_path)), new_run_folder("job", str(tmp_path))
    assert a.run_dir != b.run_dir and a.name.startswith("job-") and a.root == str(tmp_path)
    a.save_job({"spec": {"name": "job"}})
    saved, found = find_run_folder(a.name, [str(tmp_path)], "spec", "run")
    assert saved == {"name": "job"} and found.run_dir == a.run_dir and found.resumed
    with pytest.raises(NotFoundError, match="no run 'nope' to resume"):
        find_run_folder("nope", [str(tmp_path)], "spec", "run")


def test_mlflow_run_finishes_failed_when_the_body_raises(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    spec = TrackingSpec(uri=uri, experiment="unit")
    folder = new_run_folder("job", str(tmp_path / "runs"))
    with tracked_run(folder, spec, params={"a": 1}, tags={}) as ok:
        ok.metrics = {"accuracy": 0.9}
    with pytest.raises(RuntimeError), tracked_run(folder, spec, params={}, tags={}) as bad:
        raise RuntimeError("boom")
    client = MlflowClient(tracking_uri=uri)
    assert client.get_run(ok.run_id).info.status == "FINISHED"
    assert client.get_run(ok.run_id).data.metrics == {"test_accuracy": 0.9}
    assert client.get_run(bad.run_id).info.status == "FAILED"


def test_a_staged_artifact_is_logged_then_removed_when_the_run_closes(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    spec = TrackingSpec(uri=uri, experiment="unit")
    folder = new_run_folder("job", str(tmp_path / "runs"))
    for fails in (False, True):
        staging = tmp_path / f"staging-{fails}"
        staging.mkdir()
        (staging / "model.ubj").write_text("weights")
        with (
            contextlib.suppress(RuntimeError),
            tracked_run(folder, spec, params={}, tags={}) as run,
        ):
            run.staging = run.artifact_dir = staging
            if fails:
                raise RuntimeError("boom")
        assert not staging.exists()
        if not fails:
            logged = MlflowClient(tracking_uri=uri).list_artifacts(run.run_id, "model")
            assert [a.path for a in logged] == ["model/model.ubj"]
