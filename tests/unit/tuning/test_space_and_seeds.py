import json
import math

import pytest

from ray_apps.errors import NotFoundError, SpecError
from tuning import leaderboard
from tuning.space import apply, fit_to_space
from tuning.spec import ParamSpec, load_tune_spec
from tuning.warm_start import seeds

TRAIN = {
    "name": "t",
    "dataset": {"source": "sklearn:breast_cancer"},
    "model": {"kind": "xgboost"},
    "hyperparameters": {"rounds": 9, "params": {"max_depth": 3}},
}
SPACE = {
    "hyperparameters.params.eta": {"type": "uniform", "low": 0.1, "high": 0.3},
    "hyperparameters.params.max_depth": {"type": "randint", "low": 2, "high": 5},
}


def test_apply_sets_dotted_paths_and_validates():
    spec = load_tune_spec(
        {
            "name": "x",
            "train": TRAIN,
            "search_space": SPACE,
            "objective": {"metric": "valid_logloss", "mode": "min"},
        }
    )
    trial = apply(spec.train, {"hyperparameters.params.eta": 0.2, "hyperparameters.rounds": 4})
    assert trial.hyperparameters.params == {"max_depth": 3, "eta": 0.2}
    assert trial.hyperparameters.rounds == 4
    with pytest.raises(SpecError, match="hyperparameters.rounds"):
        apply(spec.train, {"hyperparameters.rounds": 0})


def test_fit_to_space_clips_and_drops():
    space = {k: ParamSpec(**v) for k, v in SPACE.items()}
    config = {"hyperparameters.params.eta": 0.9, "hyperparameters.params.max_depth": 3, "x": 1}
    assert fit_to_space(config, space, "p") == {
        "hyperparameters.params.eta": 0.3,
        "hyperparameters.params.max_depth": 3,
    }
    assert fit_to_space({"hyperparameters.params.eta": 0.2}, space, "p") is None


def _parent(tmp_path, name, objectives):
    rows = [
        {
            "trial": i + 1,
            "trial_id": f"t{i}",
            "source": "this job",
            "status": "TERMINATED",
            "objective": v,
            "epochs": 9,
            "stopped_early": False,
            "time_s": 1.0,
            "started": i,
            "config": {
                "hyperparameters.params.eta": 0.1 + 0.05 * i,
                "hyperparameters.params.max_depth": 2 + i % 3,
            },
            "path": f"/x/{i}",
        }
        for i, v in enumerate(objectives)
    ]
    leaderboard.save(rows, str(tmp_path / name))
    return rows


def _job(mode, searcher, parents):
    return load_tune_spec(
        {
            "name": "child",
            "train": TRAIN,
            "search_space": SPACE,
            "objective": {"metric": "valid_logloss", "mode": "min"},
            "strategy": {"searcher": searcher},
            "warm_start": {"mode": mode, "parents": parents, "top_k": 2},
        }
    )


def test_identical_seeds_every_finished_parent_trial_with_its_result(tmp_path):
    _parent(tmp_path, "p1", [0.3, 0.2, float("nan"), 0.25])
    out = seeds(_job("identical", "bayesian", ["p1"]), str(tmp_path))
    assert out.rewards == [0.3, 0.2, 0.25]  # the NaN trial never finished: not a seed
    assert len(out.points) == 3 and all(r["source"] == "parent p1" for r in out.parent_rows)


def test_transfer_takes_the_best_configs_of_each_parent_to_run_first(tmp_path):
    _parent(tmp_path, "p1", [0.3, 0.2, 0.1, 0.25])
    _parent(tmp_path, "p2", [0.5, 0.4, 0.6, 0.7, 0.8, 0.05])  # its best has eta 0.35
    out = seeds(_job("transfer", "bayesian", ["p1", "p2"]), str(tmp_path))
    assert out.rewards == []  # evaluated on the new data, not assumed
    etas = [p["hyperparameters.params.eta"] for p in out.points]
    # best first per parent; 0.35 clipped to 0.3; p2's second best repeats p1's: once only
    assert etas == pytest.approx([0.2, 0.15, 0.3])


def test_identical_with_a_searcher_that_reruns_seeds_is_rejected(tmp_path):
    _parent(tmp_path, "p1", [0.3])
    with pytest.raises(SpecError, match="would run the parents' trials again"):
        seeds(_job("identical", "hyperopt", ["p1"]), str(tmp_path))
    with pytest.raises(NotFoundError, match="no leaderboard"):
        seeds(_job("transfer", "random", ["missing"]), str(tmp_path))


def test_leaderboard_ranks_and_round_trips(tmp_path):
    rows = _parent(tmp_path, "p", [0.3, float("nan"), 0.1])
    assert [r["objective"] for r in leaderboard.ranked(rows, "min")][:2] == [0.1, 0.3]
    assert math.isnan(leaderboard.ranked(rows, "max")[-1]["objective"])
    loaded = json.loads((tmp_path / "p" / "leaderboard.json").read_text())
    assert loaded[0]["config"] == rows[0]["config"]
    assert (tmp_path / "p" / "leaderboard.csv").read_text().startswith("trial,trial_id,")
