"""The distributed XGBoost loop that every Ray Train worker (or a Tune trial) runs.

Ray Train's XGBoost backend connects the workers' collective; each worker builds a DMatrix
from its shard and ``xgboost.train`` boosts one shared model. A checkpoint (the booster) is
written every ``checkpoint_every`` rounds and at the end; a restart continues from it with the
remaining rounds, so the final model has exactly ``rounds`` trees either way.

With a ``health:`` section each round also reports the train metric, ``train_loss`` /
``val_loss`` (the first lower-is-better metric of each), and the round time of every worker;
a report that says a health rule stopped the run ends the boosting after that round.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import numpy as np
import xgboost as xgb

from ray_apps.learners.xgboost_learner import read_booster, write_booster
from ray_apps.training.loop_config import LoopConfig
from ray_apps.training.session import RayTrainSession, Session

METRICS_FILE = "metrics.json"


def _dmatrix(frame, features: list[str]) -> xgb.DMatrix:
    return xgb.DMatrix(frame[features], label=frame["__y"], feature_names=features)


class _Reporter(xgb.callback.TrainingCallback):
    """Per round: the session's epoch hook, then report metrics (and a checkpoint when due)."""

    def __init__(self, config: LoopConfig, session: Session, done: int):
        super().__init__()
        self.config, self.session, self.done = config, session, done
        self._t0 = time.perf_counter()

    def before_iteration(self, model: xgb.Booster, epoch: int, evals_log: dict) -> bool:
        self.session.begin_epoch(self.done + epoch + 1)
        self._t0 = time.perf_counter()
        return False

    def after_iteration(self, model: xgb.Booster, epoch: int, evals_log: dict) -> bool:
        rnd = self.done + epoch + 1  # xgboost counts each train() call's rounds from 0
        metrics: dict[str, float] = {"epoch": rnd, "epoch_time_s": time.perf_counter() - self._t0}
        for data_name, per_metric in evals_log.items():
            for metric_name, values in per_metric.items():
                metrics[f"{data_name}_{metric_name}"] = float(values[-1])
        if self.config.health is not None:
            metrics.update(_health_signals(metrics, evals_log))
        save = rnd % self.config.checkpoint_every == 0 or rnd == self.config.epochs

        def save_model(folder: str) -> bool:
            if self.session.rank != 0:  # every rank holds the same booster: one copy
                return False
            write_booster(model, folder)
            with open(os.path.join(folder, METRICS_FILE), "w") as f:
                json.dump(metrics, f)
            return True

        # True ends xgboost.train: a health rule stopped the run (every rank hears the same).
        return bool(self.session.report(metrics, rnd, save_model if save else None))


# Lower-is-better evaluation metrics: the first of these that a round reports is its
# ``train_loss`` / ``val_loss``, the names the health rules read by default.
_LOSSES = ("logloss", "mlogloss", "rmse", "mae", "rmsle", "mape", "error", "merror")


def _health_signals(metrics: dict[str, float], evals_log: dict) -> dict[str, float]:
    """The round's loss under the health rules' names, and the round time every rank shares.

    Eval metrics are already global (xgboost reduces them over the workers); a round's time is
    each worker's own, so it is gathered: ``epoch_time_s`` becomes the slowest worker's, and
    ``rank<r>_step_time_s`` each worker's (several workers only), so every rank judges alike."""
    out: dict[str, float] = {}
    for data_name, name in (("train", "train_loss"), ("valid", "val_loss")):
        loss = next((m for m in evals_log.get(data_name, {}) if m in _LOSSES), None)
        if loss is not None:
            out[name] = metrics[f"{data_name}_{loss}"]
    world = xgb.collective.get_world_size() if xgb.collective.is_distributed() else 1
    if world > 1:
        mine = np.zeros(world)
        mine[xgb.collective.get_rank()] = metrics["epoch_time_s"]
        times = xgb.collective.allreduce(mine, xgb.collective.Op.SUM)
        out["epoch_time_s"] = float(times.max())
        out.update({f"rank{r}_step_time_s": float(t) for r, t in enumerate(times)})
    return out


def train_loop(config: LoopConfig, session: Session | None = None) -> dict[str, Any]:
    session = session or RayTrainSession(config)
    features = list(config.learner.features)
    dtrain = _dmatrix(session.frame("train"), features)
    dvalid = _dmatrix(session.frame("valid"), features)

    booster, done, last_metrics = None, 0, None
    checkpoint = session.restore()
    if checkpoint:
        with checkpoint.as_directory() as d:
            booster = read_booster(d)
            if os.path.exists(os.path.join(d, METRICS_FILE)):
                with open(os.path.join(d, METRICS_FILE)) as f:
                    last_metrics = json.load(f)
        done = booster.num_boosted_rounds()
    if session.started(done + 1):
        return {"rank": session.rank, "start_epoch": done + 1}  # stopped by a health rule
    remaining = config.epochs - done
    evals = [(dvalid, "valid")]
    if config.health is not None:  # the train metric too (overfit, overtraining read it)
        evals.insert(0, (dtrain, "train"))
    if remaining > 0:
        xgb.train(
            config.learner.params,
            dtrain,
            num_boost_round=remaining,
            evals=evals,
            xgb_model=booster,
            callbacks=[_Reporter(config, session, done)],
            verbose_eval=False,
        )
    elif last_metrics:
        # Restored from the final checkpoint (the job stopped right after it): report the
        # final result again, so the caller sees the finished round and not an older one.
        session.report(last_metrics, done, None)
    session.ended()
    return {"rank": session.rank, "start_epoch": done + 1}
