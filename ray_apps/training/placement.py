"""Where a training job runs: in this process, or on a Ray Train worker group.

A Ray Train worker group costs 12–16 s to start here (controller, workers, dataset shards) and
a report round trip per checkpoint; an XGBoost job on a few thousand rows trains in well under
a second. A job that one CPU process can run — no GPU, no strategy that needs a process group,
not elastic, no worker-group fault drill, and one worker or training data small enough for one
process (``LOCAL_MAX_BYTES``) — runs in this process (``local``), with the same checkpoints, run
log, MLflow metrics, restarts from the last checkpoint and artifact — unless it joins a Ray
cluster (``RAY_ADDRESS``), whose workers should do the work. A local run standing in for N
workers takes N workers' batches per step, so the optimisation is the data-parallel one.
Everything else, or ``scaling.mode: distributed``, gets the worker group.

A pure decision of the spec; the runner prints ``Placement.line`` so the user sees which path
was taken and how to force the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ray_apps.errors import SpecError
from ray_apps.learners.strategies import get_strategy
from ray_apps.spec import TrainJobSpec

# Training data (preprocessed train split, in memory) one process takes on without a worker
# group: 64 MiB is ~100k rows of 80 float columns, where XGBoost and a small MLP train in
# seconds on every core of one process — less than a worker group takes to start.
LOCAL_MAX_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Placement:
    mode: Literal["local", "distributed"]
    why: str

    @property
    def line(self) -> str:
        if self.mode == "local":
            return (
                f"[raymaker] training in this process ({self.why}); scaling.mode: distributed "
                "for a Ray Train worker group"
            )
        return f"[raymaker] training on a Ray Train worker group ({self.why})"


def needs_worker_group(spec: TrainJobSpec) -> list[str]:
    """The settings of ``spec`` one process cannot honour, each named by its field."""
    scaling, why = spec.scaling, []
    if scaling.use_gpu:
        why.append("scaling.use_gpu")
    kind = scaling.strategy.kind
    if get_strategy(kind).needs_process_group:
        why.append(f"scaling.strategy {kind}")
    if scaling.min_workers is not None:
        why.append("scaling.min_workers (elastic)")
    if scaling.resources_per_worker:
        why.append("scaling.resources_per_worker")
    inject = spec.failure.inject
    if inject is not None and inject.mode != "hang":  # a hang is a sleep: one process can
        why.append("failure.inject (a worker-group fault drill)")
    return why


def choose_placement(
    spec: TrainJobSpec, *, on_cluster: bool = False, train_bytes: int | None = None
) -> Placement:
    """``local`` or ``distributed`` for ``spec``; SpecError when ``mode: local`` cannot be.

    ``train_bytes``: the in-memory size of the training split (None: unknown, so a job asking
    for several workers gets them). ``on_cluster``: the job joins a Ray cluster
    (``RAY_ADDRESS``, as under ``ray job submit``), where this process is the driver on the head
    node: ``auto`` then leaves the training to a worker group on the cluster's workers, where a
    Ray user expects it."""
    scaling = spec.scaling
    blockers = needs_worker_group(spec)
    if scaling.mode == "distributed":
        return Placement("distributed", "scaling.mode distributed")
    if scaling.mode == "local":
        if blockers:
            raise SpecError(
                f"scaling.mode local trains in one process, which cannot honour "
                f"{', '.join(blockers)}; use scaling.mode distributed (or auto)"
            )
        return Placement("local", "scaling.mode local")
    if on_cluster:
        return Placement("distributed", "joining the cluster at RAY_ADDRESS")
    if blockers:
        return Placement("distributed", f"{blockers[0]} needs one")
    workers = scaling.num_workers
    if workers == 1:
        return Placement("local", "one CPU worker: no worker group needed")
    if train_bytes is None or train_bytes > LOCAL_MAX_BYTES:
        size = "" if train_bytes is None else f", {_mib(train_bytes)} of training data"
        return Placement("distributed", f"scaling.num_workers {workers}{size}")
    return Placement(
        "local",
        f"{_mib(train_bytes)} of training data fit one process: {workers} workers' batches per "
        "step instead of a worker group",
    )


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"
