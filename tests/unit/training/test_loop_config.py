"""The typed loop config: built once from the spec, frozen, picklable."""

import dataclasses
import pickle

import pytest

from ray_apps.learners.torch_learner import DEFAULT_MLP, TorchLoopSettings
from ray_apps.learners.xgboost_learner import XGBoostLoopSettings
from ray_apps.training import FaultPlan, MetricTarget

from .conftest import Job, train_spec


def test_torch_config_from_the_spec(torch_job):
    cfg = torch_job.config
    assert (cfg.task, cfg.unit, cfg.epochs, cfg.checkpoint_every, cfg.seed) == (
        "classification",
        "epoch",
        6,
        2,
        0,
    )
    assert (cfg.run_dir, cfg.inject, cfg.mlflow) == (None, None, None)
    own = cfg.learner
    assert isinstance(own, TorchLoopSettings)
    assert (own.class_path, own.model_params) == (DEFAULT_MLP, {"hidden_sizes": [16]})
    assert (own.n_features, own.n_outputs) == (4, 3)
    # the spec's defaults, declared once there
    assert (own.hyperparameters.batch_size, own.hyperparameters.optimizer) == (16, "adam")
    assert own.hyperparameters.weight_decay == 0.0


def test_xgboost_config_from_the_spec(xgboost_job):
    cfg = xgboost_job.config
    assert (cfg.unit, cfg.epochs) == ("round", 6)
    assert isinstance(cfg.learner, XGBoostLoopSettings)
    assert cfg.learner.params["objective"] == "binary:logistic"
    assert cfg.learner.params["max_depth"] == 2
    assert len(cfg.learner.features) == 30


def test_for_run_adds_the_run_and_survives_pickling():
    job = Job(
        train_spec(
            "xgboost",
            {"rounds": 3},
            failure={"inject": {"at_epoch": 2, "mode": "kill"}},
            scaling={"num_workers": 1},
        )
    )
    cfg = job.config.for_run(
        "/runs/x", FaultPlan.from_spec(job.spec.failure.inject), MetricTarget("sqlite:///m", "r1")
    )
    assert cfg.inject == FaultPlan(at_epoch=2, rank=0, mode="kill")
    assert cfg.mlflow == MetricTarget("sqlite:///m", "r1")
    assert pickle.loads(pickle.dumps(cfg)) == cfg
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.epochs = 9
