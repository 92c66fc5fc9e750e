"""Distributed training on Ray Train: PyTorch DDP and XGBoost, restartable from checkpoints.

``run_training(spec)`` is what the CLI, ``python -m ray_apps.train`` and notebooks call.
"""

from ray_apps.training.runner import TrainResult, run_training

__all__ = ["TrainResult", "run_training"]
