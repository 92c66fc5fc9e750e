"""Both servers together, and the settings that point raymaker at them.

``dev_servers(folder)`` starts SeaweedFS and PostgreSQL with their data under ``folder`` and
writes ``folder/env.sh`` (mode 600: it holds the store's generated keys) with the exports a
shell, a ``ray start`` and ``raymaker submit`` need.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ray_apps.devservers.object_store import ObjectStore, start_object_store
from ray_apps.devservers.postgres import Postgres, start_postgres


@dataclass
class DevServers:
    store: ObjectStore
    postgres: Postgres
    env_file: Path

    def env(self, storage_prefix: str = "runs") -> dict[str, str]:
        """Where raymaker should keep runs and track them, and how to reach the store."""
        return {
            **self.store.env(),
            "RAYMAKER_STORAGE": f"s3://{self.store.bucket}/{storage_prefix}",
            "MLFLOW_TRACKING_URI": self.postgres.uri,
        }


@contextmanager
def dev_servers(folder: Path) -> Iterator[DevServers]:
    """Start both servers under ``folder``; stop both on exit."""
    folder = folder.resolve()
    store = start_object_store(folder / "s3")
    try:
        postgres = start_postgres(folder / "pg")
        try:
            servers = DevServers(store, postgres, folder / "env.sh")
            _write_env(servers.env_file, servers.env())
            yield servers
        finally:
            postgres.stop()
    finally:
        store.stop()


def _write_env(path: Path, env: dict[str, str]) -> None:
    path.touch(mode=0o600)
    path.write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items()))
