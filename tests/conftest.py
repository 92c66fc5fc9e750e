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


_TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """``make test`` runs two pytest processes (pytest-xdist, ``--dist loadgroup``): each tier
    goes whole to one of them, so the integration tier's session Ray, Serve and servers start
    once and module fixtures are never split, while the unit tier (no Ray) runs beside it."""
    for item in items:
        tier = item.path.resolve().relative_to(_TESTS).parts[0]
        item.add_marker(pytest.mark.xdist_group(tier))
