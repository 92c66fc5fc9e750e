"""The function every Tune trial runs: one training job with the trial's hyperparameters.

A one-worker trial runs the training loop right in the trial's actor (reused between trials),
reporting each epoch to Tune, so a trial costs no worker-group start-up. A trial with
``workers`` > 1 is a distributed Ray Train run of its own, whose reports Tune receives through
Ray's ``TuneReportCallback``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ray_apps.data import TabularData
from ray_apps.learners.strategies import get_strategy
from ray_apps.preprocess import Preprocessor
from ray_apps.spec import TrainJobSpec
from ray_apps.training import HealthWatch, LoopConfig, loop_config
from tuning.space import apply

CHECKPOINT_PATH_KEY = "checkpoint_path"  # where Ray's TuneReportCallback puts Train checkpoints


@dataclass(frozen=True)
class TrialContext:
    """What every trial shares: the base job, the split data, the fitted preprocessing."""

    base: TrainJobSpec
    data: TabularData
    pre: Preprocessor
    frames: dict[str, pd.DataFrame]
    workers: int
    every_epoch: bool  # a scheduler judges trials between epochs: report each one


STOPPED_KEY = "stopped_by_rule"  # the trial's last result names the rule that ended it


class TuneSession:
    """The training loops' session inside a one-process Tune trial."""

    rank = 0
    world_size = 1
    batch_factor = 1

    def __init__(self, frames: dict[str, pd.DataFrame], every_epoch: bool, health=None):
        self.frames = frames
        self.every_epoch = every_epoch
        # The job's health rules judge each trial on its own: a rule with action ``stop`` ends
        # this trial (Tune records why, the leaderboard shows it), not the experiment.
        self.health = HealthWatch(health, time.time()) if health is not None else None

    def frame(self, name: str) -> pd.DataFrame:
        return self.frames[name]

    def restore(self):
        import ray.tune

        return ray.tune.get_checkpoint()

    def started(self, start_epoch: int) -> None:
        pass

    def ended(self) -> None:
        pass

    def begin_epoch(self, epoch: int) -> None:
        pass

    def report(self, metrics: dict[str, Any], epoch: int, save: Callable[[str], None] | None):
        verdict = self.health.observe(metrics, epoch, time.time()) if self.health else None
        stop = verdict.stop if verdict is not None else None
        for fired in verdict.fired if verdict is not None else ():
            print(
                f"[raymaker] health: {fired.rule} fired at epoch {epoch}: "
                f"{fired.finding.message} → {', '.join(fired.actions)} (this trial)",
                flush=True,
            )
        if stop is not None:
            metrics = {**metrics, STOPPED_KEY: f"{stop.rule} at epoch {epoch}"}
            self._send(metrics, epoch, save if verdict.keeps_checkpoint else None)
            return True
        if save is None and not self.every_epoch:
            # Without a scheduler nobody reads the epochs in between, and each report costs
            # Tune ~8 ms (measured): more than an XGBoost round on small data.
            return False
        return self._send(metrics, epoch, save)

    def _send(self, metrics: dict[str, Any], epoch: int, save: Callable[[str], None] | None):
        """Hand the epoch to whoever runs the trial; True stops it (Tune stops its own)."""
        import ray.tune

        if save is None:
            ray.tune.report(metrics)
            return False
        with tempfile.TemporaryDirectory() as tmp:
            save(tmp)
            ray.tune.report(metrics, checkpoint=ray.tune.Checkpoint.from_directory(tmp))
        return False

    def prepare_model(self, model):
        return model

    def device(self):
        import torch

        return torch.device("cpu")


def run_trial(config: dict[str, Any], ctx: TrialContext) -> None:
    """Tune's trainable: train ``ctx.base`` with ``config`` applied."""
    spec = apply(ctx.base, config)
    loop_cfg = loop_config(spec, ctx.data, ctx.pre)
    strategy = get_strategy(spec.scaling.strategy.kind)
    if ctx.workers == 1 and not strategy.needs_process_group:
        train_loop = spec.model.learner.loop_function()
        train_loop(loop_cfg, TuneSession(ctx.frames, ctx.every_epoch, loop_cfg.health))
        return
    _run_distributed(spec, loop_cfg, ctx)


def _run_distributed(spec: TrainJobSpec, loop_cfg: LoopConfig, ctx: TrialContext) -> None:
    import ray.train
    import ray.tune
    from ray.tune.integration.ray_train import TuneReportCallback

    from ray_apps.training import build_trainer, fit_trainer

    trial_dir = ray.tune.get_context().get_trial_dir()
    spec = spec.model_copy(
        update={"scaling": spec.scaling.model_copy(update={"num_workers": ctx.workers})}
    )
    run_config = ray.train.RunConfig(
        name="train",
        storage_path=trial_dir,
        callbacks=[TuneReportCallback()],
        checkpoint_config=ray.train.CheckpointConfig(num_to_keep=1),
        logging_config=ray.train.LoggingConfig(log_level="WARNING"),
    )
    config = loop_cfg.for_run(f"{trial_dir}/train", inject=None, mlflow=None)
    fit_trainer(build_trainer(spec, config, ctx.frames, run_config), spec)
