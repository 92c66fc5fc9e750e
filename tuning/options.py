"""The Ray Tune options a tuning job runs with: a pure function of its spec and run folder.

Each choice records a measured Ray behaviour; keep the reasons next to them.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuning.spec import TuneJobSpec

# A distributed trial only drives its own Ray Train run, whose workers hold the CPUs.
DRIVER_ONLY_CPU = 0.01


@dataclass(frozen=True)
class TuneOptions:
    num_samples: int
    max_concurrent_trials: int | None  # None: the searcher limits concurrency itself
    reuse_actors: bool
    checkpoint_num_to_keep: int | None  # None: keep all (checkpoint_retention prunes)
    back_up_state: bool  # run the StateBackup callback
    trial_cpus: float  # the CPUs Tune reserves per trial
    use_scheduler: bool  # False: Tune's default FIFO (no early stopping)

    @property
    def trial_resources(self) -> dict[str, float]:
        return {"cpu": self.trial_cpus}


def tune_options(spec: TuneJobSpec, run_dir: str) -> TuneOptions:
    searcher = spec.strategy.searcher
    local = "://" not in run_dir
    one_process = spec.trial.workers == 1
    return TuneOptions(
        num_samples=1 if searcher == "grid" else spec.budget.max_trials,
        # Random and grid limit concurrency in their generator (Tune warns and ignores it).
        max_concurrent_trials=None
        if searcher in ("random", "grid")
        else spec.budget.max_concurrent,
        # Reusing the actor saves a one-process trial its start-up. A reused actor keeps
        # the previous trial's get_trial_dir(), so a distributed trial would put its Ray
        # Train run in the previous trial's folder and silently resume that run (seen).
        reuse_actors=one_process,
        # A local run keeps every checkpoint until no saved state can restore it
        # (checkpoint_retention); Tune's own retention can delete the one a resume needs.
        checkpoint_num_to_keep=None if local else 1,
        back_up_state=local,
        trial_cpus=spec.trial.cpus_per_worker if one_process else DRIVER_ONLY_CPU,
        use_scheduler=spec.strategy.scheduler != "fifo",
    )
