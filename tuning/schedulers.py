"""Trial schedulers (early stopping) by name.

fifo       run every trial to the end
asha       asynchronous successive halving: stop trials below the top 1/reduction_factor
           at each rung
hyperband  synchronous HyperBand brackets (pauses trials; random/grid searchers only)
median     stop a trial whose result falls below the median of the others at that point
"""

from __future__ import annotations

from ray_apps.errors import SpecError

TIME_ATTR = "epoch"  # both loops report their epoch / boosting round under this key


def create_scheduler(
    name: str, *, metric: str, mode: str, max_t: int, grace_period: int, reduction_factor: int
):
    from ray.tune.schedulers import (
        ASHAScheduler,
        FIFOScheduler,
        MedianStoppingRule,
    )

    if name == "fifo":
        return FIFOScheduler()
    if name == "asha":
        return ASHAScheduler(
            time_attr=TIME_ATTR,
            metric=metric,
            mode=mode,
            max_t=max_t,
            grace_period=min(grace_period, max_t),
            reduction_factor=reduction_factor,
        )
    if name == "hyperband":
        from tuning._hyperband import FinishingHyperBand

        return FinishingHyperBand(
            time_attr=TIME_ATTR,
            metric=metric,
            mode=mode,
            max_t=max_t,
            reduction_factor=reduction_factor,
        )
    if name == "median":
        return MedianStoppingRule(
            time_attr=TIME_ATTR,
            metric=metric,
            mode=mode,
            grace_period=grace_period,
            min_samples_required=3,
        )
    raise SpecError(f"unknown scheduler {name!r}; choose one of asha, fifo, hyperband, median")
