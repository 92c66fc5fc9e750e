"""Shared fixtures. Integration tests share one local Ray for the whole session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Serve's HAProxy writes its config and sockets to a hard-coded /tmp/haproxy-serve; every Ray
# the tests start (the session's, `raymaker deploy` subprocesses, multi-node clusters) inherits
# these and writes into the temp folder in force instead (make test's private one).
from serve.ingress import haproxy_paths

for _key, _value in haproxy_paths().items():
    os.environ.setdefault(_key, _value)


@pytest.fixture(scope="session", autouse=True)
def raymaker_home(tmp_path_factory) -> Path:
    """Every test writes runs and the MLflow store into one temporary project folder."""
    home = tmp_path_factory.mktemp("raymaker_home")
    os.environ["RAYMAKER_HOME"] = str(home)
    os.environ.pop("RAYMAKER_STORAGE", None)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    return home


def pytest_xdist_make_scheduler(config, log):
    """``make test`` runs two pytest processes (pytest-xdist): each tier goes whole to one of
    them, in order, so the integration tier's session Ray, Serve and servers start once and its
    module fixtures are never split, while the unit tier (no Ray) runs beside it. A scope per
    tier (xdist's ``loadgroup`` marks would say the same, but xdist 3.8 writes the group into
    ``item._nodeid``, which pytest 9.2 no longer reads: both processes got integration tests,
    each started a Ray, and their Serves shared one port)."""
    from xdist.scheduler import LoadScopeScheduling

    class ByTier(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return nodeid.split("/", 2)[1]  # tests/<tier>/…

    return ByTier(config, log)
