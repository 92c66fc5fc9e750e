import pytest

from ray_apps.errors import SpecError
from ray_apps.learners.torch_learner import TorchHyperparameters
from ray_apps.learners.xgboost_learner import XGBoostHyperparameters
from ray_apps.spec import TrainJobSpec, load_train_spec, parse_spec

BASE = {"name": "job", "dataset": {"source": "sklearn:iris"}, "model": {"kind": "torch"}}


def spec(**overrides):
    return parse_spec(TrainJobSpec, {**BASE, "hyperparameters": {"epochs": 3}, **overrides})


def test_hyperparameters_follow_model_kind():
    assert isinstance(spec().hyperparameters, TorchHyperparameters)
    xgb = spec(model={"kind": "xgboost"}, hyperparameters={"rounds": 7, "params": {"eta": 0.1}})
    assert isinstance(xgb.hyperparameters, XGBoostHyperparameters)
    assert xgb.epochs == 7
    assert xgb.hyperparameters.params == {"eta": 0.1}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"model": {"kind": "tensorflow"}}, "model.kind: Input should be 'torch' or 'xgboost'"),
        ({"scaling": {"num_workers": 0}}, "scaling.num_workers"),
        ({"scaling": {"workers": 2}}, "scaling.workers: unknown field"),
        ({"hyperparameters": {"epochs": 3, "lr": -1}}, "hyperparameters.lr"),
        ({"hyperparameters": {"rounds": 3}}, "hyperparameters.rounds: unknown field"),
        ({"failure": {"inject": {"at_epoch": 9}}}, "failure.inject.at_epoch 9 is past"),
        ({"failure": {"inject": {"at_epoch": 1, "rank": 5}}}, "failure.inject.rank 5"),
        ({"failure": {"inject": {"at_epoch": 1, "mode": "explode"}}}, "'hang' or 'slow'"),
        ({"failure": {"inject": {"at_epoch": 1, "mode": "hang"}}}, "sleeps: give delay_s"),
        (
            {"failure": {"inject": {"at_epoch": 1, "delay_s": 2}}},
            "failure.inject.delay_s is for modes hang and slow, not raise",
        ),
        (
            {
                "model": {"kind": "xgboost"},
                "hyperparameters": {"rounds": 3},
                "failure": {"inject": {"at_epoch": 1, "mode": "slow", "delay_s": 1}},
            },
            "model.kind xgboost has none: use mode hang",
        ),
        (
            {
                "failure": {
                    "inject": {"at_epoch": 1, "mode": "slow", "delay_s": 1, "at": "checkpoint"}
                }
            },
            "failure.inject.at checkpoint fires once",
        ),
        (
            {
                "checkpoint": {"every": 2},
                "failure": {"inject": {"at_epoch": 1, "at": "checkpoint"}},
            },
            "epoch/round 1 writes no checkpoint (checkpoint.every is 2)",
        ),
        (
            {"failure": {"inject": {"at_epoch": 1, "at": "step"}}},
            "failure.inject.at: Input should be",
        ),
        ({"dataset": {"source": "a.csv", "split": {"valid": 0.5, "test": 0.5}}}, "split"),
        ({"name": "bad name!"}, "name"),
        (
            {"scaling": {"num_workers": 2, "min_workers": 3}},
            "scaling: min_workers 3 is above num_workers 2",
        ),
        (
            {"scaling": {"min_workers": 1, "strategy": {"kind": "deepspeed"}}},
            "scaling.strategy deepspeed shards them",
        ),
        (
            {"model": {"kind": "xgboost"}, "hyperparameters": {}, "scaling": {"min_workers": 1}},
            "scaling.min_workers (elastic training) trains torch models",
        ),
        (
            {"model": {"kind": "xgboost", "class_path": "a:B"}, "hyperparameters": {}},
            "class_path applies to kind 'torch'",
        ),
    ],
)
def test_bad_specs_name_the_field(overrides, expected):
    with pytest.raises(SpecError, match=None) as info:
        spec(**overrides)
    assert expected in str(info.value)


def test_min_workers_makes_the_run_elastic_between_min_and_num_workers():
    assert spec(scaling={"num_workers": 3}).scaling.workers == 3
    assert spec(scaling={"num_workers": 3, "min_workers": 1}).scaling.workers == (1, 3)
    assert spec(scaling={"num_workers": 2, "min_workers": 2}).scaling.workers == 2  # not elastic


def test_yaml_errors_name_the_file(tmp_path):
    bad = tmp_path / "job.yaml"
    bad.write_text(
        "name: x\ndataset: {source: sklearn:iris}\nmodel: {kind: torch}\n"
        "hyperparameters: {epochs: 2, batch: 3}\n"
    )
    with pytest.raises(SpecError) as info:
        load_train_spec(bad)
    assert str(bad) in str(info.value)
    assert "hyperparameters.batch: unknown field" in str(info.value)
    with pytest.raises(SpecError, match="does not exist"):
        load_train_spec(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(SpecError, match="YAML mapping"):
        load_train_spec(tmp_path / "list.yaml")


def test_examples_are_valid():
    from pathlib import Path

    for path in Path("examples").glob("train_*.yaml"):
        assert load_train_spec(path).name
