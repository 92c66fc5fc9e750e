"""Tuning over a DeepSpeed training job: each trial is a 2-worker ZeRO run of its own."""

from __future__ import annotations

from pathlib import Path

from ray_apps import load_model
from tuning import run_tuning


def test_trials_of_a_zero_job_are_two_worker_deepspeed_runs(ray_session):
    train = {
        "name": "t",
        "dataset": {"source": "sklearn:breast_cancer"},
        "model": {
            "kind": "torch",
            "class_path": "ray_apps.training.models:WideMLP",
            "params": {"width": 32, "depth": 2},
        },
        "hyperparameters": {"epochs": 2, "batch_size": 64},
        "scaling": {"strategy": {"kind": "deepspeed", "zero_stage": 2, "gradient_clipping": 1.0}},
        "checkpoint": {"every": 2, "keep": 1},
    }
    result = run_tuning(
        {
            "name": "zero-tune",
            "train": train,
            "search_space": {"hyperparameters.lr": {"type": "grid", "values": [0.003]}},
            "objective": {"metric": "val_loss", "mode": "min"},
            "strategy": {"searcher": "grid"},
            "budget": {"max_trials": 1, "max_concurrent": 1},
            "trial": {"workers": 2},
        }
    )
    rows = [r for r in result.leaderboard if r["source"] == "this job"]
    assert [r["config"]["hyperparameters.lr"] for r in rows] == [0.003]  # one trial: ~25 s
    assert all(r["status"] == "TERMINATED" and r["epochs"] == 2 for r in rows)
    for row in rows:  # each trial trained its own worker group under its trial folder
        assert (Path(row["path"]) / "train").is_dir()
    # The best trial's model is a plain fp32 artifact, like any training run's.
    assert load_model(result.artifact_path).info.class_path.endswith(":WideMLP")
    assert result.metrics["accuracy"] > 0.85
