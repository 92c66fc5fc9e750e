"""Runs, artifacts, MLflow tracking and the registry on real servers: S3 (SeaweedFS) and
PostgreSQL, as on a cluster. No Ray here: the cluster job test is test_job_submit.py."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pyarrow.fs as pafs
from _factories import xgboost_artifact
from mlflow.tracking import MlflowClient

from ray_apps import tracking
from ray_apps.artifact import load_model
from ray_apps.registry import get_version, register


def test_mlflow_run_on_postgres_keeps_its_artifacts_on_s3(shared_env, tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.bin").write_bytes(b"\x00" * 64)
    uri = tracking.resolve_uri(None)
    assert uri.startswith("postgresql+psycopg://")
    experiment = f"shared-{uuid.uuid4().hex[:6]}"
    run_id = tracking.open_run(uri, experiment, "r1", params={"lr": 0.1}, tags={})
    tracking.finish_run(uri, run_id, metrics={"accuracy": 0.9}, artifact_dir=tmp_path / "model")

    run = MlflowClient(uri).get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.metrics["test_accuracy"] == 0.9
    assert run.info.artifact_uri.startswith(shared_env["RAYMAKER_STORAGE"])
    fs, root = pafs.FileSystem.from_uri(run.info.artifact_uri)
    found = fs.get_file_info(pafs.FileSelector(root, recursive=True))
    assert any(f.path.endswith("model/weights.bin") and f.size == 64 for f in found)


def _upload(local, uri: str) -> str:
    pafs.copy_files(str(local), uri)
    return uri


def test_registry_on_postgres_serves_an_s3_artifact(shared_env, tmp_path):
    artifact = _upload(
        xgboost_artifact(tmp_path / "a"), f"{shared_env['RAYMAKER_STORAGE']}/run-a/artifact"
    )
    name = f"s3model-{uuid.uuid4().hex[:6]}"
    mv = register(artifact, name)
    assert (mv.version, mv.status, mv.artifact_uri) == (1, "Pending", artifact)
    again = get_version(name, 1)
    assert again.manifest_sha256 == mv.manifest_sha256
    assert load_model(again.artifact_uri).predict([[5.1, 3.5, 1.4, 0.2]]) is not None


def test_concurrent_registrations_from_processes_get_distinct_versions(shared_env, tmp_path):
    artifact = _upload(
        xgboost_artifact(tmp_path / "a"), f"{shared_env['RAYMAKER_STORAGE']}/run-b/artifact"
    )
    name = f"race-{uuid.uuid4().hex[:6]}"
    # Each process imports, says it is ready, and waits for the go: all four then register a
    # name none of them has seen at the same moment (first registration and versions race).
    code = """if True:
        import json, pathlib, sys, time
        from ray_apps.registry import register
        gate = pathlib.Path(sys.argv[3])
        (gate / sys.argv[4]).touch()
        while not (gate / "go").exists():
            time.sleep(0.01)
        print(json.dumps(register(sys.argv[1], sys.argv[2]).version))
    """
    gate = tmp_path / "gate"
    gate.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, artifact, name, str(gate), f"ready-{i}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    deadline = time.monotonic() + 120
    while len(list(gate.glob("ready-*"))) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    (gate / "go").touch()
    versions = [json.loads(p.communicate(timeout=120)[0].strip().splitlines()[-1]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sorted(versions) == [1, 2, 3, 4]


def test_capture_written_to_s3_reads_back_as_a_table(shared_env):
    import numpy as np

    from ray_apps.capture import read_capture
    from ray_apps.prediction import from_scores
    from serve.capture import CaptureWriter

    root = f"{shared_env['RAYMAKER_STORAGE']}/capture"
    writer = CaptureWriter(root, 100, flush_interval_s=3600)  # only close() writes
    for i in range(20):
        writer.add(
            request_id=f"r{i}",
            model="m",
            version=1 + i % 2,
            protocol="v1_predict",
            status=200,
            latency_ms=1.0,
            features=["a", "b"],
            inputs=np.asarray([[float(i), 1.0]]),
            prediction=from_scores(np.asarray([[0.25, 0.75]]), "classification", ["no", "yes"]),
        )
    writer.close()
    assert writer.written == 20
    frame = read_capture(root, "m")
    assert sorted(frame.request_id) == sorted(f"r{i}" for i in range(20))
    assert set(frame.version) == {"1", "2"} and set(frame.prediction) == {"yes"}
    assert len(read_capture(root, "m", version=2)) == 10


def test_monitor_reads_and_reports_on_s3(shared_env, tmp_path):
    from datetime import UTC, datetime

    from _monitor_data import artifact_and_window

    from ray_apps.monitoring import run_monitor

    storage = shared_env["RAYMAKER_STORAGE"]
    art, held_out, _ = artifact_and_window(tmp_path)
    artifact = _upload(art, f"{storage}/run-m/artifact")
    held_out.to_parquet(tmp_path / "day.parquet", index=False)
    dataset = _upload(tmp_path / "day.parquet", f"{storage}/data/day.parquet")
    result = run_monitor(
        {
            "model": "cancer:1",
            "artifact": artifact,
            "current": {"dataset": dataset},
            "output": f"{storage}/monitor",
        },
        now=datetime(2026, 11, 24, 12, tzinfo=UTC),
    )
    assert result.summary.rows == len(held_out)
    fs, root = pafs.FileSystem.from_uri(f"{storage}/monitor")
    found = fs.get_file_info(pafs.FileSelector(root, recursive=True))
    summaries = [f.path for f in found if f.path.endswith("/summary.json")]
    assert len(summaries) == 1 and "model=cancer/version=1/window=" in summaries[0]
