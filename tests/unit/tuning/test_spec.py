import pytest

from ray_apps.errors import SpecError
from tuning.spec import ParamSpec, load_tune_spec

TRAIN = {
    "name": "t",
    "dataset": {"source": "sklearn:breast_cancer"},
    "model": {"kind": "xgboost"},
    "hyperparameters": {"rounds": 9},
}


def job(**overrides):
    base = {
        "name": "tune",
        "train": TRAIN,
        "search_space": {
            "hyperparameters.params.eta": {"type": "loguniform", "low": 0.01, "high": 0.5}
        },
        "objective": {"metric": "valid_logloss", "mode": "min"},
    }
    return load_tune_spec(base | overrides)


def test_valid_job_and_train_file_reference(tmp_path):
    assert job().strategy.searcher == "random"
    (tmp_path / "train.yaml").write_text(
        "name: t\ndataset: {source: sklearn:iris}\nmodel: {kind: torch}\n"
        "hyperparameters: {epochs: 3}\n"
    )
    (tmp_path / "tune.yaml").write_text(
        "name: tune\ntrain: train.yaml\nobjective: {metric: val_loss, mode: min}\n"
        "search_space:\n  hyperparameters.lr: {type: loguniform, low: 0.001, high: 0.1}\n"
    )
    spec = load_tune_spec(tmp_path / "tune.yaml")
    assert spec.train.model.kind == "torch"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"strategy": {"searcher": "grid"}}, "searcher grid visits listed values only"),
        (
            {"search_space": {"hyperparameters.params.eta": {"type": "grid", "values": [0.1]}}},
            "type grid needs searcher grid",
        ),
        (
            {
                "strategy": {"searcher": "gp"},
                "search_space": {
                    "hyperparameters.params.max_depth": {"type": "randint", "low": 2, "high": 6}
                },
            },
            "searcher gp (Gaussian process) takes continuous ranges only",
        ),
        ({"strategy": {"searcher": "bayesian", "scheduler": "hyperband"}}, "use scheduler asha"),
        (
            {
                "train": TRAIN | {"hyperparameters": {"rounds": 1}},
                "strategy": {"scheduler": "asha"},
            },
            "reports once",
        ),
        ({"search_space": {"dataset.source": {"type": "choice", "values": ["a"]}}}, "not tunable"),
        (
            {"search_space": {"hyperparameters.lr": {"type": "uniform", "low": 1, "high": 0.5}}},
            "must be below high",
        ),
        ({"strategy": {"searcher": "smart"}}, "strategy.searcher"),
        ({"objective": {"metric": "x", "mode": "up"}}, "objective.mode"),
        ({"warm_start": {"mode": "identical", "parents": []}}, "warm_start.parents"),
        (
            {
                "train": TRAIN
                | {"model": {"kind": "torch"}, "hyperparameters": {"epochs": 2}}
                | {"scaling": {"min_workers": 1}},
                "search_space": {"hyperparameters.lr": {"type": "uniform", "low": 0.1, "high": 1}},
            },
            "train.scaling.min_workers: a trial has a fixed size",
        ),
    ],
)
def test_bad_tuning_specs_name_the_problem(overrides, message):
    with pytest.raises(SpecError) as info:
        job(**overrides)
    assert message in str(info.value)


def test_clip_keeps_values_inside_the_space():
    assert ParamSpec(type="uniform", low=0.1, high=0.5).clip(0.9) == 0.5
    assert ParamSpec(type="randint", low=2, high=6).clip(9) == 5  # high is exclusive
    assert ParamSpec(type="quniform", low=1, high=8, q=2).clip(3.1) == 4
    with pytest.raises(ValueError, match="not one of"):
        ParamSpec(type="choice", values=["a", "b"]).clip("c")


def test_unreported_metric_and_oversized_grid_fail_before_ray_starts():
    from tuning import run_tuning

    # tests/unit refuses ray.init: these errors come before any trial is scheduled.
    with pytest.raises(SpecError, match=r"never reported .* it reports \['valid_logloss'\]"):
        run_tuning(job(objective={"metric": "val_loss", "mode": "min"}))
    grid = {"hyperparameters.params.eta": {"type": "grid", "values": [0.1, 0.2, 0.3]}}
    with pytest.raises(SpecError, match="the grid has 3 points but budget.max_trials is 2"):
        run_tuning(job(search_space=grid, strategy={"searcher": "grid"}, budget={"max_trials": 2}))
