"""Start a batch job in the background and read its status: what ``POST /admin/batch/jobs``
and ``GET /admin/batch/jobs/{id}`` call, and a notebook can too.

    from ray_apps.batch import start_batch, batch_status
    job = start_batch("batch.yaml")          # returns at once: job.job_id
    batch_status(job.job_id).status          # queued | running | succeeded | failed

``start_batch`` checks the spec and the model version (Approved unless the spec forces it) in
the caller, so those errors answer at once; writes the job record; and starts the job's driver:
a detached Ray actor that calls ``run_batch``, the function the CLI and notebooks call. Detached,
it outlives whoever started it (a serving replica that is replaced or dies). It holds no CPU
slot, like a Ray Job's driver: the job's resources are its scoring actors'. Its environment
names the caller's tracking store and run storage, so a worker anywhere resolves the same
registry and writes where the record says. It writes ``error.json`` if the job fails, then exits.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from ray_apps import settings, tracking
from ray_apps._ray_errors import raymaker_error
from ray_apps.batch import _storage
from ray_apps.batch.job import resolve_model, run_batch
from ray_apps.batch.record import (
    ERROR,
    JobRecord,
    list_records,
    read_record,
    under,
    write_record,
)
from ray_apps.batch.spec import BatchJobSpec, parse_batch_spec
from ray_apps.batch.status import BatchStatus, derive_status, read_run_files
from ray_apps.errors import NotFoundError
from ray_apps.training import new_run_folder

NAMESPACE = "raymaker-batch"
logger = logging.getLogger("raymaker.batch")


def start_batch(
    spec: BatchJobSpec | dict | str | Path,
    *,
    storage: str | None = None,
    tracking_uri: str | None = None,
    base_dir: str | Path | None = None,
) -> JobRecord:
    """Submit a batch job and return its record (``job_id``, ``run_dir``) without waiting.

    ``storage`` holds the job record and, unless the spec's ``output`` says otherwise, the run
    folder (default: the run storage). Relative ``input``/``output`` paths are taken under
    ``base_dir`` (default: the current directory).
    """
    spec = parse_batch_spec(spec)
    base = Path(base_dir or Path.cwd())
    spec = spec.model_copy(
        update={"input": under(spec.input, base), "output": under(spec.output, base)}
    )
    storage = under(storage or settings.storage_path(), base)
    uri = tracking.resolve_uri(tracking_uri)
    mv = resolve_model(spec, tracking_uri=uri)  # 404 / 409 now, not in a status later
    folder = new_run_folder(spec.name, spec.output or storage)  # the job id is its name
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    record = JobRecord(folder.name, spec, f"{mv.name}:{mv.version}", folder.run_dir, stamp)
    write_record(storage, record)
    _launch(record, storage, uri)
    return record


def batch_status(job_id: str, *, storage: str | None = None) -> BatchStatus:
    """The status of job ``job_id`` from its record and run folder (NotFoundError if unknown)."""
    storage = under(storage or settings.storage_path(), Path.cwd())
    record = read_record(storage, job_id)
    if record is None:
        raise NotFoundError(
            f"no batch job {job_id!r} here; a job id is what starting the job answered "
            f"(POST /admin/batch/jobs), looked up under {storage}"
        )
    return derive_status(record, read_run_files(record.run_dir), _driver_alive(job_id))


def list_batch_jobs(*, storage: str | None = None, limit: int = 50) -> list[BatchStatus]:
    """The status of the newest ``limit`` jobs recorded under ``storage``, newest first."""
    storage = under(storage or settings.storage_path(), Path.cwd())
    return [
        derive_status(r, read_run_files(r.run_dir), _driver_alive(r.job_id))
        for r in list_records(storage)[:limit]
    ]


def failure_reason(err: BaseException) -> str:
    """One line for a failed job: our error's message (also from inside Ray's wrappers), else
    the error's type and first line."""
    ours = raymaker_error(err)
    if ours is not None:
        return str(ours)
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0] if lines else ''}".rstrip(": ")


class JobDriver:
    """The detached actor that runs one job (``ray.remote`` is applied in ``_launch``).

    The job starts from the constructor, in a thread: the creation of a detached actor belongs
    to Ray's control store, so it happens even if its creator dies the next moment, whereas a
    method call waits in the caller until the actor is up and was lost with a replica killed
    right after submitting (seen in the tests). The actor kills itself when the job is over.
    """

    def __init__(self, record: dict):
        import threading

        self._thread = threading.Thread(target=self._run, args=(record,), daemon=True)
        self._thread.start()

    def _run(self, record: dict) -> None:
        import ray

        job = JobRecord.from_dict(record)
        try:
            root = job.run_dir.rsplit("/", 1)[0]
            run_batch(job.pinned_spec(), storage=root, run_name=job.job_id)
        except Exception as err:
            reason = failure_reason(err)
            if raymaker_error(err) is None:  # a bug, not bad input: keep its traceback
                logger.exception("batch job %s failed", job.job_id)
            fs, run_dir = _storage.filesystem(job.run_dir)
            _storage.write_json(fs, f"{run_dir}/{ERROR}", {"reason": reason, "at": time.time()})
        finally:
            ray.kill(ray.get_runtime_context().current_actor, no_restart=True)


def _actor_name(job_id: str) -> str:
    return f"batch-{job_id}"


def _launch(record: JobRecord, storage: str, tracking_uri: str) -> None:
    import ray

    from ray_apps._ray_runtime import ensure_ray

    ensure_ray()
    env = {
        "MLFLOW_TRACKING_URI": tracking_uri,
        "RAYMAKER_STORAGE": storage,
        "RAY_DATA_DISABLE_PROGRESS_BARS": "1",
    }
    (
        ray.remote(JobDriver)
        .options(
            name=_actor_name(record.job_id),
            namespace=NAMESPACE,
            lifetime="detached",
            num_cpus=0,
            max_restarts=0,
            runtime_env={"env_vars": env},
        )
        .remote(record.to_dict())
    )


def _driver_alive(job_id: str) -> bool | None:
    """Whether the job's driver actor exists (None: not connected to Ray, so not known)."""
    import ray

    if not ray.is_initialized():
        return None
    try:
        ray.get_actor(_actor_name(job_id), namespace=NAMESPACE)
    except ValueError:
        return False
    return True
