"""Deterministic fault injection: fail once at a chosen epoch, to prove restarts work; hang or
slow a rank, to prove the health rules see it (``failure.inject``)."""

from __future__ import annotations

import os
import signal
import time

from ray_apps.training.loop_config import FaultPlan
from ray_apps.training.run_log import RunLog


class InjectedFault(RuntimeError):
    """Raised by a worker on purpose (``failure.inject.mode: raise``)."""


def maybe_fail(
    inject: FaultPlan | None, epoch: int, rank: int, run_log: RunLog, at: str = "epoch"
) -> None:
    """Fail (or hang) if ``inject`` targets this point (``at`` the start of ``epoch``, or at
    its checkpoint) on this rank and has not fired in this run yet. ``slow`` acts in the loop,
    at every step (``FaultPlan.step_delay``)."""
    if not inject or inject.at_epoch != epoch or inject.rank != rank or inject.mode == "slow":
        return
    if inject.at != at:
        return
    if not run_log.claim_fault(epoch):
        return
    print(
        f"[raymaker] injecting a '{inject.mode}' fault on rank {rank} at epoch {epoch}"
        + (" (its checkpoint)" if at == "checkpoint" else ""),
        flush=True,
    )
    if inject.mode == "hang":
        time.sleep(inject.delay_s or 0.0)
        return
    if inject.mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    raise InjectedFault(f"injected fault at epoch {epoch} on rank {rank}")
