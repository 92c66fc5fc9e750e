"""Where a training loop runs: the few calls a loop makes, for Ray Train and for Ray Tune.

The PyTorch and XGBoost loops are written once against :class:`Session`. Inside a Ray Train
worker group they get :class:`RayTrainSession` (its rows of the tables, DDP, checkpoints on run
storage, the run log, live MLflow metrics and fault injection). A single-process Tune trial
gets the tuning package's session instead, which reports to Tune and skips all of that, so a
trial costs no worker group start-up.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from ray_apps.training.health import HealthWatch, Verdict
    from ray_apps.training.health.watchdog import ClockWatch
    from ray_apps.training.loop_config import LoopConfig
    from ray_apps.training.run_log import RunLog

_PER_RANK = re.compile(r"^rank\d+_")


class Session(Protocol):
    rank: int
    world_size: int
    # Workers' batches one step takes: 1, or N for a local run standing in for N workers
    # (its step then sees the data-parallel group's global batch).
    batch_factor: int

    def frame(self, name: str) -> pd.DataFrame:
        """This worker's share of the ``train`` or ``valid`` split (features + ``__y``)."""

    def restore(self):
        """The checkpoint to resume from (a ``ray.train.Checkpoint``), or None."""

    def started(self, start_epoch: int) -> bool | None:
        """The loop is about to run from ``start_epoch``; True: a health rule stopped the run
        already, and the loop ends at once."""

    def ended(self) -> None:
        """The loop has ended (its last report made)."""

    def begin_epoch(self, epoch: int) -> None:
        """Called before each epoch / round (fault injection hooks in here)."""

    def report(
        self, metrics: dict[str, Any], epoch: int, save: Callable[[str], bool] | None
    ) -> bool | None:
        """Report one epoch's metrics; ``save(folder)`` writes a checkpoint when given (on
        every rank; it returns whether this rank wrote files). True: a health rule stopped the
        run, and the loop ends after this epoch (every rank gets the same answer)."""

    def prepare_model(self, model):
        """Wrap the model for data-parallel training (identity for one process)."""

    def device(self):
        """The torch device to train on."""


def _quiet_per_report_log() -> None:
    """Drop Ray Train's INFO line per report ("Reporting training result N: ...").

    Ray 2.60 names that logger by file path, not ``ray.train.…``, so ``LoggingConfig``'s level
    filter misses it and every epoch printed a long line beside ours.
    """
    import logging

    from ray.train.v2._internal.execution import context

    logging.getLogger(context.__file__).setLevel(logging.WARNING)


def log_epoch(
    session, metrics: dict[str, Any], epoch: int, report_s: float, saved_s: float | None
) -> None:
    """One finished epoch into the run log, MLflow and the console (rank 0 only).

    ``saved_s``: seconds spent writing this epoch's checkpoint (None: no checkpoint);
    ``report_s``: seconds spent handing it (and the metrics) on, upload included."""
    metrics = {**metrics, "report_time_s": report_s, "checkpointed": saved_s is not None}
    if saved_s is not None:
        metrics["checkpoint_time_s"] = saved_s
    session.run_log.epoch_done(epoch, metrics)
    session.sink.log(metrics, step=epoch)
    # Per-rank figures go to MLflow and the run log, not to every progress line.
    shown = " ".join(
        f"{k}={v:.4g}"
        for k, v in metrics.items()
        if k != "epoch" and "_bytes" not in k and not _PER_RANK.match(k)
    )
    print(f"[raymaker] {session.unit} {epoch}/{session.config.epochs} {shown}", flush=True)


def health_watch(config: LoopConfig) -> HealthWatch | None:
    """The run's health watch (on every rank), or None when the job has no ``health:``."""
    if config.health is None:
        return None
    from ray_apps.training.health import HealthWatch

    return HealthWatch(config.health, time.time())


def resume_health(watch: HealthWatch | None, run_log: RunLog, start_epoch: int) -> None:
    """Give the watch the epochs before ``start_epoch`` and the rules that fired in them, so a
    restarted or resumed run judges its whole history (every rank reads the same run log)."""
    if watch is not None and start_epoch > 1:
        earlier = [row for row in run_log.history() if row["epoch"] < start_epoch]
        watch.resume(earlier, run_log.health_findings())


def check_health(watch: HealthWatch | None, metrics: dict[str, Any], epoch: int) -> Verdict:
    """The rules' verdict on this epoch, the same on every rank (they see the same numbers)."""
    from ray_apps.training.health import NO_VERDICT

    return NO_VERDICT if watch is None else watch.observe(metrics, epoch, time.time())


def act_on_health(session, verdict: Verdict, epoch: int) -> bool:
    """Rank 0 carries out the verdict's actions; every rank learns whether to stop."""
    if verdict.fired and session.rank == 0:
        from ray_apps.training.health.actions import act

        act(
            verdict,
            epoch,
            spec=session.config.health,
            run_log=session.run_log,
            sink=session.sink,
            unit=session.unit,
        )
    return verdict.stop is not None


