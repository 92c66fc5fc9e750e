"""Training in this process: the same loop, checkpoints, run log and metrics, no worker group.

``ray_apps.training.placement`` sends a job here when one CPU process can run it. The loop is
the learner's own (``loop_function``), given a :class:`LocalSession` in place of a Ray Train
worker's. Checkpoints land in the run folder under the names Ray Train would give them
(``checkpoint_epoch_000010``), so ``raymaker train --resume`` and the artifact read them the
same way; a failed attempt restarts from the newest one, up to ``failure.max_failures`` times.
"""

from __future__ import annotations

import signal
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import fsspec
import pandas as pd

from ray_apps.errors import TrainingError
from ray_apps.spec import TrainJobSpec
from ray_apps.training.checkpoints import checkpoint_name
from ray_apps.training.loop_config import LoopConfig
from ray_apps.training.session import (
    act_on_health,
    announce_resume,
    check_health,
    health_watch,
    log_epoch,
    resume_health,
    start_clock,
)


class LocalSession:
    """The training loops' session when the job runs in this process."""

    rank = 0
    world_size = 1

    def __init__(
        self, config: LoopConfig, frames: dict[str, pd.DataFrame], keep: int, batch_factor: int
    ):
        from ray_apps.training.run_log import RunLog
        from ray_apps.training.tracking_sink import MetricSink

        self.config, self.frames, self.keep = config, frames, keep
        self.batch_factor = batch_factor
        self.unit = config.unit
        self.run_log = RunLog(config.run_dir)
        self.sink = MetricSink(config.mlflow)
        self._fs, self._root = fsspec.core.url_to_fs(config.run_dir)
        self.health = health_watch(config)
        # A clock rule's stop: set by the clock's thread; it interrupts the loop when the loop
        # runs in the main thread (a CLI, a notebook), else the loop ends at its next report.
        self.stopped_by_clock = False
        self._main = threading.main_thread()
        self._in_main = threading.current_thread() is self._main
        # Ctrl-C (and a clock rule's stop) raise KeyboardInterrupt during the run: Ray Train's
        # fit() leaves its own SIGINT handler behind (aborting a controller long gone), so an
        # earlier worker-group run in this process (a notebook, a test session) would have it.
        self._sigint = None
        if self._in_main:
            self._sigint = signal.signal(signal.SIGINT, signal.default_int_handler)
        self._clock = start_clock(self)

    def frame(self, name: str) -> pd.DataFrame:
        return self.frames[name]

    def restore(self):
        recorded = self.run_log.last_checkpoint()
        return None if recorded is None else self._checkpoint(recorded["name"])

    def started(self, start_epoch: int) -> bool:
        if self.stopped_by_clock:
            return True
        resume_health(self.health, self.run_log, start_epoch)
        self.run_log.attempt_started(start_epoch, 1)
        announce_resume(self.unit, start_epoch, 1)
        return False

    def ended(self) -> None:
        pass  # the clock runs across attempts; fit_local closes it

    def close(self) -> None:
        if self._clock is not None:
            self._clock.close()
        if self._sigint is not None:
            signal.signal(signal.SIGINT, self._sigint)
            self._sigint = None

    def stop_on_clock(self) -> None:
        self.stopped_by_clock = True
        # A real SIGINT to the main thread (``_thread.interrupt_main`` only sets a flag, which a
        # blocking call such as a sleep never looks at): Python's handler raises
        # KeyboardInterrupt where the loop is, and fit_local ends the run. Not when SIGINT
        # has another handler (set since this run began: the loop ends at its next report).
        if self._in_main and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.pthread_kill(self._main.ident, signal.SIGINT)

    def begin_epoch(self, epoch: int) -> None:
        from ray_apps.training.faults import maybe_fail

        # Only ``hang`` gets here: placement sends the other drills to a worker group.
        maybe_fail(self.config.inject, epoch, self.rank, self.run_log)

    def report(
        self, metrics: dict[str, Any], epoch: int, save: Callable[[str], bool] | None
    ) -> bool:
        verdict = check_health(self.health, metrics, epoch)
        if not verdict.keeps_checkpoint:  # stopped on a bad state: keep the checkpoint before
            save = None
        t0, saved_s = time.perf_counter(), None
        if save is not None:
            from ray_apps.training.faults import maybe_fail

            maybe_fail(self.config.inject, epoch, self.rank, self.run_log, at="checkpoint")
            saved_s = self._save(epoch, save)
        log_epoch(self, metrics, epoch, time.perf_counter() - t0 - (saved_s or 0.0), saved_s)
        return act_on_health(self, verdict, epoch) or self.stopped_by_clock

    def prepare_model(self, model):
        return model

    def device(self):
        import torch

        return torch.device("cpu")

    def _save(self, epoch: int, save: Callable[[str], bool]) -> float:
        """Write epoch ``epoch``'s checkpoint; returns the seconds ``save`` took (the rest,
        copying it into the run folder, is the local run's "report")."""
        name = checkpoint_name(epoch)
        with tempfile.TemporaryDirectory(prefix="raymaker-ckpt-") as tmp:
            t0 = time.perf_counter()
            save(tmp)
            saved_s = time.perf_counter() - t0
            target = f"{self._root}/{name}"
            if self._fs.exists(target):  # a restarted attempt writes the epoch again
                self._fs.rm(target, recursive=True)
            self._fs.put(f"{tmp}/", target, recursive=True)
        self.run_log.checkpoint_saved(epoch, name)  # recorded once the files are there
        self._prune(name)
        return saved_s

    def _prune(self, newest: str) -> None:
        """Keep the newest ``checkpoint.keep`` checkpoints, as Ray Train's CheckpointConfig."""
        names = sorted(
            p.rstrip("/").rsplit("/", 1)[-1]
            for p in self._fs.ls(self._root, detail=False)
            if p.rstrip("/").rsplit("/", 1)[-1].startswith(newest.rsplit("_", 1)[0] + "_")
        )
        for old in names[: -self.keep]:
            self._fs.rm(f"{self._root}/{old}", recursive=True)

    def _checkpoint(self, name: str):
        from ray.train import Checkpoint

        return Checkpoint(f"{self.config.run_dir}/{name}")


