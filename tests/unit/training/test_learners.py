"""The learner table, and each learner's contract: schema, defaults, weights round trip."""

import subprocess
import sys

import numpy as np
import pytest

from ray_apps.artifact import Model, load_model, write_artifact
from ray_apps.errors import SpecError
from ray_apps.learners import get_learner, learner_names
from ray_apps.learners.torch_learner import TorchHyperparameters
from ray_apps.learners.xgboost_learner import XGBoostHyperparameters
from ray_apps.training.job import model_info


def test_table_names_every_learner_and_rejects_others():
    assert learner_names() == ["torch", "xgboost"]
    torch_learner, xgb_learner = get_learner("torch"), get_learner("xgboost")
    assert (torch_learner.unit, torch_learner.standardises) == ("epoch", True)
    assert (xgb_learner.unit, xgb_learner.standardises) == ("round", False)
    assert torch_learner.hyperparameters is TorchHyperparameters
    assert xgb_learner.hyperparameters is XGBoostHyperparameters
    assert torch_learner.progress(TorchHyperparameters(epochs=4)) == 4
    assert xgb_learner.progress(XGBoostHyperparameters(rounds=7)) == 7
    with pytest.raises(SpecError, match="unknown learner kind 'lightgbm'.*torch, xgboost"):
        get_learner("lightgbm")


def test_importing_the_table_and_specs_imports_no_framework():
    code = (
        "import sys, ray_apps.learners, ray_apps.spec, ray_apps.learners.torch_learner, "
        "ray_apps.learners.xgboost_learner; "
        "print(sorted(m for m in ('torch', 'xgboost') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_defaults_by_dotted_path():
    xgb_learner, torch_learner = get_learner("xgboost"), get_learner("torch")
    assert xgb_learner.default("hyperparameters.params.max_depth") == 6
    assert xgb_learner.default("hyperparameters.params.eta") == 0.3
    assert xgb_learner.default("hyperparameters.params.min_child_weight") == 1
    assert xgb_learner.default("hyperparameters.rounds") == 50
    assert xgb_learner.default("hyperparameters.params.no_such_param") is None
    assert torch_learner.default("hyperparameters.lr") == 1e-3
    assert torch_learner.default("hyperparameters.weight_decay") == 0.0
    assert torch_learner.default("model.params.hidden_sizes") is None


def test_reported_metrics_follow_learner_and_task(torch_job, xgboost_job):
    assert get_learner("torch").reported_metrics(torch_job.spec, torch_job.data) == {
        "train_loss",
        "val_loss",
        "val_accuracy",
    }
    assert get_learner("xgboost").reported_metrics(xgboost_job.spec, xgboost_job.data) == {
        "valid_logloss"
    }


@pytest.mark.parametrize("job_name", ["torch_job", "xgboost_job"])
def test_weights_round_trip_through_an_artifact(job_name, request, tmp_path):
    """checkpoint → model → artifact → load_model: the same predictions."""
    from _memory_session import MemorySession

    job = request.getfixturevalue(job_name)
    learner = job.spec.model.learner
    session = MemorySession(job.frames, tmp_path / "run")
    learner.loop_function()(job.config, session)
    info = model_info(job.spec, job.data, job.pre)
    trained = Model(info, learner.from_checkpoint(session.checkpoints[-1], info))
    path = write_artifact(
        tmp_path / "artifact",
        info,
        trained.predictor,
        metrics={},
        job=job.spec.model_dump(mode="json"),
        lineage={},
        baseline=job.data.train,
    )
    loaded = load_model(path)
    assert loaded.info.kind == job.spec.model.kind
    np.testing.assert_allclose(
        loaded.predict_proba(job.data.test), trained.predict_proba(job.data.test)
    )
    assert (loaded.predict(job.data.test) == trained.predict(job.data.test)).all()
    x = job.data.test[info.feature_names].to_numpy()
    np.testing.assert_allclose(loaded.predict_matrix(x), trained.predict_matrix(x))
