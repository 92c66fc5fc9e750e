"""Jobs submitted to a real ``ray start --head`` cluster (token auth) leave their results in
shared storage (S3 on SeaweedFS) and tracking (PostgreSQL) that outlive the cluster.

The module submits, in two concurrent rounds: ``ray job submit`` of a training job (the user's
command, as the README gives it), ``raymaker submit`` of a training job with no storage
configured (refused, exit 2, naming the setting) and one without the Ray token (refused, exit 2),
a job reading its home folder; then ``ray job submit`` of a registration of the trained artifact
and of a two-step pipeline (train, register), and ``raymaker submit`` of a tuning job. Then it
stops the cluster and looks for what the jobs left. Run under the shared lock:
``flock /tmp/raymaker-ray.lock pytest tests/integration/cluster``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.fs as pafs
import pytest
from _ray_head import start_head
from mlflow.tracking import MlflowClient

from ray_apps.registry import get_version
from ray_apps.submission import EXCLUDES

REPO = Path(__file__).resolve().parents[3]
JOBS = "tests/integration/cluster/jobs"


@dataclass
class Outcome:
    env: dict[str, str]
    model: str
    returncodes: dict[str, int] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _run(outcome: Outcome, key: str, cmd: list[str], env: dict[str, str]) -> None:
    started = time.monotonic()
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    outcome.seconds[key] = round(time.monotonic() - started, 1)
    outcome.returncodes[key] = done.returncode
    outcome.logs[key] = done.stdout + done.stderr


def _run_together(outcome: Outcome, commands: dict[str, tuple[list[str], dict[str, str]]]) -> None:
    with ThreadPoolExecutor(len(commands)) as pool:
        for done in [pool.submit(_run, outcome, k, cmd, env) for k, (cmd, env) in commands.items()]:
            done.result()


def _artifacts(storage: str) -> list[str]:
    fs, root = pafs.FileSystem.from_uri(storage)
    found = fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
    return sorted(
        f"s3://{f.path.removesuffix('/MANIFEST.json')}"
        for f in found
        if f.path.endswith("/artifact/MANIFEST.json")
    )


@pytest.fixture(scope="module")
def outcome(servers) -> Outcome:
    """Run the jobs on a fresh cluster, then stop it; what they returned and printed."""
    shared = servers.env(storage_prefix=f"jobs-{uuid.uuid4().hex[:8]}/runs")
    with pytest.MonkeyPatch.context() as mp:  # this process reads the results from S3 too
        for key, value in servers.store.env().items():
            mp.setenv(key, value)
        done = _submit_all(servers, shared)
        # Wall seconds per submission, for the closing notes (a figure, not a test: timing
        # belongs in bench/, and two cores shared with other work vary it twofold).
        print("job seconds:", done.seconds)
        yield done


def _submit_all(servers, shared: dict[str, str]) -> Outcome:
    # The test session's own settings (RAYMAKER_HOME…) stay out of the cluster: the nodes hold
    # the store's credentials, and where results go comes with each job.
    base = {k: v for k, v in os.environ.items() if not k.startswith(("RAYMAKER_", "MLFLOW_"))}
    head = start_head({**base, **servers.store.env()})
    result = Outcome(shared, model=f"jobs-{uuid.uuid4().hex[:6]}")
    client = {**base, **head.client_env(), "PYTHONPATH": str(REPO)}
    where = {k: shared[k] for k in ("RAYMAKER_STORAGE", "MLFLOW_TRACKING_URI", "AWS_REGION")}
    where["AWS_ENDPOINT_URL"] = shared["AWS_ENDPOINT_URL"]
    runtime_env = json.dumps({"excludes": EXCLUDES, "env_vars": where})
    ray = [f"{Path(sys.executable).parent}/ray", "job", "submit", "--address", head.dashboard]
    raymaker = [sys.executable, "-m", "ray_apps.cli", "submit"]
    stranger = {k: v for k, v in client.items() if not k.startswith("RAY_AUTH")}
    home = json.dumps({"env_vars": {"RAYMAKER_HOME": f"{head.temp_dir}/home"}})
    submit = [*ray, "--working-dir", ".", "--runtime-env-json", runtime_env, "--"]
    # Two rounds of concurrent submissions (each `ray job submit` pays ~11 s of job start-up):
    # the training job, which creates MLflow's tables in the fresh database, beside the three
    # that never reach tracking; then the three that track into it (two first connections to an
    # empty database would both try to create the tables).
    first = {
        "train": (
            [*submit, "python", "-m", "ray_apps.train", "--config", f"{JOBS}/train_tiny.yaml"],
            client,
        ),
        "unconfigured": (
            [*raymaker, "train", "--config", f"{JOBS}/train_tiny.yaml"]
            + ["--address", head.dashboard],
            client,
        ),
        "home": (
            [*ray, "--runtime-env-json", home, "--", "python", "-c"]
            + ["from ray_apps import settings; print('storage:', settings.storage_path())"],
            client,
        ),
        "no_token": (
            [*raymaker, "train", "--config", f"{JOBS}/train_tiny.yaml"]
            + ["--address", head.dashboard],
            {**stranger, **where, "HOME": str(head.temp_dir)},  # no ~/.ray/auth_token either
        ),
    }
    try:
        _run_together(result, first)
        second = {
            "pipeline": (
                [*submit, "python", "-m", "ray_apps.cli", "pipeline", "run"]
                + [f"{JOBS}/pipeline_tiny.yaml", "--param", f"model={result.model}-pipe"],
                client,
            ),
            "tune": (
                [*raymaker, "tune", "--config", f"{JOBS}/tune_tiny.yaml"]
                + ["--address", head.dashboard],
                {**client, **where},
            ),
        }
        artifacts = _artifacts(shared["RAYMAKER_STORAGE"])
        if artifacts:
            second["register"] = (
                [*submit, "python", "-m", "ray_apps.cli", "registry", "register", artifacts[0]]
                + ["--name", result.model],
                client,
            )
        _run_together(result, second)
    finally:
        head.stop()
    assert not head.processes(), "the test cluster left processes behind"
    assert not head.temp_dir.exists(), "the test cluster left its folder behind"
    return result


def test_ray_job_submit_trains_into_s3_and_postgres(outcome):
    assert outcome.returncodes["train"] == 0, outcome.logs["train"][-3000:]
    artifacts = _artifacts(outcome.env["RAYMAKER_STORAGE"])
    train_artifacts = [a for a in artifacts if "/tiny-mlp-" in a]
    assert len(train_artifacts) == 1
    fs, root = pafs.FileSystem.from_uri(train_artifacts[0])
    names = {f.base_name for f in fs.get_file_info(pafs.FileSelector(root))}
    assert {"MANIFEST.json", "model.pt", "raymaker.json"} <= names
    run_dir = train_artifacts[0].removesuffix("/artifact")
    client = MlflowClient(outcome.env["MLFLOW_TRACKING_URI"])
    runs = client.search_runs(
        [e.experiment_id for e in client.search_experiments()],
        filter_string=f"tags.`raymaker.run_dir` = '{run_dir}'",
    )
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    assert "test_accuracy" in runs[0].data.metrics
    assert runs[0].info.artifact_uri.startswith("s3://")
    assert "raymaker_data" not in outcome.logs["train"]


def test_registered_version_is_found_after_the_cluster_stopped(outcome):
    assert outcome.returncodes.get("register") == 0, outcome.logs.get("register", "")[-3000:]
    mv = get_version(outcome.model, 1, tracking_uri=outcome.env["MLFLOW_TRACKING_URI"])
    assert mv.status == "Pending" and mv.artifact_uri.startswith(outcome.env["RAYMAKER_STORAGE"])


def test_a_submitted_pipeline_leaves_its_record_and_version_after_the_cluster_stopped(outcome):
    from pipelines.record import RunStore

    assert outcome.returncodes["pipeline"] == 0, outcome.logs["pipeline"][-3000:]
    store = RunStore(outcome.env["RAYMAKER_STORAGE"])
    (run_id,) = store.list_runs()
    run = store.load(run_id)
    assert run.state == "succeeded" and run.steps["register"].outputs["version"] == 1
    assert run.steps["train"].outputs["artifact"].startswith("s3://")
    mv = get_version(f"{outcome.model}-pipe", 1, tracking_uri=outcome.env["MLFLOW_TRACKING_URI"])
    assert mv.lineage["pipeline_run"] == run_id and mv.status == "Pending"
    assert "Traceback" not in outcome.logs["pipeline"]


def test_raymaker_submit_tunes_and_returns_the_jobs_status(outcome):
    assert outcome.returncodes["tune"] == 0, outcome.logs["tune"][-3000:]
    assert "SUCCEEDED (exit 0)" in outcome.logs["tune"]
    best = [a for a in _artifacts(outcome.env["RAYMAKER_STORAGE"]) if "/tiny-tune-" in a]
    assert any(a.endswith("/best/artifact") for a in best)


def test_a_job_without_shared_storage_is_refused_naming_the_setting(outcome):
    assert outcome.returncodes["unconfigured"] == 2, outcome.logs["unconfigured"][-3000:]
    log = outcome.logs["unconfigured"]
    assert "RAYMAKER_STORAGE" in log and "Traceback" not in log


def test_raymaker_submit_without_the_token_is_refused_naming_it(outcome):
    assert outcome.returncodes["no_token"] == 2, outcome.logs["no_token"][-3000:]
    assert "requires its Ray token; set RAY_AUTH_TOKEN" in outcome.logs["no_token"]
    assert "Traceback" not in outcome.logs["no_token"]


def test_a_home_folder_is_taken_on_a_single_node_cluster(outcome):
    # The driver joins its cluster to count the nodes: one node, so the folder is fine.
    assert outcome.returncodes["home"] == 0, outcome.logs["home"][-3000:]
    assert f"storage: {Path(tempfile.gettempdir()).resolve()}/rm-ray-" in outcome.logs["home"]