def fit_local(spec: TrainJobSpec, config: LoopConfig, frames: dict[str, pd.DataFrame]):
    """Run the loop here; returns the final checkpoint (a ``ray.train.Checkpoint``; after a
    health rule's stop, the last good one, or None: the run log says ``stopped_by_rule``)."""
    session = LocalSession(config, frames, spec.checkpoint.keep, spec.scaling.num_workers)
    loop = spec.model.learner.loop_function()
    allowed = spec.failure.max_failures
    try:
        _attempts(loop, config, session, allowed)
    finally:
        session.close()
    checkpoint = session.restore()
    if checkpoint is None and session.run_log.state() is None:  # a stopped run may have none
        raise TrainingError(f"training run {config.run_dir} ended without a checkpoint")
    return checkpoint


def _attempts(loop, config: LoopConfig, session: LocalSession, allowed: int) -> None:
    for attempt in range(allowed + 1):
        try:
            loop(config, session)
            break
        except KeyboardInterrupt:
            if not session.stopped_by_clock:
                raise  # the user's Ctrl-C
            break  # a clock rule stopped the run (the run log says so)
        except Exception as err:  # a restart from the newest checkpoint, as Ray Train does
            if attempt == allowed:
                name = config.run_dir.rstrip("/").rsplit("/", 1)[-1]
                raise TrainingError(
                    f"training run {name} failed after {allowed} restart(s) allowed by "
                    f"failure.max_failures: {type(err).__name__}: {err}. Fix the cause, then "
                    f"continue it with `raymaker train --resume {name}`"
                ) from err
            print(
                f"[raymaker] attempt {attempt + 1} failed ({type(err).__name__}: {err}); "
                f"restarting from the newest checkpoint ({attempt + 1}/{allowed})",
                flush=True,
            )
