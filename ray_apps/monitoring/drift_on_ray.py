"""Per-column drift of a large window on Ray: one group of columns per CPU, tested in parallel.

A window's drift tests are independent per column, and at a million rows they are most of a
run's own work (~5 s for 31 columns on the 2-core development machine: Evidently sorts each
column for K-S and counts its distinct values to pick the test). ``column_drift_on_ray`` splits
the columns into as many groups as the cluster has CPUs and runs each group as a Ray task
calling the very same ``_evidently.column_drift`` the in-process path calls, on all rows of its
columns (which imports, and so registers, ``chi2_contingency`` in the worker too): the method
picked, the scores and the verdicts are the same wherever they were computed
(``tests/integration/monitoring`` compares them; a text column's chi-square may differ in its
last digit, as each process counts categories in its own hash order), only the wall time
changes.

Why columns and not rows: the tests Evidently picks are not mergeable over row blocks (K-S needs
the whole empirical distribution of a column, the choice of test the column's distinct values),
and splitting by columns keeps Evidently's own code deciding, rather than a reimplementation.
The window is read by the driver either way; each task receives only its columns through Ray's
object store.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ray_apps.monitoring._evidently import ColumnDrift, column_drift


def column_drift_on_ray(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    kinds: dict[str, str],
    *,
    p_value: float,
    distance: float,
) -> list[ColumnDrift]:
    """``_evidently.column_drift`` of the columns in ``kinds``, in that order, as Ray tasks."""
    import ray

    from ray_apps._ray_errors import raymaker_error
    from ray_apps._ray_runtime import ensure_ray

    ensure_ray()
    names = list(kinds)
    cpus = int(ray.cluster_resources().get("CPU", 1))
    parts = np.array_split(np.arange(len(names)), max(1, min(len(names), cpus)))
    groups = [[names[i] for i in part] for part in parts if len(part)]
    task = ray.remote(num_cpus=1)(column_drift)
    pending = [
        task.remote(
            reference[g], current[g], {c: kinds[c] for c in g}, p_value=p_value, distance=distance
        )
        for g in groups
    ]
    try:
        found = {d.column: d for part in ray.get(pending) for d in part}
    except ray.exceptions.RayError as err:
        ours = raymaker_error(err)
        if ours is None:
            raise
        raise ours from None
    return [found[name] for name in names]
