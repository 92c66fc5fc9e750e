"""A killed tuning driver resumes with no finished trial lost or repeated; distributed trials."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from _tune_state import saved_trials

from tuning import run_tuning

ROUNDS = 1000
TRAIN = {
    "name": "t",
    "dataset": {"source": "sklearn:breast_cancer"},
    "model": {"kind": "xgboost"},
    "hyperparameters": {"rounds": 9},
    "checkpoint": {"every": 3, "keep": 1},
}


def test_killed_tuning_driver_resumes_without_losing_or_repeating_trials(ray_session, tmp_path):
    storage = tmp_path / "runs"
    slow = TRAIN | {
        "hyperparameters": {"rounds": ROUNDS, "params": {"max_depth": 6}},
        "checkpoint": {"every": 100, "keep": 1},
    }
    spec = {
        "name": "killed",
        "train": slow,
        "search_space": {
            "hyperparameters.params.eta": {"type": "uniform", "low": 0.01, "high": 0.3}
        },
        "objective": {"metric": "valid_logloss", "mode": "min"},
        "budget": {"max_trials": 6, "max_concurrent": 1},
        "trial": {"mode": "ray"},  # Tune's experiment state (a local job: test_local_trials)
        "storage": str(storage),
    }
    config = tmp_path / "tune.yaml"
    config.write_text(yaml.safe_dump(spec))
    driver = subprocess.Popen(
        [sys.executable, "-m", "ray_apps.tune", "--config", str(config)],
        env={**os.environ, "RAY_ADDRESS": ray_session},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        run_dir = _wait_for_finished_trials(storage, 2, driver)
        finished_before = _finished(run_dir)  # trial id -> its last result
        assert driver.poll() is None, "the job finished before it could be interrupted"
    finally:
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait()
    assert len(finished_before) < 6

    result = run_tuning(resume=run_dir.name, storage=str(storage))
    rows = {r["trial_id"]: r for r in result.leaderboard if r["source"] == "this job"}
    assert len(rows) == 6, result.leaderboard  # none lost, none added twice
    assert all(r["status"] == "TERMINATED" for r in rows.values()), result.leaderboard
    # The trials finished before the kill were kept as they were, not run again.
    for trial_id, last in finished_before.items():
        assert rows[trial_id]["objective"] == last["valid_logloss"]
        assert rows[trial_id]["time_s"] == last["time_total_s"]
    assert {r["trial_id"]: r["epochs"] for r in rows.values()} == dict.fromkeys(rows, ROUNDS)
    # Checkpoints a resume no longer needs are pruned once the run is over: one per trial.
    for row in rows.values():
        assert len(list(Path(row["path"]).glob("checkpoint_*"))) == 1, row["path"]


def test_distributed_trials_are_ray_train_runs(ray_session):
    result = run_tuning(
        {
            "name": "dist",
            "train": TRAIN,
            "search_space": {
                "hyperparameters.params.eta": {"type": "choice", "values": [0.1, 0.3]}
            },
            "objective": {"metric": "valid_logloss", "mode": "min"},
            "budget": {"max_trials": 1, "max_concurrent": 1},  # (2-trial grids: test_tuning)
            "trial": {"workers": 2},
        }
    )
    rows = [r for r in result.leaderboard if r["source"] == "this job"]
    assert len(rows) == 1 and all(r["epochs"] == 9 for r in rows)
    for row in rows:  # each trial ran a 2-worker Ray Train job under its trial folder
        assert (Path(row["path"]) / "train").is_dir()
    assert result.metrics["accuracy"] > 0.85


def _finished(run_dir: Path) -> dict[str, dict]:
    """Finished trials as Tune's experiment state records them: trial id -> last result."""
    return {
        t: last for t, (status, last, _) in saved_trials(run_dir).items() if status == "TERMINATED"
    }


def _wait_for_finished_trials(storage: Path, count: int, driver, timeout_s: float = 240) -> Path:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert driver.poll() is None, "the tuning driver exited early"
        runs = list(storage.glob("killed-*")) if storage.exists() else []
        if not runs:
            time.sleep(0.2)
            continue
        trials = saved_trials(runs[0])
        running = [t for t, trial in trials.items() if trial.status == "RUNNING"]
        assert len(running) <= 1, f"budget.max_concurrent is 1 but {running} ran at once"
        if len(_finished(runs[0])) >= count:
            return runs[0]
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} finished trials within {timeout_s}s")
