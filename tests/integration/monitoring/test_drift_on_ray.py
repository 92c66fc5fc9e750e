"""Drift tests of a large window on Ray: the same methods, scores and verdicts as in process,
computed by Ray tasks (one group of columns per CPU)."""

import math
import time
from dataclasses import astuple
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from _monitor_data import SHIFTED, artifact_and_window, shifted, write
from _serve_helpers import wait_for

from ray_apps.monitoring import run_monitor
from ray_apps.monitoring._chi2_contingency import NAME
from ray_apps.monitoring._evidently import column_drift
from ray_apps.monitoring.drift_on_ray import column_drift_on_ray

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def same(a, b) -> bool:
    """Field by field; scores to 1e-12 (a string column's categories are counted in hash order,
    which differs per process, so its contingency table is in another order), NaN equal to NaN (a
    column with nothing to test scores NaN)."""

    def close(x, y) -> bool:
        if isinstance(x, float):
            return math.isclose(x, y, rel_tol=1e-12) or (math.isnan(x) and math.isnan(y))
        return x == y

    return all(close(x, y) for x, y in zip(astuple(a), astuple(b), strict=True))


def test_ray_tasks_test_every_kind_of_column_as_the_process_does(ray_session):
    rng = np.random.default_rng(0)
    n_ref, n_cur = 800, 20_000

    def frame(n: int, shift: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "steady": rng.normal(size=n),
                "moved": rng.normal(loc=shift, size=n),
                "grade": rng.integers(0, 4, size=n).astype(float),  # chi2_contingency
                "flag": (rng.random(n) < 0.3 + shift / 2).astype(float),  # two values: Z-test
                "empty": np.full(n, np.nan) if shift else rng.normal(size=n),  # nothing to test
                "prediction": rng.choice(["a", "b", "c"], size=n),
            }
        )

    reference, current = frame(n_ref, 0.0), frame(n_cur, 0.5)
    kinds = {
        "steady": "numeric",
        "moved": "numeric",
        "grade": "categorical",
        "flag": "categorical",
        "empty": "numeric",
        "prediction": "categorical",
    }
    local = column_drift(reference, current, kinds, p_value=0.01, distance=0.1)
    on_ray = column_drift_on_ray(reference, current, kinds, p_value=0.01, distance=0.1)
    assert [d.column for d in on_ray] == list(kinds)  # in the order asked
    assert [d.method for d in on_ray] == ["ks", "ks", NAME, "z", "none", NAME]
    assert all(same(a, b) for a, b in zip(local, on_ray, strict=True)), (local, on_ray)
    drifted = {d.column: d.drifted for d in on_ray}
    assert drifted["moved"] and drifted["flag"] and not drifted["steady"]


def test_a_large_window_is_judged_on_ray_with_the_same_summary(ray_session, tmp_path):
    from ray.util.state import list_tasks

    art, held_out, std = artifact_and_window(tmp_path)
    data = write(shifted(held_out, std, 1.0), tmp_path / "day.parquet")
    spec = {"model": "cancer:1", "artifact": str(art), "current": {"dataset": data}, "html": False}
    here = run_monitor({**spec, "output": str(tmp_path / "a"), "ray_min_rows": None}, now=NOW)
    began = time.time() * 1000
    there = run_monitor({**spec, "output": str(tmp_path / "b"), "ray_min_rows": 100}, now=NOW)
    assert there.summary.drifted_columns == SHIFTED
    assert there.summary.to_dict() == here.summary.to_dict()
    assert there.verdict == here.verdict

    # Task events reach the state API one by one, each a second or so late (CI once saw the first
    # but not yet the second): wait for both, not for any. The session's own address: another
    # Ray may run on this machine meanwhile (make test's other process starts clusters), and
    # the state API without one refuses to guess.
    def drift_tasks() -> int:
        tasks = list_tasks(
            address=ray_session,
            filters=[("name", "=", "column_drift")],
            detail=True,
            limit=1000,
        )
        return len([t for t in tasks if (t.start_time_ms or 0) >= began])

    # the columns were split over the cluster's CPUs
    wait_for(lambda: drift_tasks() >= 2, 30, "both column_drift tasks in the state API", 0.5)
