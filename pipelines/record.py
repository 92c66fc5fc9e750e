"""A pipeline run's record on the run storage: the run, and one file per step.

``<storage>/pipelines/<run id>/run.json`` holds the pipeline's spec as given, its bound
parameters and the run's state; ``steps/<step>.json`` each step's state, resolved inputs,
outputs, attempts, times and cache key. Whole small files, rewritten by the driver only, so any
fsspec storage (a folder, S3) holds them, and a driver killed at any point leaves a record that
``resume`` reads back.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import fsspec

from ray_apps.errors import NotFoundError

FOLDER = "pipelines"


@dataclass
class StepRecord:
    state: str = "pending"
    inputs: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)  # {started, ended, error}
    started_at: float | None = None
    ended_at: float | None = None
    error: str | None = None
    cache_key: str | None = None
    cache_source: dict[str, Any] | None = None  # {run_id, step} when taken from the cache
    reason: str | None = None  # why skipped or blocked

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at


@dataclass
class RunRecord:
    run_id: str
    pipeline: str
    spec: dict[str, Any]
    parameters: dict[str, Any]
    created_at: float
    state: str = "running"
    steps: dict[str, StepRecord] = field(default_factory=dict)
    ended_at: float | None = None
    mlflow_run_id: str | None = None
    trigger: str | None = None  # why it started: "manual", "schedule …", "monitor …: drift …"


def new_run_id(pipeline: str, now: float | None = None) -> str:
    """``<pipeline>-<UTC date>-<time to the millisecond>-<random>``: sorts by start time."""
    now = time.time() if now is None else now
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    return f"{pipeline}-{stamp}{int(now * 1000) % 1000:03d}-{secrets.token_hex(3)}"


class RunStore:
    """The runs under one storage root (a path or URI)."""

    def __init__(self, storage: str | None = None):
        """``storage``: the run storage root; None: the configured one (RAYMAKER_STORAGE)."""
        if storage is None:
            from ray_apps import settings

            storage = settings.storage_path()
        self.root = f"{str(storage).rstrip('/')}/{FOLDER}"
        self._fs, self._path = fsspec.core.url_to_fs(self.root)

    def run_dir(self, run_id: str) -> str:
        return f"{self.root}/{run_id}"

    @property
    def local_root(self) -> str | None:
        """The runs' folder as a local path; None on an object store."""
        from fsspec.implementations.local import LocalFileSystem

        return self._path if isinstance(self._fs, LocalFileSystem) else None

    def read_json(self, relpath: str) -> Any | None:
        """A JSON file under the runs' folder (``<run>/run.json``, ``_triggers/<key>.json``)."""
        return self._read(relpath)

    def write_json(self, relpath: str, data: Any) -> None:
        """Write a JSON file under the runs' folder whole: readers see old or new."""
        self._write(relpath, data)

    def _write(self, relpath: str, data: Any) -> None:
        path = f"{self._path}/{relpath}"
        self._fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        tmp = f"{path}.tmp-{secrets.token_hex(4)}"
        with self._fs.open(tmp, "w") as f:
            json.dump(data, f, default=str, indent=1)
        self._fs.mv(tmp, path)  # readers see the old file or the new one

    def _read(self, relpath: str) -> Any | None:
        path = f"{self._path}/{relpath}"
        if not self._fs.exists(path):
            return None
        with self._fs.open(path) as f:
            return json.load(f)

    def save_run(self, run: RunRecord) -> None:
        head = {k: v for k, v in asdict(run).items() if k != "steps"}
        self._write(f"{run.run_id}/run.json", head)

    def save_step(self, run_id: str, step: str, record: StepRecord) -> None:
        self._write(f"{run_id}/steps/{step}.json", asdict(record))

    def load(self, run_id: str) -> RunRecord:
        head = self._read(f"{run_id}/run.json")
        if head is None:
            known = self.list_runs()[-5:]
            raise NotFoundError(
                f"no pipeline run {run_id!r} under {self.root}; recent runs: {known} "
                "(raymaker pipeline list)"
            )
        run = RunRecord(**head)
        for step in run.spec.get("steps", {}):
            data = self._read(f"{run_id}/steps/{step}.json")
            run.steps[step] = StepRecord(**data) if data else StepRecord()
        return run

    def list_runs(self) -> list[str]:
        """Run ids, oldest first (ids start with the pipeline name, then the UTC time)."""
        if not self._fs.exists(self._path):
            return []
        found = []
        for path in self._fs.ls(self._path, detail=False):
            name = path.rstrip("/").rsplit("/", 1)[-1]
            if not name.startswith("_") and self._fs.exists(f"{path}/run.json"):
                found.append(name)
        return sorted(found, key=lambda n: n.rsplit("-", 3)[-3:])

    # -- the step cache ---------------------------------------------------------------------------
    def cached(self, key: str) -> dict[str, Any] | None:
        return self._read(f"_cache/{key}.json")

    def put_cache(self, key: str, entry: dict[str, Any]) -> None:
        self._write(f"_cache/{key}.json", entry)
