"""The record of a submitted batch job: job id → its spec, model version and run folder.

``start_batch`` writes it before the job starts, as one small file on the run storage that every
process serving the job's status can read (a replica that dies takes nothing with it):

    <storage>/_batch_jobs/<job_id>.json

The job id is the name of the run folder the job writes (``<name>-<time>-<id>``), so it is also
what ``raymaker batch --resume`` takes. The folder itself says how far the job got
(``ray_apps.batch.status``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ray_apps.batch import _storage
from ray_apps.batch.spec import BatchJobSpec, parse_batch_spec
from ray_apps.batch.transform import OUTPUT, REJECTS

RECORDS = "_batch_jobs"
ERROR = "error.json"  # written by the job's driver when the job fails
# What unique_name gives: a spec name (64 at most) and a time and hex suffix. Nothing else is
# looked up, so an id can never name a path outside the records folder.
_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class JobRecord:
    """A submitted job: the spec as given (paths made absolute), the version it runs."""

    job_id: str
    spec: BatchJobSpec
    model: str  # "name:version", resolved at submit; the job scores with exactly this
    run_dir: str
    submitted_at: str  # ISO 8601, UTC

    @property
    def output_dir(self) -> str:
        return f"{self.run_dir}/{OUTPUT}"

    @property
    def rejects_dir(self) -> str:
        return f"{self.run_dir}/{REJECTS}"

    def pinned_spec(self) -> BatchJobSpec:
        """The spec the job runs: its model reference pinned to the resolved version."""
        return self.spec.model_copy(update={"model": self.model})

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "spec": self.spec.model_dump(mode="json"),
            "model": self.model,
            "run_dir": self.run_dir,
            "submitted_at": self.submitted_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobRecord:
        spec = parse_batch_spec(data["spec"], source=f"batch job {data['job_id']}")
        return cls(data["job_id"], spec, data["model"], data["run_dir"], data["submitted_at"])


def valid_job_id(job_id: str) -> bool:
    return bool(_JOB_ID.match(job_id)) and ".." not in job_id


def record_path(storage: str, job_id: str) -> str:
    return f"{storage.rstrip('/')}/{RECORDS}/{job_id}.json"


def write_record(storage: str, record: JobRecord) -> None:
    fs, root = _storage.filesystem(storage)
    _storage.write_json(fs, record_path(root, record.job_id), record.to_dict())


def read_record(storage: str, job_id: str) -> JobRecord | None:
    """The record of ``job_id`` under ``storage``, or None (unknown, or not a job id)."""
    if not valid_job_id(job_id):
        return None
    fs, root = _storage.filesystem(storage)
    data = _storage.read_json(fs, record_path(root, job_id))
    return JobRecord.from_dict(data) if data else None


def list_records(storage: str) -> list[JobRecord]:
    """Every job recorded under ``storage``, newest first (by submit time, then id)."""
    import pyarrow.fs as pafs

    fs, root = _storage.filesystem(storage)
    selector = pafs.FileSelector(f"{root.rstrip('/')}/{RECORDS}", allow_not_found=True)
    names = [info.base_name for info in fs.get_file_info(selector)]
    records = []
    for name in names:
        if name.endswith(".json") and valid_job_id(job_id := name[: -len(".json")]):
            data = _storage.read_json(fs, record_path(root, job_id))
            if data:
                records.append(JobRecord.from_dict(data))
    return sorted(records, key=lambda r: (r.submitted_at, r.job_id), reverse=True)


def under(path: str | None, base: Path) -> str | None:
    """``path`` made absolute under ``base`` when relative; URIs and absolute paths unchanged.

    A job started by a server runs in some Ray worker's working directory: a relative path
    must mean the same folder wherever it is read.
    """
    if path is None or "://" in path:
        return path
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else (base / p).resolve())
