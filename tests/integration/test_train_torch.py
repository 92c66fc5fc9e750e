"""PyTorch DDP on real Ray Train: training, restarts, resume, artifact and MLflow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from mlflow.tracking import MlflowClient

from ray_apps import TrainingError, load_model, run_training
from ray_apps.data import load_dataset
from ray_apps.spec import DatasetSpec
from ray_apps.training.job import evaluate
from ray_apps.training.run_log import RunLog


def mlp_job(name: str, epochs: int = 5, **extra) -> dict:
    return {
        "name": name,
        "dataset": {"source": "sklearn:breast_cancer"},
        "model": {"kind": "torch", "params": {"hidden_sizes": [32, 16]}},
        "hyperparameters": {"epochs": epochs, "batch_size": 32, "lr": 0.003},
        "scaling": {"num_workers": 2, "mode": "distributed"},
        **extra,
    }


def test_ddp_trains_and_resumes_at_the_failed_epoch(ray_session):
    result = run_training(mlp_job("ddp", failure={"inject": {"at_epoch": 3}}))

    # One restart, from the checkpoint of epoch 2: the second start is at epoch 3, not 1.
    assert [a["start_epoch"] for a in result.attempts] == [1, 3]
    assert [h["epoch"] for h in result.history] == [1, 2, 3, 4, 5]
    assert result.history[-1]["val_loss"] < result.history[0]["val_loss"]
    assert result.metrics["accuracy"] > 0.85
    assert {"accuracy", "f1", "roc_auc", "log_loss"} <= set(result.metrics)

    # The artifact round-trips: metrics recomputed from the loaded model are the run's.
    model = load_model(result.artifact_path)
    test = load_dataset(DatasetSpec(source="sklearn:breast_cancer")).test
    assert evaluate(model, test) == pytest.approx(result.metrics)

    # MLflow holds the run: params, per-epoch metrics, test metrics, and the artifact.
    client = MlflowClient(tracking_uri=result.tracking_uri)
    run = client.get_run(result.mlflow_run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["hyperparameters.lr"] == "0.003"
    assert run.data.metrics["test_accuracy"] == pytest.approx(result.metrics["accuracy"])
    steps = {m.step for m in client.get_metric_history(result.mlflow_run_id, "val_loss")}
    assert steps == {1, 2, 3, 4, 5}
    files = {f.path for f in client.list_artifacts(result.mlflow_run_id, "model")}
    assert "model/MANIFEST.json" in files and "model/model.pt" in files


def test_exhausted_failure_policy_raises_and_names_resume(ray_session):
    # A SIGKILLed worker process is a failure like any other (its restart from the newest
    # checkpoint: tests/integration/cluster/test_node_loss_training.py kills a whole node).
    kill = {"at_epoch": 1, "rank": 1, "mode": "kill"}
    job = mlp_job("nofail", epochs=2, failure={"max_failures": 0, "inject": kill})
    with pytest.raises(TrainingError, match="raymaker train --resume nofail-"):
        run_training(job)


def test_a_rank_stuck_at_its_checkpoint_fails_over_within_the_collective_timeout(
    ray_session, tmp_path
):
    # The process group's timeout bounds the all-reduce; Ray Train's checkpoint barrier (every
    # rank's report) waited without limit: rank 0 stuck before writing a checkpoint held rank 1
    # there until the worker health check gave up, 10 minutes later (a hung node-loss test).
    # Here rank 0 sleeps 120 s at epoch 2's checkpoint: without the limit the run simply
    # finishes late, in one attempt.
    hang = {"at_epoch": 2, "rank": 0, "mode": "hang", "delay_s": 120, "at": "checkpoint"}
    failure = {"collective_timeout_s": 10, "inject": hang}
    result = run_training(mlp_job("stuck", epochs=3, failure=failure, storage=str(tmp_path)))

    assert [a["start_epoch"] for a in result.attempts] == [1, 2], result.attempts
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    fault = json.loads(Path(result.run_dir, "raymaker", "faults", "epoch-2").read_text())
    failover_s = result.attempts[1]["time"] - fault["time"]
    print(f"stuck at the checkpoint: restarted after {failover_s:.1f} s")
    # the barrier's 10 s, then the stuck worker's process group shutdown (up to 30 s)
    assert 10 <= failover_s < 10 + 30 + 30


def test_resume_continues_a_run_whose_driver_died(ray_session, tmp_path):
    storage = tmp_path / "runs"
    config = tmp_path / "job.yaml"
    config.write_text(yaml.safe_dump(mlp_job("orphan", epochs=30, storage=str(storage))))
    env = {**os.environ, "RAY_ADDRESS": ray_session}
    driver = subprocess.Popen(
        [sys.executable, "-m", "ray_apps.train", "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        run_dir = _wait_for_epoch(storage, epoch=3, driver=driver)
    finally:
        os.killpg(driver.pid, signal.SIGKILL)  # the driver dies mid-run
        driver.wait()
    checkpointed = max(h["epoch"] for h in RunLog(str(run_dir)).history())

    result = run_training(resume=run_dir.name, storage=str(storage))
    assert result.run_dir == str(run_dir)
    assert result.attempts[-1]["start_epoch"] > 1  # continued, not started over
    assert result.attempts[-1]["start_epoch"] <= checkpointed + 1
    assert [h["epoch"] for h in result.history] == list(range(1, 31))
    assert np.isfinite(result.metrics["log_loss"])


def _wait_for_epoch(storage, epoch: int, driver, timeout_s: float = 240):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert driver.poll() is None, "the training driver exited early"
        runs = list(storage.glob("orphan-*")) if storage.exists() else []
        if runs and len(RunLog(str(runs[0])).history()) >= epoch:
            return runs[0]
        time.sleep(0.5)
    raise AssertionError(f"no epoch {epoch} within {timeout_s}s")
