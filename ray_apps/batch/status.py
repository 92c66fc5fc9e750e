"""A batch job's status, derived from what its run folder holds, never from anyone's memory.

A submitted job has a record (``ray_apps.batch.record``). Its driver then writes, in order,
``plan.json`` (the units), one ``units/part-N.parquet.json`` per committed unit, and at the end
``summary.json`` (it succeeded) or ``error.json`` (it failed, with the reason). So any process
that reads the storage answers the same status, whichever server replica started the job:

    queued     the record, no plan yet
    running    a plan; some of its units committed, no summary
    succeeded  summary.json (it wins: a failed job finished with ``--resume`` succeeded)
    failed     error.json, or the job's driver is gone without writing either

``derive_status`` is the pure rule; ``read_run_files`` reads a folder for it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ray_apps.batch import _storage
from ray_apps.batch.record import ERROR, JobRecord
from ray_apps.batch.summary import UnitStats
from ray_apps.batch.transform import UNITS

State = Literal["queued", "running", "succeeded", "failed"]


@dataclass(frozen=True)
class RunFiles:
    """What a run folder holds: units planned (None: no plan), committed units, end files."""

    units_planned: int | None = None
    committed: tuple[UnitStats, ...] = ()
    summary: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class Progress:
    units_committed: int = 0
    units_total: int | None = None  # None until the job has planned its units
    rows_in: int = 0
    rows_out: int = 0
    rows_rejected: int = 0


@dataclass(frozen=True)
class BatchStatus:
    """What ``GET /admin/batch/jobs/{id}`` and ``batch_status`` answer."""

    job_id: str
    status: State
    model: str
    input: str
    run_dir: str
    output_path: str
    rejects_path: str
    submitted_at: str
    progress: Progress = field(default_factory=Progress)
    summary: dict[str, Any] | None = None  # summary.json, once succeeded
    reason: str | None = None  # why it failed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def derive_status(record: JobRecord, files: RunFiles, driver_alive: bool | None) -> BatchStatus:
    """The job's status from its record and folder; ``driver_alive`` None: not known."""
    s = files.summary
    if s is not None:
        progress = Progress(s["units"], s["units"], s["rows_in"], s["rows_out"], s["rows_rejected"])
        return _status(record, "succeeded", progress, summary=s)
    progress = Progress(
        units_committed=len(files.committed),
        units_total=files.units_planned,
        rows_in=sum(u.rows_in for u in files.committed),
        rows_out=sum(u.rows_out for u in files.committed),
        rows_rejected=sum(u.rows_rejected for u in files.committed),
    )
    if files.error is not None:
        return _status(record, "failed", progress, reason=files.error.get("reason"))
    if driver_alive is False:
        return _status(record, "failed", progress, reason=_driver_gone(record, progress))
    state: State = "queued" if files.units_planned is None else "running"
    return _status(record, state, progress)


def _driver_gone(record: JobRecord, p: Progress) -> str:
    if p.units_total is None:
        return "the job's driver stopped before it planned the job; submit the job again"
    return (
        f"the job's driver stopped with {p.units_committed} of {p.units_total} units committed; "
        f"finish it with 'raymaker batch --resume {record.run_dir}' (committed units are kept)"
    )


def _status(record: JobRecord, state: State, progress: Progress, **kw) -> BatchStatus:
    return BatchStatus(
        job_id=record.job_id,
        status=state,
        model=record.model,
        input=record.spec.input,
        run_dir=record.run_dir,
        output_path=record.output_dir,
        rejects_path=record.rejects_dir,
        submitted_at=record.submitted_at,
        progress=progress,
        **kw,
    )


def read_run_files(run_dir: str) -> RunFiles:
    """Read the files ``derive_status`` looks at (a folder that does not exist yet is empty)."""
    import pyarrow.fs as pafs

    fs, root = _storage.filesystem(run_dir)
    plan = _storage.read_json(fs, f"{root}/plan.json")
    found = fs.get_file_info(pafs.FileSelector(f"{root}/{UNITS}", allow_not_found=True))
    committed = []
    for info in sorted(found, key=lambda i: i.path):
        name = info.path.rsplit("/", 1)[-1]
        if info.is_file and not name.startswith(".") and name.endswith(".json"):
            committed.append(UnitStats.from_dict(_storage.read_json(fs, info.path)))
    return RunFiles(
        units_planned=len(plan["units"]) if plan else None,
        committed=tuple(committed),
        summary=_storage.read_json(fs, f"{root}/summary.json"),
        error=_storage.read_json(fs, f"{root}/{ERROR}"),
    )
