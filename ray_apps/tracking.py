"""Experiment tracking on MLflow: one MLflow run per raymaker run.

The embedded default is a SQLite store in the project folder; set ``MLFLOW_TRACKING_URI`` (or
the job's ``tracking.uri``) to a Postgres-backed MLflow server on a cluster. ``mlflow ui
--backend-store-uri <uri>`` on the same store shows the runs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ray_apps import settings
from ray_apps.locations import Source

# MLflow logs its schema migrations at INFO on every new SQLite store: noise for users.
logging.getLogger("alembic").setLevel(logging.WARNING)
logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)


def resolve_uri(uri: str | None) -> str:
    """``uri`` (the job's ``tracking.uri``) or the configured default, checked for a job."""
    if uri:
        return settings.checked("MLflow tracking", uri, Source.EXPLICIT, settings.TRACKING_SETTING)
    return settings.tracking_uri()


def shown_uri(uri: str) -> str:
    """``uri`` fit to print: a password in it (``postgresql://user:secret@host/db``) becomes
    ``***``, since job logs outlive the job and are readable by anyone who can list jobs."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def _client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def open_run(
    uri: str, experiment: str, run_name: str, params: dict[str, Any], tags: dict[str, str]
) -> str:
    """Create the MLflow run for a raymaker run and log its parameters; returns its id."""
    client = _client(uri)
    exp = client.get_experiment_by_name(experiment)
    exp_id = (
        exp.experiment_id
        if exp
        else client.create_experiment(
            experiment, artifact_location=settings.mlflow_artifact_root(uri)
        )
    )
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
    status: str | None = None,
) -> None:
    """Log final metrics and the artifact folder, then close the run (``status``: MLflow's,
    e.g. KILLED for a run a health rule stopped; default FINISHED, or FAILED)."""
    client = _client(uri)
    for key, value in (metrics or {}).items():
        client.log_metric(run_id, f"test_{key}", float(value))
    if artifact_dir is not None:
        client.log_artifacts(run_id, str(artifact_dir), artifact_path="model")
    client.set_terminated(run_id, status=status or ("FAILED" if failed else "FINISHED"))


def log_file(uri: str, run_id: str, path: str, artifact_path: str) -> None:
    """Log the file at ``path`` (a local path or a storage URI) as an artifact of the run,
    under the folder ``artifact_path``."""
    client = _client(uri)
    if "://" not in path:
        client.log_artifact(run_id, path, artifact_path=artifact_path)
        return
    import tempfile

    import fsspec

    with tempfile.TemporaryDirectory(prefix="raymaker-artifact-") as tmp:
        local = Path(tmp) / path.rstrip("/").rsplit("/", 1)[-1]
        with fsspec.open(path, "rb") as src:
            local.write_bytes(src.read())
        client.log_artifact(run_id, str(local), artifact_path=artifact_path)


def delete_tag(uri: str, run_id: str, key: str) -> None:
    """Remove tag ``key`` from the run if it has it."""
    client = _client(uri)
    if key in client.get_run(run_id).data.tags:
        client.delete_tag(run_id, key)


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


def log_child_run(
    uri: str,
    parent_run_id: str,
    name: str,
    params: dict[str, Any],
    history: list[dict[str, float]],
    tags: dict[str, str] | None = None,
) -> str:
    """A finished child run (one tuning trial) under ``parent_run_id``, with its metric history."""
    from mlflow.entities import Metric, Param

    client = _client(uri)
    parent = client.get_run(parent_run_id)
    run = client.create_run(
        parent.info.experiment_id,
        run_name=name,
        tags={"mlflow.parentRunId": parent_run_id, **(tags or {})},
    )
    run_id = run.info.run_id
    params_list = [Param(k, str(v)[:6000]) for k, v in params.items()]
    metrics = [
        Metric(k, float(v), int(row.get("timestamp", 0) * 1000), int(row.get("epoch", i + 1)))
        for i, row in enumerate(history)
        for k, v in row.items()
        if k not in ("epoch", "timestamp")
        and isinstance(v, (int, float))
        and not isinstance(v, bool)
    ]
    for i in range(0, len(params_list), 100):  # MLflow's batch limits: 100 params, 1000 metrics
        client.log_batch(run_id, params=params_list[i : i + 100])
    for i in range(0, len(metrics), 1000):
        client.log_batch(run_id, metrics=metrics[i : i + 1000])
    client.set_terminated(run_id, status="FINISHED")
    return run_id
