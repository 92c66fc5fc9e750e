"""A real PostgreSQL for MLflow tracking and its model registry: the ``pgserver`` wheel.

For tests and laptops: a server whose data and unix socket live in one folder (no TCP port,
so nothing else on the machine can reach it by accident), with one database, ``mlflow``.
The MLflow URI is ``postgresql+psycopg://postgres:@/mlflow?host=<folder>``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ray_apps.errors import SpecError

DATABASE = "mlflow"


@dataclass
class Postgres:
    """A running PostgreSQL: its folder, the MLflow tracking URI, the pgserver handle."""

    root: Path
    uri: str
    server: Any

    def stop(self) -> None:
        self.server.cleanup()


def start_postgres(root: Path) -> Postgres:
    """Start (or join) the PostgreSQL whose data is ``root``, with the ``mlflow`` database.

    ``root`` must be a short path: it holds the unix socket (about 100 characters at most).
    """
    root.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # platformdirs, when XDG_RUNTIME_DIR is unset: noise
        warnings.simplefilter("ignore")
        try:
            import pgserver
        except ImportError:
            raise SpecError("no pgserver; install the dev extra: pip install -e '.[dev]'") from None
        server = pgserver.get_server(root, cleanup_mode="stop")
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}';")
        if "1 row" not in exists:
            server.psql(f"CREATE DATABASE {DATABASE};")
    uri = f"postgresql+psycopg://postgres:@/{DATABASE}?host={root}"
    _create_mlflow_tables(uri)
    return Postgres(root, uri, server)


def _create_mlflow_tables(uri: str) -> None:
    """MLflow creates its tables on first use; several processes doing that at once collide
    (seen: four concurrent registrations on a fresh database failed with UniqueViolation on
    pg_type). Creating them once here leaves only MLflow's own version numbering to race."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.search_experiments(max_results=1)
    client.search_registered_models(max_results=1)
