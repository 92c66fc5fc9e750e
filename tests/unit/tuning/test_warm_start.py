"""Transfer warm start into a space that adds a parameter the parents never searched."""

import logging

import pytest

from ray_apps.training import RunFolder
from tuning import leaderboard
from tuning.spec import load_tune_spec
from tuning.warm_start import seeds

TRAIN = {
    "name": "t",
    "dataset": {"source": "sklearn:breast_cancer"},
    "model": {"kind": "xgboost"},
    "hyperparameters": {"rounds": 9, "params": {"max_depth": 3}},
}
PARENT_SPACE = {
    "hyperparameters.params.eta": {"type": "uniform", "low": 0.1, "high": 0.3},
    "hyperparameters.params.max_depth": {"type": "randint", "low": 2, "high": 5},
}


def _parent(tmp_path, name, train_params=None):
    """A finished parent tuning job: its leaderboard and (if given) its saved training job."""
    rows = [
        {
            "trial": i + 1,
            "trial_id": f"t{i}",
            "source": "this job",
            "status": "TERMINATED",
            "objective": 0.3 - 0.1 * i,
            "epochs": 9,
            "stopped_early": False,
            "time_s": 1.0,
            "started": i,
            "config": {
                "hyperparameters.params.eta": 0.1 + 0.1 * i,
                "hyperparameters.params.max_depth": 2 + i,
            },
            "path": f"/x/{i}",
        }
        for i in range(2)
    ]
    folder = tmp_path / name
    leaderboard.save(rows, str(folder))
    if train_params is not None:
        train = TRAIN | {"hyperparameters": {"rounds": 9, "params": train_params}}
        tune_spec = {"name": name, "train": train, "search_space": PARENT_SPACE}
        RunFolder(str(folder), resumed=False).save_job({"tune_spec": tune_spec})
    return rows


def _child(added: dict):
    return load_tune_spec(
        {
            "name": "child",
            "train": TRAIN,
            "search_space": PARENT_SPACE | added,
            "objective": {"metric": "valid_logloss", "mode": "min"},
            "strategy": {"searcher": "bayesian"},
            "warm_start": {"mode": "transfer", "parents": ["p1", "p2"], "top_k": 2},
        }
    )


MCW = "hyperparameters.params.min_child_weight"


def test_an_added_parameter_takes_the_value_the_parent_trained_with(tmp_path, caplog):
    _parent(tmp_path, "p1", train_params={"max_depth": 3, "min_child_weight": 8})
    _parent(tmp_path, "p2")  # no saved training job: the learner's default (XGBoost's 1)
    caplog.set_level(logging.WARNING, logger="raymaker.tuning")
    out = seeds(_child({MCW: {"type": "uniform", "low": 0.5, "high": 6}}), str(tmp_path))

    # Every parent trial is kept, best first per parent; p1 trained with 8 (clipped to 6).
    assert [p[MCW] for p in out.points] == [6, 6, 1, 1]
    assert [p["hyperparameters.params.eta"] for p in out.points] == pytest.approx(
        [0.2, 0.1, 0.2, 0.1]
    )
    assert [r["source"] for r in out.parent_rows] == ["parent p1"] * 2 + ["parent p2"] * 2
    assert "clipped hyperparameters.params.min_child_weight from 8 to 6" in caplog.text
    assert "the xgboost default" in caplog.text


def test_a_parameter_without_any_known_value_still_drops_the_parent(tmp_path, caplog):
    _parent(tmp_path, "p1", train_params={"max_depth": 3})
    _parent(tmp_path, "p2")
    added = {"hyperparameters.params.scale_pos_weight": {"type": "uniform", "low": 1, "high": 9}}
    caplog.set_level(logging.WARNING, logger="raymaker.tuning")
    out = seeds(_child(added), str(tmp_path))
    assert out.points == [] and out.parent_rows == []
    assert "neither its training job nor the learner's defaults set one" in caplog.text
