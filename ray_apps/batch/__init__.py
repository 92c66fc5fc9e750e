"""Batch transform: score a dataset with a registered model on Ray Data, exactly once.

    from ray_apps.batch import run_batch
    result = run_batch("batch.yaml")
    result.summary.line()      # "rows in 150 = rows out 148 + rejected 2"

    from ray_apps.batch import start_batch, batch_status, read_output
    job = start_batch("batch.yaml")           # in the background; returns its job id at once
    batch_status(job.job_id).status           # queued | running | succeeded | failed
    list_batch_jobs()                         # every recorded job's status, newest first
    read_output(job.run_dir)                  # committed rows, shaped like read_capture's

``python -m ray_apps.batch`` (``__main__.py``) is the ``ray job submit`` entry point;
``POST /admin/batch/jobs`` on an endpoint calls ``start_batch``.
"""

from typing import TYPE_CHECKING

from ray_apps.batch.output import read_output
from ray_apps.batch.record import JobRecord
from ray_apps.batch.spec import BatchJobSpec, parse_batch_spec
from ray_apps.batch.status import BatchStatus, derive_status
from ray_apps.batch.summary import Summary

if TYPE_CHECKING:
    from ray_apps.batch.background import batch_status, list_batch_jobs, start_batch
    from ray_apps.batch.job import BatchResult, default_concurrency, run_batch

__all__ = [
    "BatchJobSpec",
    "BatchResult",
    "BatchStatus",
    "JobRecord",
    "Summary",
    "batch_status",
    "default_concurrency",
    "derive_status",
    "list_batch_jobs",
    "parse_batch_spec",
    "read_output",
    "run_batch",
    "start_batch",
]

# The job (the driver's side) and its background starter import training's run folders and
# MLflow; a scoring actor, which imports this package to reach ``scorer``, needs neither.
_LAZY = {
    "BatchResult": "job",
    "default_concurrency": "job",
    "run_batch": "job",
    "batch_status": "background",
    "list_batch_jobs": "background",
    "start_batch": "background",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ray_apps.batch' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"ray_apps.batch.{module}"), name)
