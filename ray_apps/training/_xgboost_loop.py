"""The distributed XGBoost loop that every Ray Train worker runs.

Ray Train's XGBoost backend connects the workers' collective; each worker builds a DMatrix
from its Ray Data shard and ``xgboost.train`` boosts one shared model. Rank 0 checkpoints
the booster every ``checkpoint_every`` rounds; a restart continues from it with the remaining
rounds, so the final model has exactly ``rounds`` trees either way.
"""

from __future__ import annotations

import os
import time
from typing import Any

import ray.train
import xgboost as xgb

from ray_apps.training.checkpoints import newest_checkpoint, report
from ray_apps.training.faults import maybe_fail
from ray_apps.training.run_log import RunLog
from ray_apps.training.tracking_sink import MetricSink

MODEL_FILE = "model.ubj"


def _dmatrix(name: str, features: list[str]) -> xgb.DMatrix:
    frame = ray.train.get_dataset_shard(name).materialize().to_pandas()
    return xgb.DMatrix(frame[features], label=frame["__y"], feature_names=features)


class _Reporter(xgb.callback.TrainingCallback):
    """Per round: fault injection, then report metrics (and a checkpoint when due)."""

    def __init__(self, config: dict[str, Any], rank: int, run_log: RunLog, done: int):
        super().__init__()
        self.config, self.rank, self.run_log, self.done = config, rank, run_log, done
        self.sink = MetricSink(config.get("mlflow")) if rank == 0 else None
        self._t0 = time.perf_counter()

    def before_iteration(self, model: xgb.Booster, epoch: int, evals_log: dict) -> bool:
        maybe_fail(self.config.get("inject"), self.done + epoch + 1, self.rank, self.run_log)
        self._t0 = time.perf_counter()
        return False

    def after_iteration(self, model: xgb.Booster, epoch: int, evals_log: dict) -> bool:
        rnd = self.done + epoch + 1  # xgboost counts each train() call's rounds from 0
        metrics: dict[str, float] = {"epoch": rnd, "epoch_time_s": time.perf_counter() - self._t0}
        for data_name, per_metric in evals_log.items():
            for metric_name, values in per_metric.items():
                metrics[f"{data_name}_{metric_name}"] = float(values[-1])
        t1 = time.perf_counter()
        save = rnd % self.config["checkpoint_every"] == 0 or rnd == self.config["rounds"]
        save_model = (
            (lambda folder: model.save_model(os.path.join(folder, MODEL_FILE))) if save else None
        )
        report(metrics, rnd, self.rank, self.run_log, save_model)
        if self.rank == 0:
            metrics["report_time_s"] = time.perf_counter() - t1  # with the checkpoint upload
            metrics["checkpointed"] = float(save)
            self.run_log.epoch_done(rnd, metrics)
            self.sink.log(metrics, step=rnd)
            print(
                f"[raymaker] round {rnd}/{self.config['rounds']} "
                + " ".join(f"{k}={v:.4g}" for k, v in metrics.items() if k != "epoch"),
                flush=True,
            )
        return False


def train_loop(config: dict[str, Any]) -> dict[str, Any]:
    rank = ray.train.get_context().get_world_rank()
    run_log = RunLog(config["run_dir"])
    features = config["features"]
    dtrain, dvalid = _dmatrix("train", features), _dmatrix("valid", features)

    booster, done = None, 0
    checkpoint = newest_checkpoint(run_log)
    if checkpoint:
        with checkpoint.as_directory() as d:
            booster = xgb.Booster()
            booster.load_model(os.path.join(d, MODEL_FILE))
        done = booster.num_boosted_rounds()
    if rank == 0:
        run_log.attempt_started(done + 1)
        if done:
            print(f"[raymaker] resumed from checkpoint: continuing at round {done + 1}", flush=True)
    remaining = config["rounds"] - done
    if remaining > 0:
        xgb.train(
            config["params"],
            dtrain,
            num_boost_round=remaining,
            evals=[(dvalid, "valid")],
            xgb_model=booster,
            callbacks=[_Reporter(config, rank, run_log, done)],
            verbose_eval=False,
        )
    return {"rank": rank, "start_epoch": done + 1}
