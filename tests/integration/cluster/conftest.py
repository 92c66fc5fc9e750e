"""Real shared storage and tracking for the cluster tests: SeaweedFS (S3) and PostgreSQL.

One pair of servers for the session, in a short temporary folder (PostgreSQL's unix socket
lives there); each test gets its own S3 prefix and MLflow experiment through the environment.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from ray_apps.devservers.session import DevServers, dev_servers


@pytest.fixture(scope="session")
def servers() -> DevServers:
    folder = Path(tempfile.mkdtemp(prefix="rm-dev-"))  # TMPDIR: short, for socket paths
    try:
        with dev_servers(folder) as running:
            yield running
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def shared_env(servers, monkeypatch) -> dict[str, str]:
    """This test's settings: runs under a fresh S3 prefix, tracking on PostgreSQL."""
    env = servers.env(storage_prefix=f"t-{uuid.uuid4().hex[:8]}/runs")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("RAYMAKER_MLFLOW_ARTIFACTS", raising=False)
    return env
