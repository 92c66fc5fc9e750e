"""Hyperparameter tuning on Ray Tune: searchers, early stopping, warm start and resume.

from tuning import run_tuning
result = run_tuning("examples/tune_xgboost.yaml")
result.leaderboard[0], result.best_config, result.artifact_path
"""

from tuning.runner import TuneResult, run_tuning
from tuning.spec import TuneJobSpec, load_tune_spec

__all__ = ["TuneJobSpec", "TuneResult", "load_tune_spec", "run_tuning"]
