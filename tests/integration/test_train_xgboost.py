"""Distributed XGBoost on real Ray Train, with a restart from its checkpoint."""

from ray_apps import load_model, run_training


def test_distributed_xgboost_resumes_and_keeps_every_round(ray_session):
    result = run_training(
        {
            "name": "xgb",
            "dataset": {"source": "sklearn:breast_cancer"},
            "model": {"kind": "xgboost"},
            "hyperparameters": {"rounds": 8, "params": {"max_depth": 3, "eta": 0.3}},
            "scaling": {"num_workers": 2},
            "checkpoint": {"every": 2, "keep": 2},
            "failure": {"inject": {"at_epoch": 6}},
        }
    )
    # Checkpoint after round 4; the fault at round 6 restarts from it at round 5.
    assert [a["start_epoch"] for a in result.attempts] == [1, 5]
    assert [h["epoch"] for h in result.history] == list(range(1, 9))
    assert result.history[-1]["valid_logloss"] < result.history[0]["valid_logloss"]
    model = load_model(result.artifact_path)
    assert model.predictor.num_boosted_rounds() == 8
    assert result.metrics["accuracy"] > 0.9
