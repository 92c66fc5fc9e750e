"""Experiment tracking on MLflow: one MLflow run per raymaker run.

The embedded default is a SQLite store in the project folder; set ``MLFLOW_TRACKING_URI`` (or
the job's ``tracking.uri``) to a Postgres-backed MLflow server on a cluster. ``mlflow ui
--backend-store-uri <uri>`` on the same store shows the runs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ray_apps import settings

# MLflow logs its schema migrations at INFO on every new SQLite store: noise for users.
logging.getLogger("alembic").setLevel(logging.WARNING)


def resolve_uri(uri: str | None) -> str:
    return uri or settings.tracking_uri()


def _client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def open_run(
    uri: str, experiment: str, run_name: str, params: dict[str, Any], tags: dict[str, str]
) -> str:
    """Create the MLflow run for a raymaker run and log its parameters; returns its id."""
    client = _client(uri)
    exp = client.get_experiment_by_name(experiment)
    exp_id = exp.experiment_id if exp else client.create_experiment(experiment)
    run = client.create_run(exp_id, run_name=run_name, tags=tags)
    from mlflow.entities import Param

    items = [Param(k, str(v)[:6000]) for k, v in params.items()]
    for i in range(0, len(items), 100):  # MLflow takes at most 100 params per batch
        client.log_batch(run.info.run_id, params=items[i : i + 100])
    return run.info.run_id


def finish_run(
    uri: str,
    run_id: str,
    *,
    metrics: dict[str, float] | None = None,
    artifact_dir: Path | None = None,
    failed: bool = False,
) -> None:
    """Log final metrics and the artifact folder, then close the run."""
    client = _client(uri)
    for key, value in (metrics or {}).items():
        client.log_metric(run_id, f"test_{key}", float(value))
    if artifact_dir is not None:
        client.log_artifacts(run_id, str(artifact_dir), artifact_path="model")
    client.set_terminated(run_id, status="FAILED" if failed else "FINISHED")


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}``, for MLflow params."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{name}."))
        elif value is not None:
            out[name] = value
    return out
