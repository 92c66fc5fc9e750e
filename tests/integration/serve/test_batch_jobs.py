"""Batch transform jobs over real HTTP: an admin starts one, polls it to succeeded through a
replica that replaced the one that started it, and reads its output as a monitoring window;
everyone else is refused, bad specs and unknown jobs answer 4xx."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _serve_helpers import KEY, PORT, wait_for

from ray_apps.artifact import load_model
from ray_apps.batch import batch_status, read_output
from ray_apps.data import load_dataset
from ray_apps.registry import get_version
from ray_apps.spec import DatasetSpec
from serve import deploy

ADMIN_KEY = "batch-admin-key-24680"
AUTH = {"Authorization": f"Bearer {KEY}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
JOBS = "/bj/admin/batch/jobs"


@pytest.fixture()
def batch_ep(endpoint, iris, monkeypatch):
    monkeypatch.setenv("RAYMAKER_TEST_BATCH_ADMIN", ADMIN_KEY)
    deploy(
        {
            "name": "batch-ep",
            "route_prefix": "/bj",
            "models": [{"name": iris}],
            "auth": {
                "api_key_envs": ["RAYMAKER_TEST_KEYS"],
                "admin_key_envs": ["RAYMAKER_TEST_BATCH_ADMIN"],
            },
        },
        port=PORT,
    )
    return "batch-ep"


@pytest.fixture()
def inputs(tmp_path) -> tuple[str, int]:
    """Two CSV files and a Parquet file of two row groups: 3 units, every row good."""
    rows = load_dataset(DatasetSpec(source="sklearn:iris")).train.drop(columns=["target"])
    folder = tmp_path / "day"
    folder.mkdir()
    rows.head(30).to_csv(folder / "a.csv", index=False)
    rows.iloc[30:50].to_csv(folder / "b.csv", index=False)
    table = pa.Table.from_pandas(rows.iloc[50:].reset_index(drop=True))
    pq.write_table(table, folder / "c.parquet", row_group_size=30)
    return str(folder), len(rows)


def _kill_replica(app: str) -> None:
    import ray

    names = ray.util.list_named_actors(all_namespaces=True)
    replica = next(a for a in names if a["name"].startswith(f"SERVE_REPLICA::{app}#"))
    ray.kill(ray.get_actor(replica["name"], namespace=replica["namespace"]), no_restart=False)


def test_admin_starts_a_job_and_polls_it_to_succeeded(batch_ep, client, inputs, iris):
    folder, n = inputs
    job = {"name": "day-scores", "model": iris, "input": folder, "concurrency": 1}
    r = client.post(JOBS, headers=ADMIN, json=job)
    assert r.status_code == 202, r.text
    started = r.json()
    job_id = started["job_id"]
    assert started["status_url"] == f"{JOBS}/{job_id}" == r.headers["location"]
    newest = get_version(iris).version
    assert started["model"] == f"{iris}:{newest}"  # pinned at submit: the newest Approved

    _kill_replica(batch_ep)  # the replica that started the job dies; the job does not

    def finished():
        got = client.get(started["status_url"], headers=ADMIN)
        if got.status_code != 200:  # while Serve replaces the replica
            return None
        body = got.json()
        assert body["status"] in ("queued", "running", "succeeded"), body
        return body if body["status"] == "succeeded" else None

    done = wait_for(finished, 120, f"batch job {job_id} to succeed", interval_s=0.5)
    s = done["summary"]
    assert (s["rows_in"], s["rows_out"], s["rows_rejected"], s["units"]) == (n, n, 0, 3)
    p = done["progress"]
    assert (p["units_committed"], p["units_total"], p["rows_in"], p["rows_out"]) == (3, 3, n, n)
    assert done["output_path"] == f"{done['run_dir']}/output" and done["reason"] is None
    assert batch_status(job_id).to_dict() == done  # read from storage, not from a replica
    listed = client.get(JOBS, headers=ADMIN).json()["jobs"]
    assert done in listed and listed.index(done) == 0  # the newest first

    # The output is a monitoring window: read_capture's columns, the model's predictions.
    frame = read_output(done["run_dir"])
    assert len(frame) == n and set(frame.version) == {str(newest)}
    model = load_model(get_version(iris, newest).artifact_uri)
    features = model.info.feature_names
    expected = model.predict(frame[features])
    np.testing.assert_array_equal(frame.prediction.to_numpy(), expected)
    assert isinstance(frame.ts.iloc[0], pd.Timestamp)


def test_only_admins_valid_specs_approved_versions_and_known_jobs(batch_ep, client, inputs, iris):
    job = {"name": "day-scores", "model": iris, "input": inputs[0]}
    r = client.post(JOBS, headers=AUTH, json=job)
    assert r.status_code == 403 and "needs an admin credential" in r.json()["error"]
    assert client.post(JOBS, json=job).status_code == 401
    assert client.get(f"{JOBS}/anything", headers=AUTH).status_code == 403

    r = client.post(JOBS, headers=ADMIN, json={**job, "batch_size": 0})
    assert r.status_code == 400 and "batch_size" in r.json()["error"]
    r = client.post(JOBS, headers=ADMIN, json={**job, "colour": "red"})
    assert r.status_code == 400 and "colour" in r.json()["error"]
    r = client.post(JOBS, headers=ADMIN, json={k: v for k, v in job.items() if k != "input"})
    assert r.status_code == 400 and "input" in r.json()["error"]
    r = client.post(JOBS, headers=ADMIN, json="batch.yaml")  # never read as a server file
    assert r.status_code == 400 and "JSON object" in r.json()["error"]

    r = client.post(JOBS, headers=ADMIN, json={**job, "model": f"{iris}:3"})  # Pending
    assert r.status_code == 409 and "force: true" in r.json()["error"]

    # A job that fails inside a Ray Data worker: failed, with the reason, not Ray's traceback.
    r = client.post(JOBS, headers=ADMIN, json={**job, "id_column": "pid", "concurrency": 1})
    assert r.status_code == 202, r.text
    url = r.json()["status_url"]

    def ended():
        body = client.get(url, headers=ADMIN).json()
        return body if body["status"] in ("succeeded", "failed") else None

    failed = wait_for(ended, 120, "the job to fail", interval_s=0.5)
    assert failed["status"] == "failed" and failed["summary"] is None
    assert failed["reason"].startswith("id_column 'pid' is not a column of "), failed["reason"]
    assert "Traceback" not in failed["reason"]

    r = client.get(f"{JOBS}/day-scores-20200101-000000-abcdef", headers=ADMIN)
    assert r.status_code == 404 and "no batch job" in r.json()["error"]
    assert client.get(f"{JOBS}/..", headers=ADMIN).status_code == 404
