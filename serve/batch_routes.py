"""Batch transform jobs over HTTP, for admins (SageMaker's CreateTransformJob and
DescribeTransformJob): start one, then poll its status.

POST /admin/batch/jobs            the batch job spec as JSON (the YAML's keys)   → 202
     {"job_id": "…", "status_url": "/admin/batch/jobs/<job_id>", "status": "queued", …}
GET  /admin/batch/jobs            {"jobs": [<status as below>, …]}, the newest 50, newest first
GET  /admin/batch/jobs/{job_id}   {"status": "queued|running|succeeded|failed",
                                   "progress": {units_committed, units_total, rows_in, …},
                                   "summary": {…} once succeeded, "reason": "…" once failed}

Both call ``ray_apps.batch`` (``start_batch``, ``batch_status``): the spec is validated by the
same model as the YAML (400 naming the field), the model version must be Approved unless the
spec forces it (409), and the job runs in a detached Ray actor calling ``run_batch``, never in
the request. The status is read from the run storage, so any replica answers it, including
after the one that started the job is gone. Only admin credentials reach these routes
(``serve.routes.ROLES``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from ray_apps.batch import BatchJobSpec, batch_status, list_batch_jobs, start_batch
from ray_apps.errors import SpecError
from ray_apps.spec import parse_spec
from serve.protocol_v1 import load_json
from serve.routes import Route


async def submit(
    body: bytes, status_root: str, *, storage: str, home: str, tracking_uri: str | None
) -> dict[str, Any]:
    """Start the job the body describes; ``status_root`` is the path its status lives under."""
    data = load_json(body)
    if not isinstance(data, dict):  # a string would be read as a YAML path on the server
        raise SpecError(
            f"the body must be a JSON object of batch job fields (name, model, input, …), "
            f"got {type(data).__name__}"
        )
    spec = parse_spec(BatchJobSpec, data, source="batch job")
    job = await asyncio.to_thread(
        start_batch, spec, storage=storage, tracking_uri=tracking_uri, base_dir=home
    )
    return {
        "job_id": job.job_id,
        "status_url": f"{status_root.rstrip('/')}/{job.job_id}",
        "status": "queued",
        "model": job.model,
        "input": job.spec.input,
        "run_dir": job.run_dir,
        "output_path": job.output_dir,
    }


async def jobs(route: Route, *, storage: str) -> dict[str, Any]:
    """The newest jobs' statuses (at most 50), newest first: ListTransformJobs."""
    found = await asyncio.to_thread(list_batch_jobs, storage=storage, limit=50)
    return {"jobs": [s.to_dict() for s in found]}


async def status(route: Route, *, storage: str) -> dict[str, Any]:
    return (
        await asyncio.to_thread(batch_status, route.params["job_id"], storage=storage)
    ).to_dict()
