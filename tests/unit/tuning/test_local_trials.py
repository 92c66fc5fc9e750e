"""Tuning jobs whose trials run in this process (trial.mode auto → local): every strategy,
early stopping, health rules, warm start, resume and the CLI, end to end on real XGBoost,
torch, Optuna and MLflow. The unit tier refuses ray.init, so each test also proves that no Ray
was started."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml
from mlflow.tracking import MlflowClient

from ray_apps import load_model
from ray_apps.data import load_dataset
from ray_apps.spec import DatasetSpec
from tuning import run_tuning
from tuning.local_trials import RESULT_FILE, TRIALS_DIR, distributions
from tuning.spec import ParamSpec

TRAIN = {
    "name": "t",
    "dataset": {"source": "sklearn:breast_cancer"},
    "model": {"kind": "xgboost"},
    "hyperparameters": {"rounds": 9, "params": {"max_depth": 3}},
    "checkpoint": {"every": 3, "keep": 1},
}
ETA = {"type": "loguniform", "low": 0.01, "high": 0.6}
DEPTH = {"type": "randint", "low": 2, "high": 7}


def job(tmp_path, name, searcher="random", scheduler="fifo", trials=4, space=None, **extra):
    return {
        "name": name,
        "train": TRAIN,
        "search_space": space or {"hyperparameters.params.eta": ETA},
        "objective": {"metric": "valid_logloss", "mode": "min"},
        "strategy": {"searcher": searcher, "scheduler": scheduler, "grace_period": 1},
        "budget": {"max_trials": trials},
        "storage": str(tmp_path / "runs"),
        **extra,
    }


def own(result):
    return [r for r in result.leaderboard if r["source"] == "this job"]


def test_optuna_distributions_match_the_ray_tune_domains():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # list choices (hidden sizes) warn nothing to the user
        lists = distributions({"h": ParamSpec(type="grid", values=[[32], [64, 32]])})
    assert lists["h"].choices == ([32], [64, 32])
    dists = distributions(
        {
            "a": ParamSpec(type="randint", low=2, high=7),
            "b": ParamSpec(type="loguniform", low=0.01, high=0.6),
            "c": ParamSpec(type="quniform", low=0, high=1, q=0.25),
            "d": ParamSpec(type="choice", values=["x", "y"]),
        }
    )
    assert (dists["a"].low, dists["a"].high) == (2, 6)  # Tune's randint excludes high
    assert dists["b"].log and (dists["b"].low, dists["b"].high) == (0.01, 0.6)
    assert dists["c"].step == 0.25 and dists["d"].choices == ("x", "y")


def test_a_regression_job_tunes_here_with_its_default_first(tmp_path, capsys):
    train = {
        "name": "reg",
        "dataset": {"source": "sklearn:diabetes"},
        "model": {"kind": "xgboost"},
        "hyperparameters": {"rounds": 15},
    }
    spec = job(tmp_path, "reg", trials=5, space={"hyperparameters.params.eta": ETA})
    spec |= {"train": train, "objective": {"metric": "valid_rmse", "mode": "min"}}
    result = run_tuning(spec)
    out = capsys.readouterr().out
    assert "[raymaker] trials in this process, one after another" in out
    assert out.count("[raymaker] trial ") >= 5 and "Traceback" not in out

    rows = own(result)
    assert [r["trial"] for r in sorted(rows, key=lambda r: r["trial"])] == [1, 2, 3, 4, 5]
    assert all(r["status"] == "TERMINATED" and r["epochs"] == 15 for r in rows)
    first = min(rows, key=lambda r: r["trial"])
    assert first["proposed_by"] == "default"
    assert first["config"]["hyperparameters.params.eta"] == pytest.approx(0.3)  # xgboost's
    etas = [r["config"]["hyperparameters.params.eta"] for r in rows]
    assert len(set(etas)) == 5 and all(0.01 <= e <= 0.6 for e in etas)
    assert result.best_objective == min(r["objective"] for r in rows)

    # The best trial's checkpoint became the artifact: its test RMSE is what the model scores.
    model = load_model(result.artifact_path)
    test = load_dataset(DatasetSpec(source="sklearn:diabetes")).test
    y = test[model.info.label].to_numpy()
    rmse = float(np.sqrt(np.mean((model.predict(test) - y) ** 2)))
    assert rmse == pytest.approx(result.metrics["rmse"], rel=1e-5)

    client = MlflowClient(tracking_uri=result.tracking_uri)
    parent = client.get_run(result.mlflow_run_id)
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{result.mlflow_run_id}'"
    )
    assert len(children) == 5
    assert parent.data.params["tuning.resolved.trial_placement"] == "local"


def test_bayesian_with_asha_stops_trials_early_and_the_survivors_finish(tmp_path):
    space = {"hyperparameters.params.eta": ETA, "hyperparameters.params.max_depth": DEPTH}
    result = run_tuning(job(tmp_path, "bayes-asha", "bayesian", "asha", trials=10, space=space))
    rows = own(result)
    assert len(rows) == 10
    stopped = [r for r in rows if r["stopped_early"]]
    assert stopped, "ASHA stopped no trial"
    assert all(r["epochs"] < 9 for r in stopped)
    assert max(r["epochs"] for r in rows) == 9
    best = min(rows, key=lambda r: r["objective"])
    assert best["epochs"] == 9 and result.best_config == best["config"]


def test_grid_visits_exactly_the_grid(tmp_path):
    grid = {
        "hyperparameters.params.eta": {"type": "grid", "values": [0.1, 0.3]},
        "hyperparameters.params.max_depth": {"type": "grid", "values": [2, 3, 4]},
    }
    result = run_tuning(job(tmp_path, "grid", "grid", trials=6, space=grid))
    visited = sorted(
        (r["config"]["hyperparameters.params.eta"], r["config"]["hyperparameters.params.max_depth"])
        for r in own(result)
    )
    assert visited == sorted(itertools.product([0.1, 0.3], [2, 3, 4]))


@pytest.mark.parametrize("scheduler", ["hyperband", "median"])
def test_other_schedulers_run_every_trial(tmp_path, scheduler):
    result = run_tuning(job(tmp_path, scheduler, "random", scheduler, trials=6))
    rows = own(result)
    assert len(rows) == 6 and all(r["status"] == "TERMINATED" for r in rows)
    assert max(r["epochs"] for r in rows) == 9


def test_a_health_rule_ends_a_diverging_trial_not_the_experiment(tmp_path):
    train = {
        "name": "mlp",
        "dataset": {"source": "sklearn:diabetes"},
        "model": {"kind": "torch", "params": {"hidden_sizes": [32]}},
        "hyperparameters": {"epochs": 4, "batch_size": 64, "lr": 0.01, "optimizer": "sgd"},
        "checkpoint": {"every": 1, "keep": 1},
        "health": {"rules": ["nonfinite"], "actions": ["stop"]},
    }
    spec = job(
        tmp_path,
        "health",
        "grid",
        trials=2,
        space={"hyperparameters.lr": {"type": "grid", "values": [0.01, 5.0]}},
    )
    spec |= {"train": train, "objective": {"metric": "val_loss", "mode": "min"}}
    result = run_tuning(spec)
    rows = {r["config"]["hyperparameters.lr"]: r for r in own(result)}
    assert rows[5.0]["stopped_by_rule"] == "nonfinite at epoch 1", rows[5.0]
    assert rows[5.0]["epochs"] == 1 and rows[5.0]["status"] == "TERMINATED"
    assert rows[0.01]["stopped_by_rule"] is None and rows[0.01]["epochs"] == 4
    assert result.best_config["hyperparameters.lr"] == 0.01
    assert load_model(result.artifact_path) is not None


def test_identical_warm_start_learns_from_the_parent_without_running_it_again(tmp_path):
    space = {"hyperparameters.params.eta": ETA, "hyperparameters.params.max_depth": DEPTH}
    parent = run_tuning(job(tmp_path, "parent", "bayesian", trials=4, space=space))
    parent_configs = [r["config"] for r in own(parent)]
    warm = {"mode": "identical", "parents": [parent.run_dir]}
    child = run_tuning(job(tmp_path, "child", "bayesian", trials=3, space=space, warm_start=warm))
    assert len(own(child)) == 3
    assert sum(r["source"].startswith("parent") for r in child.leaderboard) == 4
    assert not [r for r in own(child) if r["config"] in parent_configs]


def test_a_resumed_job_keeps_finished_trials_and_runs_the_rest(tmp_path):
    result = run_tuning(job(tmp_path, "resume", trials=4))
    trials = sorted(Path(result.run_dir, TRIALS_DIR).glob("trial_*"))
    assert len(trials) == 4
    kept = {p.name: (p / RESULT_FILE).read_text() for p in trials[:2]}
    # Interrupted in trial 3: its folder has no result yet, and trial 4 never started.
    (trials[2] / RESULT_FILE).unlink()
    for item in trials[3].iterdir():
        if item.is_dir():
            for f in item.iterdir():
                f.unlink()
            item.rmdir()
        else:
            item.unlink()
    trials[3].rmdir()

    resumed = run_tuning(resume=result.run_name, storage=str(tmp_path / "runs"))
    assert resumed.run_dir == result.run_dir
    assert len(own(resumed)) == 4
    for name, text in kept.items():  # not run again: the very same records
        assert (Path(result.run_dir, TRIALS_DIR, name, RESULT_FILE)).read_text() == text
    by_id = {r["trial_id"]: r for r in own(resumed)}
    for name, text in kept.items():
        saved = json.loads(text)
        assert by_id[name.removeprefix("trial_")]["objective"] == saved["metrics"]["valid_logloss"]


def test_the_cli_tunes_here_and_exits_0(tmp_path):
    config = tmp_path / "tune.yaml"
    config.write_text(yaml.safe_dump(job(tmp_path, "cli", trials=3)))
    done = subprocess.run(
        [sys.executable, "-m", "ray_apps.cli", "tune", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "trials in this process" in out and "local Ray started" not in out
    assert "Traceback" not in out
