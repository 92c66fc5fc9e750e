"""The envelope around every run, training or tuning: its folder, its MLflow run, its model.

A run lives in a folder under run storage, named uniquely (``name-YYYYmmdd-HHMMSS-xxxxxx``):
Ray resumes silently into an existing folder, so a new run never reuses one. The folder's run
log keeps the job, so ``--resume <run>`` finds it again. The MLflow run opens once per run
(a resumed run keeps its id), and closes as one context: FINISHED with the test metrics and
the artifact, KILLED when a health rule stopped the run, or FAILED when the body raises. The
model comes from the final checkpoint, is evaluated on the test split and packaged as an
artifact in the run folder (local or URI).
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ray_apps import settings, tracking
from ray_apps.artifact import Model, write_artifact
from ray_apps.data import TabularData
from ray_apps.errors import NotFoundError, StoppedByRule
from ray_apps.lineage import lineage
from ray_apps.locations import Source
from ray_apps.preprocess import Preprocessor
from ray_apps.spec import TrackingSpec, TrainJobSpec
from ray_apps.training.job import evaluate, model_from_checkpoint
from ray_apps.training.run_log import RunLog


def absolute(path: str) -> str:
    return path if "://" in path else str(Path(path).resolve())


def unique_name(name: str) -> str:
    """``name-YYYYmmdd-HHMMSS-xxxxxx``: Ray resumes silently into an existing run folder."""
    return f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class RunFolder:
    """Where one run lives: ``run_dir`` (a path or URI), and whether this start resumes it."""

    run_dir: str
    resumed: bool

    @property
    def name(self) -> str:
        return self.run_dir.rsplit("/", 1)[-1]

    @property
    def root(self) -> str:
        """The run storage this folder sits in."""
        return self.run_dir.rsplit("/", 1)[0]

    @property
    def log(self) -> RunLog:
        return RunLog(self.run_dir)

    def saved_job(self) -> dict[str, Any] | None:
        return self.log.job()

    def save_job(self, job: dict[str, Any]) -> None:
        self.log.save_job(job)

    def announce(self, what: str) -> None:
        state = "resuming" if self.resumed else "new"
        print(f"[raymaker] {what} {self.name} ({state}): {self.run_dir}", flush=True)


def new_run_folder(name: str, storage: str | None) -> RunFolder:
    """A fresh, uniquely named folder for run ``name`` under ``storage`` (default: embedded)."""
    if storage:
        storage = settings.checked(
            "run storage", absolute(storage), Source.EXPLICIT, settings.STORAGE_SETTING
        )
    root = absolute(storage or settings.storage_path())
    return RunFolder(f"{root}/{unique_name(name)}", resumed=False)


def find_run_folder(resume: str, roots: list[str], key: str, what: str) -> tuple[dict, RunFolder]:
    """The saved job (``key`` of its run log) and folder of run ``resume``: a path, or a run
    name under one of ``roots``. NotFoundError names where it looked."""
    candidates = [resume] if ("/" in resume or "://" in resume) else []
    candidates += [f"{root}/{resume}" for root in roots]
    for run_dir in map(absolute, candidates):
        saved = RunLog(run_dir).job()
        if saved and key in saved:
            return saved[key], RunFolder(run_dir, resumed=True)
    raise NotFoundError(
        f"no {what} {resume!r} to resume under {candidates}; pass the run name printed at its "
        "start (or its folder), and the same storage"
    )


def saved_job(run_dir: str) -> dict[str, Any] | None:
    """The job a run saved in its run log (``spec`` or ``tune_spec``, ``mlflow_run_id``…)."""
    return RunLog(run_dir).job()


@dataclass
class TrackedRun:
    """The open MLflow run of a raymaker run; ``package_model`` records what it finishes with."""

    uri: str
    run_id: str
    metrics: dict[str, float] = field(default_factory=dict)
    artifact_dir: Path | None = None
    staging: Path | None = None  # a temporary folder removed when the MLflow run closes


@contextmanager
def tracked_run(
    folder: RunFolder, spec: TrackingSpec, *, params: dict[str, Any], tags: dict[str, str]
) -> Iterator[TrackedRun]:
    """Open (or, resuming, reopen) the run's MLflow run; finish it FAILED if the body raises."""
    uri = tracking.resolve_uri(spec.uri)
    run_id = (folder.saved_job() or {}).get("mlflow_run_id") or tracking.open_run(
        uri, spec.experiment, folder.name, params=params, tags=tags
    )
    run = TrackedRun(uri, run_id)
    try:
        try:
            yield run
        except StoppedByRule:  # stopped on purpose: MLflow's KILLED, not a failure
            tracking.finish_run(uri, run_id, status="KILLED")
            raise
        except Exception:
            tracking.finish_run(uri, run_id, failed=True)
            raise
        tracking.finish_run(uri, run_id, metrics=run.metrics, artifact_dir=run.artifact_dir)
    finally:
        if run.staging is not None:
            shutil.rmtree(run.staging, ignore_errors=True)


@dataclass(frozen=True)
class PackagedModel:
    model: Model
    metrics: dict[str, float]  # on the held-out test split
    artifact_path: str  # where the artifact lives (run storage)
    local: Path  # a local copy of it (with remote run storage: gone once the MLflow run closes)


def package_model(
    folder: RunFolder,
    run: TrackedRun,
    spec: TrainJobSpec,
    data: TabularData,
    pre: Preprocessor,
    checkpoint,
    under: str = "",
) -> PackagedModel:
    """Checkpoint → model → test metrics → artifact in ``folder`` (``under`` a subfolder).

    The MLflow run then finishes with these metrics and this artifact.
    """
    model = model_from_checkpoint(spec, data, pre, checkpoint)
    metrics = evaluate(model, data.test)
    run_dir = f"{folder.run_dir}/{under}" if under else folder.run_dir
    remote = "://" in run_dir
    if remote:
        # Written here, copied to run storage, logged to MLflow when the run closes: the
        # folder is needed until then, and tracked_run removes it then.
        local = run.staging = Path(tempfile.mkdtemp(prefix="raymaker-artifact-"))
    else:
        local = Path(run_dir) / "artifact"
    write_artifact(
        local,
        model.info,
        model.predictor,
        metrics=metrics,
        job=spec.model_dump(mode="json"),
        lineage=lineage(folder.name, data, run.run_id),
        baseline=data.train,
    )
    final = str(local)
    if remote:
        import pyarrow.fs as pafs

        final = f"{run_dir}/artifact"
        pafs.copy_files(str(local), final)
    run.metrics, run.artifact_dir = metrics, local
    return PackagedModel(model, metrics, final, local)
