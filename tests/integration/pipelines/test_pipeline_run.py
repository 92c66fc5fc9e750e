"""Pipelines on real Ray: a five-step run with a retried step, a condition branch and a fail
step; step caching keyed on the data's content; a killed driver resumed without redoing
finished steps, across a person's approval."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml
from _serve_helpers import wait_for
from sklearn.datasets import load_breast_cancer

from pipelines import run_pipeline
from pipelines.record import RunStore
from ray_apps import registry


def _csv(path: Path, rows: int | None = None) -> None:
    data = load_breast_cancer(as_frame=True).frame
    (data if rows is None else data.head(rows)).to_csv(path, index=False)


def _train_job(tmp_path: Path, source: Path) -> Path:
    job = {
        "name": "pipe-xgb",
        "dataset": {"source": str(source), "label": "target"},
        "model": {"kind": "xgboost"},
        "hyperparameters": {"rounds": 8, "params": {"max_depth": 3, "eta": 0.3}},
        "scaling": {"num_workers": 1},
        "storage": str(tmp_path / "runs"),
    }
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(job))
    return path


def _pipeline(train_yaml: Path, data: Path, model: str) -> dict:
    return {
        "name": "retrain",
        "parameters": {"min_auc": {"type": "float", "default": 0.5}},
        "steps": {
            "train": {
                "kind": "train",
                "with": {"config": str(train_yaml)},
                # The data lands late: the first try fails, the second finds it.
                "retry": {"attempts": 2, "interval_s": 3},
                "cache": {"enabled": True},
            },
            "evaluate": {
                "kind": "evaluate",
                "with": {"artifact": "${steps.train.outputs.artifact}", "data": str(data)},
            },
            "gate": {
                "kind": "condition",
                "with": {
                    "all": [
                        {
                            "left": "${steps.evaluate.outputs.metrics.roc_auc}",
                            "op": ">=",
                            "right": "${parameters.min_auc}",
                        }
                    ]
                },
            },
            "register": {
                "kind": "register",
                "if": "${steps.gate.outputs.passed}",
                "with": {"artifact": "${steps.train.outputs.artifact}", "model": model},
            },
            "too_weak": {
                "kind": "fail",
                "if": "not ${steps.gate.outputs.passed}",
                "with": {"message": "ROC AUC below min_auc: not registered"},
            },
        },
    }


def test_retry_condition_fail_and_a_cache_keyed_on_content(ray_session, tmp_path):
    data = tmp_path / "cancer.csv"
    spec = _pipeline(_train_job(tmp_path, data), data, "pipe-cancer")
    store = RunStore(str(tmp_path / "storage"))
    lines: list[str] = []

    # The CSV is written once train's first attempt has failed on its absence.
    def land_the_data():
        def failed_once():
            for run_id in store.list_runs():
                step = store.load(run_id).steps["train"]
                if step.attempts and step.attempts[0].get("error"):
                    return True
            return False

        wait_for(failed_once, 120, "train's first attempt to fail")
        _csv(data)

    lander = threading.Thread(target=land_the_data, daemon=True)
    lander.start()
    first = run_pipeline(spec, storage=str(tmp_path / "storage"), out=lines.append)
    lander.join(5)
    steps = first.steps
    assert first.state == "succeeded", "\n".join(lines)
    assert len(steps["train"].attempts) == 2 and "cancer.csv" in steps["train"].attempts[0]["error"]
    assert steps["gate"].outputs == {"passed": True}
    assert steps["register"].outputs["version"] == 1
    assert steps["too_weak"].state == "skipped"
    version = registry.get_version("pipe-cancer", 1)
    assert version.status == "Pending"
    assert version.lineage["pipeline_run"] == first.run_id  # the run that made it
    assert version.lineage["pipeline_step"] == "register"
    train_s = steps["train"].duration_s
    # Lineage: the pipeline run in MLflow, a nested run per step, the version's run named.
    assert _step_runs(first.mlflow_run_id) == {
        "train": "succeeded",
        "evaluate": "succeeded",
        "gate": "succeeded",
        "register": "succeeded",
        "too_weak": "skipped",
    }

    # Same data, a stricter gate: train comes from the cache, the fail step ends the run.
    lines.clear()
    second = run_pipeline(
        spec, {"min_auc": 0.9999}, storage=str(tmp_path / "storage"), out=lines.append
    )
    assert second.state == "failed"
    train = second.steps["train"]
    assert train.state == "cached" and train.cache_source == {
        "run_id": first.run_id,
        "step": "train",
    }
    assert train.outputs == steps["train"].outputs and train.duration_s < train_s / 5
    assert second.steps["register"].state == "skipped"
    assert second.steps["too_weak"].error == "ROC AUC below min_auc: not registered"
    assert [v.version for v in registry.list_versions("pipe-cancer")] == [1]  # nothing new
    assert any("too_weak: failed" in line for line in lines), lines
    assert _step_runs(second.mlflow_run_id, "raymaker.cache_source")["train"] == (
        f"{first.run_id}/train"
    )

    # The same path with other content: a miss, train runs again.
    _csv(data, rows=400)
    third = run_pipeline(spec, storage=str(tmp_path / "storage"), out=lines.append)
    assert third.steps["train"].state == "succeeded"
    assert third.steps["train"].cache_key != train.cache_key
    print(
        "[test] train", f"{train_s:.1f} s; cached {train.duration_s:.3f} s;",
        f"changed data {third.steps['train'].duration_s:.1f} s",
    )  # fmt: skip


def _step_runs(parent: str, tag: str = "raymaker.state") -> dict[str, str]:
    """{step: its tag} of the nested MLflow runs of a pipeline run."""
    from mlflow.tracking import MlflowClient

    from ray_apps import tracking

    client = MlflowClient(tracking_uri=tracking.resolve_uri(None))
    experiment = client.get_run(parent).info.experiment_id
    runs = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent}'")
    return {r.data.tags["raymaker.step"]: r.data.tags.get(tag) for r in runs}


def test_a_killed_driver_resumes_past_a_persons_approval(ray_session, tmp_path):
    data = tmp_path / "cancer.csv"
    _csv(data)
    pipeline = {
        "name": "gated",
        "steps": {
            "train": {"kind": "train", "with": {"config": str(_train_job(tmp_path, data))}},
            "register": {
                "kind": "register",
                "with": {"artifact": "${steps.train.outputs.artifact}", "model": "pipe-gated"},
            },
            "human": {
                "kind": "wait_for_approval",
                "with": {
                    "model": "${steps.register.outputs.model}",
                    "version": "${steps.register.outputs.version}",
                },
            },
        },
    }
    file = tmp_path / "gated.yaml"
    file.write_text(yaml.safe_dump(pipeline))
    storage = tmp_path / "storage"
    env = {**os.environ, "RAY_ADDRESS": ray_session}
    cli = [sys.executable, "-m", "ray_apps.cli", "pipeline"]
    store = RunStore(str(storage))
    with (tmp_path / "driver.log").open("w") as log:
        driver = subprocess.Popen(
            [*cli, "run", str(file), "--storage", str(storage)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:

        def waiting():
            runs = store.list_runs()
            return runs and store.load(runs[0]).steps["human"].state == "running" and runs[0]

        run_id = wait_for(waiting, 180, "the run to wait for approval")
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    before = store.load(run_id)
    assert before.state == "running" and before.steps["register"].outputs["version"] == 1

    registry.approve("pipe-gated", 1, by="a person", reason="looks good")
    start = time.monotonic()
    resumed = subprocess.run(
        [*cli, "resume", run_id, "--storage", str(storage)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    after = store.load(run_id)
    assert after.state == "succeeded"
    # Finished steps were not run again: same outputs, one attempt each, one version.
    for step in ("train", "register"):
        assert after.steps[step].outputs == before.steps[step].outputs
        assert len(after.steps[step].attempts) == 1
    assert after.steps["human"].outputs == {"approved": True, "by": "a person"}
    assert [v.version for v in registry.list_versions("pipe-gated")] == [1]
    assert "Traceback" not in resumed.stdout + resumed.stderr
    print(f"[test] resumed and finished in {time.monotonic() - start:.1f} s")
