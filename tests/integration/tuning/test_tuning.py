"""Tuning on real Ray Tune: each strategy, grid coverage, early stopping, warm start, MLflow.

Every job here asks for Ray Tune (``trial.mode: ray``): small one-worker trials like these run
in the tuning process by default, tested in tests/unit/tuning/test_local_trials.py.
"""

from __future__ import annotations

import itertools

import pytest
from mlflow.tracking import MlflowClient

from ray_apps import load_model
from tuning import run_tuning

TRAIN = {
    "name": "t",
    "dataset": {"source": "sklearn:breast_cancer"},
    "model": {"kind": "xgboost"},
    "hyperparameters": {"rounds": 9, "params": {"max_depth": 3}},
    "checkpoint": {"every": 3, "keep": 1},
}
ETA = {"type": "loguniform", "low": 0.01, "high": 0.6}
DEPTH = {"type": "randint", "low": 2, "high": 7}


def job(name, searcher="random", scheduler="fifo", trials=4, space=None, **extra):
    return {
        "name": name,
        "train": TRAIN,
        "search_space": space or {"hyperparameters.params.eta": ETA},
        "objective": {"metric": "valid_logloss", "mode": "min"},
        "strategy": {"searcher": searcher, "scheduler": scheduler, "grace_period": 1},
        "budget": {"max_trials": trials, "max_concurrent": 2},
        "trial": {"mode": "ray"},
        **extra,
    }


def own(result):
    return [r for r in result.leaderboard if r["source"] == "this job"]


@pytest.mark.parametrize(
    ("searcher", "scheduler"),
    [("random", "fifo"), ("gp", "fifo"), ("hyperopt", "median"), ("random", "hyperband")],
)
def test_each_strategy_runs_its_trials(ray_session, searcher, scheduler):
    result = run_tuning(job(f"{searcher}-{scheduler}", searcher, scheduler, trials=4))
    assert len(own(result)) == 4
    assert all(r["status"] == "TERMINATED" for r in own(result))
    etas = [r["config"]["hyperparameters.params.eta"] for r in own(result)]
    assert len(set(etas)) == 4 and all(0.01 <= e <= 0.6 for e in etas)
    assert result.best_objective == min(r["objective"] for r in own(result))


def test_grid_visits_exactly_the_grid(ray_session):
    grid = {
        "hyperparameters.params.eta": {"type": "grid", "values": [0.1, 0.3]},
        "hyperparameters.params.max_depth": {"type": "grid", "values": [2, 3, 4]},
    }
    result = run_tuning(job("grid", "grid", trials=6, space=grid))
    visited = sorted(
        (r["config"]["hyperparameters.params.eta"], r["config"]["hyperparameters.params.max_depth"])
        for r in own(result)
    )
    assert visited == sorted(itertools.product([0.1, 0.3], [2, 3, 4]))


def test_bayesian_with_asha_stops_trials_early_and_leaves_a_model(ray_session):
    space = {"hyperparameters.params.eta": ETA, "hyperparameters.params.max_depth": DEPTH}
    result = run_tuning(job("bayes-asha", "bayesian", "asha", trials=8, space=space))
    rows = own(result)
    assert len(rows) == 8
    stopped = [r for r in rows if r["stopped_early"]]
    assert stopped, "ASHA stopped no trial"
    assert all(r["epochs"] < 9 for r in stopped)
    assert max(r["epochs"] for r in rows) == 9  # the survivors ran to the end
    # The best configuration became a model artifact in the training format.
    model = load_model(result.artifact_path)
    assert model.info.kind == "xgboost" and result.metrics["accuracy"] > 0.85
    assert result.plot_path.endswith(".png")
    # MLflow: one parent run with one child run per trial.
    client = MlflowClient(tracking_uri=result.tracking_uri)
    parent = client.get_run(result.mlflow_run_id)
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{result.mlflow_run_id}'"
    )
    assert len(children) == 8
    assert parent.data.metrics["test_accuracy"] == pytest.approx(result.metrics["accuracy"])


def test_warm_start_identical_and_transfer_use_the_parents(ray_session):
    space = {"hyperparameters.params.eta": ETA, "hyperparameters.params.max_depth": DEPTH}
    parent = run_tuning(job("parent", "bayesian", trials=4, space=space))
    parent_configs = [r["config"] for r in own(parent)]

    # identical: parent trials are listed and learned from, never run again; 3 new trials run.
    child = run_tuning(
        job(
            "child",
            "bayesian",
            trials=3,
            space=space,
            warm_start={"mode": "identical", "parents": [parent.run_dir]},
        )
    )
    assert len(own(child)) == 3
    assert sum(r["source"].startswith("parent") for r in child.leaderboard) == 4
    assert not [r for r in own(child) if r["config"] in parent_configs]

    # transfer: new data and a narrower space; the parent's best config, clipped, runs first.
    narrow = {
        "hyperparameters.params.eta": {"type": "uniform", "low": 0.05, "high": 0.2},
        "hyperparameters.params.max_depth": DEPTH,
    }
    new_data = TRAIN | {"dataset": {"source": "sklearn:breast_cancer", "split": {"seed": 7}}}
    transfer = run_tuning(
        job("transfer", "bayesian", trials=3, space=narrow)
        | {"train": new_data}
        | {"warm_start": {"mode": "transfer", "parents": [parent.run_dir], "top_k": 1}}
    )
    best_parent = parent.best_config
    expected = {
        "hyperparameters.params.eta": min(
            max(best_parent["hyperparameters.params.eta"], 0.05), 0.2
        ),
        "hyperparameters.params.max_depth": best_parent["hyperparameters.params.max_depth"],
    }
    first = min(own(transfer), key=lambda r: r["trial"])
    assert first["config"] == pytest.approx(expected)


def test_a_health_rule_ends_a_diverging_trial_not_the_experiment(ray_session, tmp_path):
    train = {
        "name": "mlp",
        "dataset": {"source": "sklearn:diabetes"},
        "model": {"kind": "torch", "params": {"hidden_sizes": [32]}},
        "hyperparameters": {"epochs": 4, "batch_size": 64, "lr": 0.01, "optimizer": "sgd"},
        "checkpoint": {"every": 1, "keep": 1},
        "health": {"rules": ["nonfinite"], "actions": ["stop"]},
    }
    grid = {"hyperparameters.lr": {"type": "grid", "values": [0.01, 5.0]}}
    spec = {
        "name": "health",
        "train": train,
        "search_space": grid,
        "objective": {"metric": "val_loss", "mode": "min"},
        "strategy": {"searcher": "grid", "scheduler": "fifo"},
        "budget": {"max_trials": 2, "max_concurrent": 2},
        "trial": {"mode": "ray"},
        "storage": str(tmp_path / "runs"),
    }
    result = run_tuning(spec)
    rows = {r["config"]["hyperparameters.lr"]: r for r in own(result)}
    assert rows[5.0]["stopped_by_rule"] == "nonfinite at epoch 1", rows[5.0]
    assert rows[5.0]["epochs"] == 1 and rows[5.0]["status"] == "TERMINATED"
    assert rows[0.01]["stopped_by_rule"] is None and rows[0.01]["epochs"] == 4
    assert result.best_config["hyperparameters.lr"] == 0.01
    assert load_model(result.artifact_path) is not None
