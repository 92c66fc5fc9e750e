"""Losing a worker node mid-training: the job finishes from its newest checkpoint.

A real multi-node cluster on this machine (tests/_multinode.py): a head and two worker nodes,
one Ray Train worker on each. The test SIGKILLs one worker node mid-run (raylet, agents and its
training worker, as when a machine dies), starts it again once the GCS has marked it dead, and
checks that the driver — a separate `python -m ray_apps.train` process, as `ray job submit`
runs it — finishes the run from its newest checkpoint. The work lost and the recovery time are
measured and written to ``node_loss_training.json`` in the test's folder (and printed).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml
from _multinode import start_cluster

from ray_apps.training.run_log import RunLog

EPOCHS = 12


@pytest.fixture(scope="module")
def cluster():
    # Ray Train waits TORCH_PROCESS_GROUP_SHUTDOWN_TIMEOUT_S (30 s by default) for a frozen
    # worker's process group before it restarts the group; 5 s keeps the test short, and is
    # the knob a user with a tight failover budget sets too.
    c = start_cluster(
        workers=("a", "b"), head_cpus=1, environ={"TORCH_PROCESS_GROUP_SHUTDOWN_TIMEOUT_S": "5"}
    )
    try:
        yield c
    finally:
        c.stop()


def test_a_lost_node_costs_at_most_the_epoch_in_flight(cluster, tmp_path):
    storage = tmp_path / "runs"
    driver = _start_training(cluster, tmp_path, storage, collective_timeout_s=300)
    try:
        run_log = _wait_for_epoch(storage, 3, driver, tmp_path)
        killed_at = cluster.kill_worker("b")
        dead_at = cluster.wait_worker_dead("b")
        cluster.add_worker("b")
        rejoined_at = time.time()
        rc = driver.wait(timeout=240)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert rc == 0, (tmp_path / "driver.log").read_text()[-4000:]

    attempts = run_log.attempts()
    assert len(attempts) == 2, attempts  # one restart for one lost node
    restarted_at, resumed_at = attempts[1]["time"], attempts[1]["start_epoch"]
    # Epochs the first worker group recorded (the survivor may finish the epoch in flight
    # just after the kill): each was checkpointed, so the restart goes on after the last.
    done_at_kill = max(e for e, t in _epoch_times(run_log) if t < restarted_at)
    assert 3 <= done_at_kill < EPOCHS, "the run finished before the node was lost"
    # (+2 only if rank 0 died between a checkpoint and its epoch record)
    assert done_at_kill + 1 <= resumed_at <= done_at_kill + 2, (done_at_kill, resumed_at)
    assert [h["epoch"] for h in run_log.history()] == list(range(1, EPOCHS + 1))

    first_epoch_after = min(t for e, t in _epoch_times(run_log) if t > restarted_at)
    figures = {
        "epochs_done_at_kill": done_at_kill,
        "resumed_at_epoch": resumed_at,
        "checkpointed_epochs_lost": max(done_at_kill - (resumed_at - 1), 0),
        "detect_s": round(dead_at - killed_at, 2),  # GCS marks the node dead
        "node_back_s": round(rejoined_at - killed_at, 2),
        "restart_s": round(restarted_at - killed_at, 2),  # new worker group started
        "recovery_s": round(first_epoch_after - killed_at, 2),  # its first epoch done
    }
    (tmp_path / "node_loss_training.json").write_text(json.dumps(figures, indent=1))
    print("node loss during training:", json.dumps(figures))
    assert figures["checkpointed_epochs_lost"] == 0
    assert 0 < figures["recovery_s"] < 120


def test_a_frozen_peer_fails_the_collective_within_its_timeout(cluster, tmp_path):
    # ray#22349: a peer that stops answering (frozen, its node still up) must not hang the
    # others' all-reduce forever; gloo gives up after failure.collective_timeout_s and the
    # worker group restarts from the newest checkpoint. Measured: gloo's "Timed out waiting
    # 10000ms", then Ray Train waits TORCH_PROCESS_GROUP_SHUTDOWN_TIMEOUT_S (30 s by default,
    # 5 s here) for the frozen worker's process group to shut down, then restarts: 58-66 s in
    # all with the default on 2 busy cores.
    timeout_s = 10
    storage = tmp_path / "runs"
    driver = _start_training(cluster, tmp_path, storage, collective_timeout_s=timeout_s)
    try:
        run_log = _wait_for_epoch(storage, 3, driver, tmp_path)
        frozen = [
            p for p in cluster.workers["b"].processes() if "RayTrainWorker" in " ".join(p.cmdline())
        ]
        assert frozen, "no Ray Train worker on node b"
        frozen_at = time.time()
        for p in frozen:
            p.suspend()  # SIGSTOP: alive to Ray, silent to its peer
        restarted = _wait_for(lambda: len(run_log.attempts()) >= 2, driver, tmp_path)
        for p in frozen:  # the restart killed it already, or resume it so it can go
            with contextlib.suppress(psutil.Error):
                p.resume()
        rc = driver.wait(timeout=240)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert rc == 0, (tmp_path / "driver.log").read_text()[-4000:]
    failover_s = run_log.attempts()[1]["time"] - frozen_at
    figures = {"collective_timeout_s": timeout_s, "failover_s": round(failover_s, 2)}
    (tmp_path / "collective_timeout.json").write_text(json.dumps(figures, indent=1))
    print("frozen peer:", json.dumps(figures))
    assert restarted and timeout_s <= failover_s < timeout_s + 30 + 45
    assert [h["epoch"] for h in run_log.history()] == list(range(1, EPOCHS + 1))


def _start_training(cluster, tmp_path, storage, collective_timeout_s: int) -> subprocess.Popen:
    job = {
        "name": "nodeloss",
        "dataset": {"source": "sklearn:breast_cancer"},
        "model": {"kind": "torch", "params": {"hidden_sizes": [16]}},
        "hyperparameters": {"epochs": EPOCHS, "batch_size": 32, "lr": 0.003},
        # One worker per worker node: each needs that node's only CPU and its rmk_worker.
        "scaling": {"num_workers": 2, "resources_per_worker": {"CPU": 1, "rmk_worker": 1}},
        "checkpoint": {"every": 1, "keep": 2},
        "failure": {"max_failures": 2, "collective_timeout_s": collective_timeout_s},
        "storage": str(storage),
    }
    config = tmp_path / "job.yaml"
    config.write_text(yaml.safe_dump(job))
    with open(tmp_path / "driver.log", "wb") as log:  # the child holds its own copy
        return subprocess.Popen(
            [sys.executable, "-m", "ray_apps.train", "--config", str(config)],
            env=cluster.driver_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _wait_for(ready, driver, tmp_path, timeout_s: float = 120) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return True
        if driver.poll() is not None:
            raise AssertionError((tmp_path / "driver.log").read_text()[-4000:])
        time.sleep(0.2)
    raise AssertionError(f"not reached within {timeout_s}s")


def _wait_for_epoch(storage, epoch: int, driver, tmp_path, timeout_s: float = 120) -> RunLog:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if driver.poll() is not None:
            raise AssertionError((tmp_path / "driver.log").read_text()[-4000:])
        runs = list(storage.glob("nodeloss-*")) if storage.exists() else []
        if runs and len(RunLog(str(runs[0])).history()) >= epoch:
            return RunLog(str(runs[0]))
        time.sleep(0.2)
    raise AssertionError(f"no epoch {epoch} within {timeout_s}s")


def _epoch_times(run_log: RunLog) -> list[tuple[int, float]]:
    """(epoch, when its record was written, in seconds) for every epoch record, reruns too."""
    # The records are <epoch>-<time_ns>.json (RunLog.epoch_done), on local storage here.
    files = Path(run_log.run_dir, "raymaker", "epochs").glob("*.json")
    return [(int(e), int(ns) / 1e9) for e, ns in (f.stem.split("-") for f in files)]