def start_clock(session) -> ClockWatch | None:
    """Rank 0's thread for the clock rules (``stalled``, ``max_initialization_time``), or None
    when the job has none: it acts as a report would, then ``session.stop_on_clock()`` ends a
    run whose rule says stop."""
    watch = session.health
    if watch is None or session.rank != 0:
        return None
    from ray_apps.training.health.watchdog import ClockWatch, tick_period

    period = tick_period(watch.spec)
    if period is None:
        return None

    def fired(verdict: Verdict) -> None:
        if act_on_health(session, verdict, watch.last_epoch):
            session.stop_on_clock()

    return ClockWatch(watch, fired, period).start()


def stopped_before(run_log: RunLog) -> bool:
    """Whether a health rule stopped this run before this attempt started (a clock rule's stop
    on a worker group restarts the group; every rank reads the same run log and ends)."""
    state = run_log.state()
    return state is not None and state.get("state") == "stopped_by_rule"


def rank_rows(table: pd.DataFrame, rank: int, world_size: int) -> pd.DataFrame:
    """Rank ``rank``'s contiguous share of ``table`` (sizes differ by at most one row)."""
    bounds = np.linspace(0, len(table), world_size + 1).astype(int)
    return table.iloc[bounds[rank] : bounds[rank + 1]].reset_index(drop=True)


def announce_resume(unit: str, start_epoch: int, world_size: int) -> None:
    if start_epoch > 1:
        workers = f"{world_size} worker{'s' if world_size > 1 else ''}"
        print(
            f"[raymaker] resumed from checkpoint: continuing at {unit} {start_epoch} on {workers}",
            flush=True,
        )


class RayTrainSession:
    """A Ray Train worker: its rank, its rows of the tables, and checkpoints on run storage."""

    def __init__(self, config: LoopConfig):
        import ray.train

        from ray_apps.training.run_log import RunLog
        from ray_apps.training.tracking_sink import MetricSink

        _quiet_per_report_log()
        ctx = ray.train.get_context()
        self.rank = ctx.get_world_rank()
        self.world_size = ctx.get_world_size()
        self.batch_factor = 1
        self.config = config
        self.run_log = RunLog(config.run_dir)
        self.sink = MetricSink(config.mlflow) if self.rank == 0 else None
        self.unit = config.unit
        self.health = health_watch(config)
        self._clock = start_clock(self)

    def frame(self, name: str) -> pd.DataFrame:
        import ray

        return rank_rows(ray.get(self.config.frames[name]), self.rank, self.world_size)

    def restore(self):
        from ray_apps.training.checkpoints import newest_checkpoint

        return newest_checkpoint(self.run_log)

    def started(self, start_epoch: int) -> bool:
        """Ready to train from ``start_epoch``; True: a health rule stopped the run already
        (the loop ends at once, on every rank)."""
        if self.health is not None and stopped_before(self.run_log):
            self.ended()
            return True
        resume_health(self.health, self.run_log, start_epoch)
        if self.rank == 0:
            self.run_log.attempt_started(start_epoch, self.world_size)
            announce_resume(self.unit, start_epoch, self.world_size)
        return False

    def ended(self) -> None:
        if self._clock is not None:
            self._clock.close()

    def stop_on_clock(self) -> None:
        """A clock rule's stop on rank 0, whose peers may be stuck: rank 0 exits, Ray Train
        ends the group (and restarts it, if failures are left, to find the run stopped), and
        the driver reads the stop from the run log."""
        print(
            "[raymaker] health: ending the worker group so its workers are released",
            flush=True,
        )
        os._exit(1)

    def begin_epoch(self, epoch: int) -> None:
        from ray_apps.training.faults import maybe_fail

        maybe_fail(self.config.inject, epoch, self.rank, self.run_log)

    def report(
        self, metrics: dict[str, Any], epoch: int, save: Callable[[str], bool] | None
    ) -> bool:
        """Metrics go to the run log, MLflow and the console every epoch, from rank 0 itself;
        Ray Train hears of an epoch only with a checkpoint. A ``ray.train.report`` costs
        ~0.19 s here (a round trip to the controller, synchronised across ranks) against
        ~0.005 s for an XGBoost round, and nothing reads the metrics it carries: the run's
        result is its checkpoint. The decision is the epoch's (``save``), the same on every
        rank, so every rank still makes the same reports.

        The health rules run here on every rank before the checkpoint: the loops report the
        same numbers on every rank, so all agree whether to skip it and stop (rank 0 acts)."""
        from ray_apps.training.checkpoints import report
        from ray_apps.training.faults import maybe_fail

        verdict = check_health(self.health, metrics, epoch)
        if not verdict.keeps_checkpoint:
            save = None
        t0, saved_s = time.perf_counter(), None
        if save is not None:
            maybe_fail(self.config.inject, epoch, self.rank, self.run_log, at="checkpoint")
            saved_s = report(metrics, epoch, self.rank, self.run_log, save)
        if self.rank == 0:
            spent = time.perf_counter() - t0 - (saved_s or 0.0)
            log_epoch(self, metrics, epoch, spent, saved_s)
        return act_on_health(self, verdict, epoch)

    def prepare_model(self, model):
        import ray.train.torch

        if self.world_size == 1:
            return model.to(self.device())
        # Gradients as views into DDP's buckets: one copy of them per rank, not two.
        kwargs = {"gradient_as_bucket_view": True}
        return ray.train.torch.prepare_model(model, parallel_strategy_kwargs=kwargs)

    def device(self):
        import ray.train.torch

        return ray.train.torch.get_device()
