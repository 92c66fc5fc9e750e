"""Trial 1 is the training job's own configuration: built from the job and the learner's
defaults, dropped whole (with the reason) when the space cannot hold it, composed with warm
starts, and named in the leaderboard."""

import math

import pytest

from tuning import leaderboard
from tuning.default_point import DefaultPoint, FirstPoint, default_point, first_points, label_rows
from tuning.spec import load_tune_spec
from tuning.warm_start import Seeds

ETA = "hyperparameters.params.eta"
DEPTH = "hyperparameters.params.max_depth"
MCW = "hyperparameters.params.min_child_weight"
XGB_TRAIN = {
    "name": "t",
    "dataset": {"source": "sklearn:breast_cancer"},
    "model": {"kind": "xgboost"},
    "hyperparameters": {"rounds": 9, "params": {"max_depth": 4}},
}
SPACE = {
    ETA: {"type": "loguniform", "low": 0.01, "high": 0.5},
    DEPTH: {"type": "randint", "low": 2, "high": 8},
}


def job(space=None, train=None, **extra):
    return load_tune_spec(
        {
            "name": "tune",
            "train": train or XGB_TRAIN,
            "search_space": space or SPACE,
            "objective": {"metric": "valid_logloss", "mode": "min"},
            **extra,
        }
    )


def test_set_keys_and_learner_defaults_make_the_point():
    point = default_point(job(SPACE | {MCW: {"type": "quniform", "low": 1, "high": 8, "q": 1}}))
    # max_depth is set by the job; eta and min_child_weight are XGBoost's defaults (0.3, 1).
    assert point.config == {ETA: 0.3, DEPTH: 4, MCW: 1.0}
    assert isinstance(point.config[DEPTH], int) and isinstance(point.config[MCW], float)
    assert point.origins == {
        ETA: "the xgboost default",
        DEPTH: "set in the training job",
        MCW: "the xgboost default",
    }
    assert point.skipped is None
    assert point.describe().startswith("trial 1 runs the training job's own configuration: ")


def test_a_torch_job_takes_its_hyperparameter_model_defaults():
    torch_train = {
        "name": "t",
        "dataset": {"source": "sklearn:iris"},
        "model": {"kind": "torch"},
        "hyperparameters": {"epochs": 3},
    }
    space = {
        "hyperparameters.lr": {"type": "loguniform", "low": 1e-4, "high": 1e-1},
        "hyperparameters.batch_size": {"type": "choice", "values": [32, 64, 128]},
    }
    point = default_point(job(space, torch_train, objective={"metric": "val_loss", "mode": "min"}))
    assert point.config == {"hyperparameters.lr": 1e-3, "hyperparameters.batch_size": 64}
    assert point.origins["hyperparameters.lr"] == "the torch default"


@pytest.mark.parametrize(
    ("dimension", "reason"),
    [
        # XGBoost's eta default 0.3 lies above the range.
        (
            {ETA: {"type": "uniform", "low": 0.05, "high": 0.2}},
            "eta = 0.3 (the xgboost default) is outside uniform [0.05, 0.2]",
        ),
        # Tune's randint excludes `high`: max_depth 4 cannot be drawn from [2, 4).
        (
            {DEPTH: {"type": "randint", "low": 2, "high": 4}},
            "max_depth = 4 (set in the training job) is outside randint [2, 4) (high excluded)",
        ),
        # Off the quniform step: 0.3 is not 0.25 or 0.5.
        (
            {ETA: {"type": "quniform", "low": 0, "high": 1, "q": 0.25}},
            "is outside quniform [0, 1] in steps of 0.25",
        ),
        ({DEPTH: {"type": "choice", "values": [3, 5]}}, "is outside the choice values [3, 5]"),
        # Neither the job nor XGBoost's documented defaults give scale_pos_weight.
        (
            {"hyperparameters.params.scale_pos_weight": {"type": "uniform", "low": 1, "high": 9}},
            "the training job does not set hyperparameters.params.scale_pos_weight and the "
            "xgboost learner has no default for it",
        ),
    ],
)
def test_a_value_the_space_cannot_hold_drops_the_whole_point(dimension, reason):
    point = default_point(job(SPACE | dimension))
    assert point.config is None
    assert reason in point.skipped
    assert point.describe() == f"no default trial: {point.skipped}"


