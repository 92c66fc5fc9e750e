"""Where raymaker keeps things, and which Ray it talks to.

The embedded default puts everything under one project-local folder (``./raymaker_data``):
run storage, the SQLite MLflow store and artifacts. A cluster changes addresses only, through
environment variables (or the job spec's own ``storage`` / ``tracking`` fields):

    RAYMAKER_HOME              local folder of the embedded default (./raymaker_data)
    RAYMAKER_STORAGE           run storage path or URI: s3://, gs://, … ($RAYMAKER_HOME/runs)
    MLFLOW_TRACKING_URI        MLflow store: PostgreSQL or an MLflow server on a cluster
                               (sqlite:///$RAYMAKER_HOME/mlflow.db)
    RAYMAKER_MLFLOW_ARTIFACTS  MLflow run artifacts of new experiments
                               ($RAYMAKER_STORAGE/mlflow-artifacts, else MLflow's ./mlruns)
    RAY_ADDRESS                an existing Ray cluster ("auto", "ray://…"); unset: local Ray

Under a submitted Ray job (``ray job submit``, ``raymaker submit``) the embedded default would
land in the job's throwaway working directory: ``ray_apps.locations`` refuses it, naming the
setting to fix (exit 2).
"""

from __future__ import annotations

import os
from pathlib import Path

from ray_apps.errors import SpecError
from ray_apps.locations import Location, Source, job_context, refusal

STORAGE_SETTING = "RAYMAKER_STORAGE (or the job's storage:)"
TRACKING_SETTING = "MLFLOW_TRACKING_URI (or the job's tracking.uri)"
ARTIFACTS_SETTING = "RAYMAKER_MLFLOW_ARTIFACTS (or RAYMAKER_STORAGE)"


def checked(what: str, value: str, source: Source, setting: str) -> str:
    """``value``, unless writing there would lose the results (see ``ray_apps.locations``)."""
    ctx = job_context()
    if source is Source.HOME and ctx.in_job and ctx.nodes == 1:
        # Only a folder from RAYMAKER_HOME depends on the node count; count them for real.
        ctx = job_context(join=True)
    reason = refusal(Location(what, value, source, setting), ctx)
    if reason:
        raise SpecError(reason)
    return value


def _home() -> tuple[Path, Source]:
    configured = os.environ.get("RAYMAKER_HOME")
    return Path(configured or "raymaker_data").resolve(), (
        Source.HOME if configured else Source.DEFAULT
    )


def home(what: str = "raymaker's project folder", setting: str = "RAYMAKER_HOME") -> Path:
    """The project-local folder of the embedded default (checked for ``what`` it is used for)."""
    path, source = _home()
    checked(what, str(path), source, setting)
    return path


def storage_path() -> str:
    """Default run storage: a local folder, or a URI pyarrow understands."""
    configured = os.environ.get("RAYMAKER_STORAGE")
    if configured:
        return checked("run storage", configured, Source.EXPLICIT, STORAGE_SETTING)
    path, source = _home()
    return checked("run storage", str(path / "runs"), source, STORAGE_SETTING)


def tracking_uri() -> str:
    """Default MLflow tracking URI: SQLite in the project folder unless one is set."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return checked("MLflow tracking", uri, Source.EXPLICIT, TRACKING_SETTING)
    path, source = _home()
    checked("MLflow tracking", f"sqlite:///{path / 'mlflow.db'}", source, TRACKING_SETTING)
    path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path / 'mlflow.db'}"


def mlflow_artifact_root(tracking: str) -> str | None:
    """Where a new MLflow experiment keeps its artifacts; None leaves it to MLflow.

    MLflow puts them in ``./mlruns`` of the current directory when talking to a database
    directly: in a submitted job that is the throwaway working directory. An MLflow server
    (http://…) decides itself.
    """
    configured = os.environ.get("RAYMAKER_MLFLOW_ARTIFACTS")
    if configured:
        return checked("MLflow artifacts", configured, Source.EXPLICIT, ARTIFACTS_SETTING)
    storage = os.environ.get("RAYMAKER_STORAGE")
    if storage:
        return checked(
            "MLflow artifacts", f"{storage}/mlflow-artifacts", Source.EXPLICIT, ARTIFACTS_SETTING
        )
    if tracking.startswith(("http://", "https://", "databricks")):
        return None
    checked("MLflow artifacts", str(Path("mlruns").resolve()), Source.DEFAULT, ARTIFACTS_SETTING)
    return None
