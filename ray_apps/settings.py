"""Where raymaker keeps things, and which Ray it talks to.

The embedded default puts everything under one project-local folder (``./raymaker_data``):
run storage, the SQLite MLflow store and artifacts. A cluster changes addresses only, through
environment variables (or the job spec's own ``storage`` / ``tracking`` fields):

    RAYMAKER_HOME            local folder for the embedded default     (./raymaker_data)
    RAYMAKER_STORAGE         run storage path or URI (s3://, gs://, …)  ($RAYMAKER_HOME/runs)
    MLFLOW_TRACKING_URI      MLflow store; Postgres-backed server in production
                                                                        (sqlite:///$RAYMAKER_HOME/mlflow.db)
    RAY_ADDRESS              an existing Ray cluster ("auto", "ray://…"); unset starts local Ray
"""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """The project-local folder of the embedded default."""
    return Path(os.environ.get("RAYMAKER_HOME", "raymaker_data")).resolve()


def storage_path() -> str:
    """Default run storage: a local folder, or a URI pyarrow understands."""
    return os.environ.get("RAYMAKER_STORAGE") or str(home() / "runs")


def tracking_uri() -> str:
    """Default MLflow tracking URI: SQLite in the project folder unless one is set."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    home().mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{home() / 'mlflow.db'}"