def test_the_option_turns_it_off_and_grid_never_takes_it():
    off = default_point(job(strategy={"evaluate_default_first": False}))
    assert off == DefaultPoint(None, skipped="strategy.evaluate_default_first is false")
    grid_space = {ETA: {"type": "grid", "values": [0.1, 0.3]}}
    grid = default_point(job(grid_space, strategy={"searcher": "grid"}))
    assert grid.config is None and "searcher grid visits exactly its grid" in grid.skipped
    assert job().strategy.evaluate_default_first is True  # on by default


def _parent_row(trial, config, source="parent p1"):
    return {"trial": trial, "source": source, "objective": 0.1, "config": config}


def test_the_default_runs_before_transfer_seeds():
    seed_a, seed_b = {ETA: 0.1, DEPTH: 3}, {ETA: 0.2, DEPTH: 5}
    warm = Seeds(
        points=[seed_a, seed_b],
        parent_rows=[_parent_row(2, seed_a), _parent_row(1, seed_b, "parent p2")],
    )
    point, first = first_points(job(), warm)
    assert [(p.config, p.label) for p in first] == [
        ({ETA: 0.3, DEPTH: 4}, "default"),
        (seed_a, "parent p1 trial 2"),
        (seed_b, "parent p2 trial 1"),
    ]
    assert point.config == {ETA: 0.3, DEPTH: 4}


def test_a_default_a_parent_already_ran_is_not_run_again():
    # Transfer: the clipped seed equals the default (the parent row ran eta 0.3 as 0.30000001).
    seed = {ETA: 0.3, DEPTH: 4}
    warm = Seeds(points=[seed], parent_rows=[_parent_row(1, {ETA: 0.30000000001, DEPTH: 4.0})])
    point, first = first_points(job(), warm)
    assert point.config is None
    assert point.skipped == "parent p1 trial 1 already ran the same configuration"
    assert [p.label for p in first] == ["parent p1 trial 1"]
    # Identical with the random searcher: parents are listed only (no points), still matched.
    listed = Seeds(parent_rows=[_parent_row(3, {ETA: 0.3, DEPTH: 4})])
    point, first = first_points(job(), listed)
    assert first == [] and point.skipped == "parent p1 trial 3 already ran the same configuration"


def test_results_to_learn_from_are_not_run_first():
    # Identical warm start on the Bayesian searcher: the parent's trials come with their rewards.
    other = {ETA: 0.05, DEPTH: 6}
    warm = Seeds(points=[other], rewards=[0.2], parent_rows=[_parent_row(1, other)])
    point, first = first_points(job(), warm)
    assert first == [FirstPoint({ETA: 0.3, DEPTH: 4}, "default")]


def _row(trial, config, objective, epochs=9):
    return {
        "trial": trial,
        "source": "this job",
        "config": config,
        "objective": objective,
        "epochs": epochs,
        "stopped_early": epochs < 9,
    }


def test_rows_say_who_proposed_them_and_the_best_is_compared_with_the_default():
    first = [
        FirstPoint({ETA: 0.3, DEPTH: 4}, "default"),
        FirstPoint({ETA: 0.1, DEPTH: 3}, "parent p1 trial 2"),
    ]
    rows = [
        _row(2, {ETA: 0.1, DEPTH: 3.0}, 0.5317),  # a searcher may hand 3 back as 3.0
        _row(1, {ETA: 0.3, DEPTH: 4}, 0.5321, epochs=3),
        _row(3, {ETA: 0.0712, DEPTH: 5}, 0.5301),
    ]
    label_rows(rows, first)
    assert [r["proposed_by"] for r in rows] == ["parent p1 trial 2", "default", "searcher"]
    ranked = leaderboard.ranked(rows, "min")
    assert leaderboard.against_default(ranked, "valid_logloss") == (
        "best valid_logloss 0.5301 (trial 3) against 0.5321 for the training job's own "
        "configuration (trial 1, stopped early after 3)"
    )
    only_default = [_row(1, {ETA: 0.3, DEPTH: 4}, 0.5317)]
    label_rows(only_default, first)
    assert leaderboard.against_default(only_default, "valid_logloss").endswith(
        "is the training job's own configuration: no trial beat it"
    )


def test_the_plot_marks_the_default_trial(tmp_path):
    rows = [_row(1, {ETA: 0.3}, 0.53), _row(2, {ETA: 0.1}, math.nan), _row(3, {ETA: 0.2}, 0.52)]
    label_rows(rows, [FirstPoint({ETA: 0.3}, "default")])
    path = leaderboard.plot(rows, str(tmp_path), "valid_logloss", "min", 9)
    assert path.endswith("tuning.png") and (tmp_path / "tuning.png").stat().st_size > 0
