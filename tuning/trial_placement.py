"""Where a tuning job's trials run: in this process, one after another, or on Ray Tune.

A Ray Tune trial costs 0.2–0.4 s of bookkeeping here, more than an XGBoost fit on a few
thousand rows; trials of one worker on training data one process holds
(``LOCAL_MAX_BYTES``, as for a training job) run here (``local``: tuning/local_trials.py),
with the same leaderboard, MLflow runs, best-model artifact and resume — unless the job joins
a Ray cluster (``RAY_ADDRESS``), whose workers should do the work, or asks for a searcher,
scheduler or trial size only Ray Tune runs. ``trial.mode`` forces either.

A pure decision of the spec; the runner prints ``TrialPlacement.line``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ray_apps.errors import SpecError
from ray_apps.training import LOCAL_MAX_BYTES
from tuning.local_trials import unsupported
from tuning.spec import TuneJobSpec


@dataclass(frozen=True)
class TrialPlacement:
    mode: Literal["local", "ray"]
    why: str

    @property
    def line(self) -> str:
        if self.mode == "local":
            return (
                f"[raymaker] trials in this process, one after another ({self.why}); "
                "trial.mode: ray for Ray Tune"
            )
        return f"[raymaker] trials on Ray Tune ({self.why})"


def choose_trial_placement(
    spec: TuneJobSpec,
    *,
    on_cluster: bool = False,
    train_bytes: int | None = None,
    local_storage: bool = True,
) -> TrialPlacement:
    """``local`` or ``ray`` for ``spec``'s trials; SpecError when ``mode: local`` cannot be.

    ``local_storage``: the run folder is on this machine's disk (local trials write there)."""
    mode, blockers = spec.trial.mode, unsupported(spec)
    if not local_storage:
        blockers.append("storage on an object store")
    if mode == "ray":
        return TrialPlacement("ray", "trial.mode ray")
    if mode == "local":
        if blockers:
            raise SpecError(
                f"trial.mode local runs trials in this process, which cannot honour "
                f"{', '.join(blockers)}; use trial.mode ray (or auto)"
            )
        return TrialPlacement("local", "trial.mode local")
    if on_cluster:
        return TrialPlacement("ray", "joining the cluster at RAY_ADDRESS")
    if blockers:
        return TrialPlacement("ray", f"{blockers[0]} needs it")
    if train_bytes is None or train_bytes > LOCAL_MAX_BYTES:
        size = "size unknown" if train_bytes is None else _size(train_bytes)
        return TrialPlacement("ray", f"training data {size}")
    return TrialPlacement("local", f"one-worker trials on {_size(train_bytes)} of training data")


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 2**10:.0f} KiB"
