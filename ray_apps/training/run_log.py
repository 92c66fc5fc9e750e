"""A run's own record on its storage: per-epoch metrics, restarts, the fault marker, the health
rules that fired, where the health report is, and the state ``stopped_by_rule`` when one ended
the run.

Written by rank 0 as small files (one per event, no appends, so any pyarrow/fsspec storage
works) under ``<storage>/<run>/raymaker/``. The driver reads it back for the result, and
``--resume`` reads the job spec from it.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

_DIR = "raymaker"


class RunLog:
    def __init__(self, run_dir: str):
        self.run_dir = run_dir.rstrip("/")
        self._fs, self._root = fsspec.core.url_to_fs(f"{self.run_dir}/{_DIR}")

    def _write(self, relpath: str, data: Any) -> None:
        path = f"{self._root}/{relpath}"
        folder, name = path.rsplit("/", 1)
        self._fs.makedirs(folder, exist_ok=True)
        text = json.dumps(data, default=str)
        if not isinstance(self._fs, LocalFileSystem):
            # An object store's PUT is all-or-nothing: readers never see half an object.
            self._fs.pipe_file(path, text.encode())
            return
        # Locally a reader (the driver, polling while workers write) could open the file between
        # its creation and its last byte, and read half a JSON document: write beside it under a
        # name readers skip, then rename over it in one step.
        tmp = f"{folder}/.{name}.{uuid.uuid4().hex}.tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)

    def _read_all(self, folder: str) -> list[Any]:
        path = f"{self._root}/{folder}"
        if not self._fs.exists(path):
            return []
        out = []
        for name in sorted(self._fs.ls(path, detail=False)):
            if name.rsplit("/", 1)[-1].startswith("."):
                continue  # a write still in flight (see _write)
            with self._fs.open(name) as f:
                out.append(json.load(f))
        return out

    def save_job(self, job: dict[str, Any]) -> None:
        self._write("job.json", job)

    def _read(self, relpath: str) -> Any | None:
        path = f"{self._root}/{relpath}"
        if not self._fs.exists(path):
            return None
        with self._fs.open(path) as f:
            return json.load(f)

    def job(self) -> dict[str, Any] | None:
        return self._read("job.json")

    def attempt_started(self, start_epoch: int, workers: int | None = None) -> None:
        self._write(
            f"attempts/{time.time_ns()}.json",
            {"start_epoch": start_epoch, "time": time.time(), "workers": workers},
        )

    def attempts(self) -> list[dict[str, Any]]:
        """One entry per (re)start of the worker group, oldest first."""
        return self._read_all("attempts")

    def epoch_done(self, epoch: int, metrics: dict[str, float]) -> None:
        self._write(f"epochs/{epoch:06d}-{time.time_ns()}.json", {"epoch": epoch, **metrics})

    def history(self) -> list[dict[str, Any]]:
        """Per-epoch metrics; an epoch run again after a restart keeps its last values."""
        by_epoch = {row["epoch"]: row for row in self._read_all("epochs")}
        return [by_epoch[e] for e in sorted(by_epoch)]

    def checkpoint_saved(self, epoch: int, name: str) -> None:
        self._write("last_checkpoint.json", {"epoch": epoch, "name": name})

    def last_checkpoint(self) -> dict[str, Any] | None:
        """``{"epoch", "name"}`` of the newest checkpoint whose upload finished, if any."""
        return self._read("last_checkpoint.json")

    def claim_fault(self, epoch: int) -> bool:
        """True the first time only: the injected fault fires once per run."""
        path = f"{self._root}/faults/epoch-{epoch}"
        if self._fs.exists(path):
            return False
        self._write(f"faults/epoch-{epoch}", {"time": time.time()})
        return True

    def health_fired(self, epoch: int, finding: dict[str, Any]) -> None:
        """A health rule fired at ``epoch``: its finding and the actions taken."""
        self._write(f"health/{epoch:06d}-{time.time_ns()}.json", {"epoch": epoch, **finding})

    def health_findings(self) -> list[dict[str, Any]]:
        """Every health rule that fired, oldest first (across resumes)."""
        return self._read_all("health")

    def health_report_written(self, path: str) -> None:
        """The run's health report (``ray_apps.training.health.report``) is at ``path``."""
        self._write("health_report.json", {"path": path, "time": time.time()})

    def health_report(self) -> str | None:
        """Where the run's newest health report is, or None (no ``health:`` section)."""
        record = self._read("health_report.json")
        return record["path"] if record else None

    def stopped_by_rule(self, record: dict[str, Any]) -> None:
        """A health rule with action ``stop`` ended the run (the driver reads it after fit)."""
        self._write("state.json", {"state": "stopped_by_rule", "time": time.time(), **record})

    def state(self) -> dict[str, Any] | None:
        """``{"state": "stopped_by_rule", rule, epoch, …}`` or None (running or finished)."""
        return self._read("state.json")

    def clear_state(self) -> None:
        """A resumed run starts unstopped (its findings stay in ``health/``)."""
        path = f"{self._root}/state.json"
        if self._fs.exists(path):
            self._fs.rm(path)
