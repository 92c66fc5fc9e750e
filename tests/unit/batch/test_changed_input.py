"""A resume over changed input, without Ray: the error names each change and the command that
starts a new run, and that command's spec file is the job's."""

import pytest
from _factories import xgboost_artifact

from ray_apps import registry
from ray_apps.batch import job
from ray_apps.batch.spec import parse_batch_spec
from ray_apps.errors import DataError


class _Stop(Exception):
    pass


def _stop(*args, **kwargs):
    raise _Stop  # the driver "dies" once the run is planned, before any scoring


def test_a_resume_over_changed_input_names_the_changes_and_the_new_run(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    v = registry.register(xgboost_artifact(tmp_path / "art"), "iris", tracking_uri=uri)
    registry.approve("iris", v.version, by="test", reason="test", tracking_uri=uri)
    data = tmp_path / "in"
    data.mkdir()
    for name in ("a.csv", "b.csv", "c.csv"):
        (data / name).write_text("sepal_length_cm\n1.0\n")
    storage = tmp_path / "runs"
    spec = {"name": "day", "model": "iris", "input": str(data), "output": str(storage)}
    monkeypatch.setattr(job, "_score", _stop)
    with pytest.raises(_Stop):
        job.run_batch(spec, progress=lambda line: None)
    (run_dir,) = storage.glob("day-*")
    assert parse_batch_spec(run_dir / job.SPEC_FILE) == parse_batch_spec(spec)

    (data / "a.csv").write_text("sepal_length_cm\n1.0\n2.0\n")
    (data / "b.csv").unlink()
    (data / "d.csv").write_text("sepal_length_cm\n")
    with pytest.raises(DataError) as err:
        job.run_batch(resume=run_dir.name, storage=str(storage))
    assert str(err.value) == (
        f"input {str(data)!r} changed since run {run_dir.name} planned it: "
        f"added {data}/d.csv; removed {data}/b.csv; "
        f"{data}/a.csv changed size (20 -> 24 bytes). A run resumes only the input it "
        f"planned; start a new run over the input as it is now: "
        f"raymaker batch --config {run_dir}/batch.yaml --storage {storage}"
    )
