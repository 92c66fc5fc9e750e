"""Checkpoints named by epoch, and finding the newest one after a restart.

Ray Train registers a reported checkpoint when its controller next polls the workers. A worker
or node lost between the upload and that poll loses the registration, and the restart then
resumes from an older checkpoint than the newest on storage (seen here: a worker killed right
after epoch 1's report restarted at epoch 1). So every checkpoint gets a name by epoch, rank 0
records it in the run log once the upload returns, and a restart takes whichever is newer: Ray's
registered one or the last recorded one.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable

import ray.train
from ray.train import Checkpoint

from ray_apps.training.run_log import RunLog

_PREFIX = "checkpoint_epoch_"


def checkpoint_name(epoch: int) -> str:
    """The folder of epoch ``epoch``'s checkpoint under the run folder."""
    return f"{_PREFIX}{epoch:06d}"


def _epoch_of(checkpoint: Checkpoint) -> int:
    name = checkpoint.path.rstrip("/").rsplit("/", 1)[-1]
    return int(name.removeprefix(_PREFIX)) if name.startswith(_PREFIX) else 0


def newest_checkpoint(run_log: RunLog) -> Checkpoint | None:
    """The newer of Ray's restored checkpoint and the last one rank 0 recorded as uploaded."""
    registered = ray.train.get_checkpoint()
    recorded = run_log.last_checkpoint()
    if recorded and (registered is None or recorded["epoch"] > _epoch_of(registered)):
        storage = ray.train.get_context().get_storage()
        return Checkpoint(
            f"{storage.experiment_fs_path}/{recorded['name']}", storage.storage_filesystem
        )
    return registered


def report(
    metrics: dict,
    epoch: int,
    rank: int,
    run_log: RunLog,
    save: Callable[[str], bool] | None,
) -> float:
    """Report ``metrics`` from every rank, with a checkpoint when ``save`` is given; returns
    the seconds ``save`` took (writing the checkpoint, not reporting it).

    Every rank calls ``save(folder)`` (a sharded strategy's save is collective); it writes this
    rank's checkpoint files into ``folder`` and says whether it wrote any. Ray uploads each
    rank's files into the one checkpoint folder named by epoch, so shards sit side by side.
    """
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint, t0 = None, time.perf_counter()
        if save is not None and save(tmp):
            checkpoint = Checkpoint.from_directory(tmp)
        saved_s = time.perf_counter() - t0
        name = checkpoint_name(epoch)
        ray.train.report(metrics, checkpoint=checkpoint, checkpoint_dir_name=name)
    if checkpoint is not None and rank == 0:
        run_log.checkpoint_saved(epoch, name)
    return saved_s
