"""``raymaker dev-servers``: a real S3 store and PostgreSQL on this machine, until Ctrl-C.

raymaker dev-servers --dir raymaker_data/dev-servers
source raymaker_data/dev-servers/env.sh

SeaweedFS (S3 on a random 127.0.0.1 port) and PostgreSQL (unix socket in the folder) with their
data under ``--dir``; ``env.sh`` exports RAYMAKER_STORAGE, MLFLOW_TRACKING_URI and the S3
endpoint and keys for the shells that start Ray and submit jobs.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer


def attach(app: typer.Typer) -> None:
    app.command("dev-servers")(dev_servers)


def dev_servers(
    dir: Annotated[Path, typer.Option(help="data, sockets and env.sh")] = Path(
        "raymaker_data/dev-servers"
    ),
) -> None:
    """Run a local S3 store (SeaweedFS) and PostgreSQL for shared storage and tracking."""
    from ray_apps.devservers.session import dev_servers as start

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with start(dir) as servers:
        env = servers.env()
        print(f"S3 (SeaweedFS)  {servers.store.endpoint}  bucket {servers.store.bucket}")
        print(f"PostgreSQL      {servers.postgres.uri}")
        print(f"RAYMAKER_STORAGE={env['RAYMAKER_STORAGE']}")
        print(f"settings for other shells: source {servers.env_file}")
        print("Ctrl-C stops both (the data stays in the folder).", flush=True)
        stop.wait()
