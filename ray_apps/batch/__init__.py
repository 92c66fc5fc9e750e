"""Batch transform: score a dataset with a registered model on Ray Data, exactly once.

    from ray_apps.batch import run_batch
    result = run_batch("batch.yaml")
    result.summary.line()      # "rows in 150 = rows out 148 + rejected 2"

``python -m ray_apps.batch`` (``__main__.py``) is the ``ray job submit`` entry point.
"""

from ray_apps.batch.job import BatchResult, default_concurrency, run_batch
from ray_apps.batch.spec import BatchJobSpec, parse_batch_spec
from ray_apps.batch.summary import Summary

__all__ = [
    "BatchJobSpec",
    "BatchResult",
    "Summary",
    "default_concurrency",
    "parse_batch_spec",
    "run_batch",
]
