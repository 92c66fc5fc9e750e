"""Batch transform: score a dataset with a registered model on Ray Data, exactly once.

    from ray_apps.batch import run_batch
    result = run_batch("batch.yaml")
    result.summary.line()      # "rows in 150 = rows out 148 + rejected 2"

``python -m ray_apps.batch`` (``__main__.py``) is the ``ray job submit`` entry point.
"""

from typing import TYPE_CHECKING

from ray_apps.batch.spec import BatchJobSpec, parse_batch_spec
from ray_apps.batch.summary import Summary

if TYPE_CHECKING:
    from ray_apps.batch.job import BatchResult, default_concurrency, run_batch

__all__ = [
    "BatchJobSpec",
    "BatchResult",
    "Summary",
    "default_concurrency",
    "parse_batch_spec",
    "run_batch",
]

# The job (the driver's side) imports training's run folders and MLflow; a scoring actor,
# which imports this package to reach ``scorer``, needs neither.
_JOB = {"BatchResult", "default_concurrency", "run_batch"}


def __getattr__(name: str):
    if name not in _JOB:
        raise AttributeError(f"module 'ray_apps.batch' has no attribute {name!r}")
    from ray_apps.batch import job

    return getattr(job, name)
