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


# Integration modules whose Ray runs in child processes of their own (a cluster the module
# starts, a notebook's kernel) and never the session's: the longest of them (test_job_submit's
# cluster, ~3 min) need not wait in the integration tier's line, so they run in the other
# process once the unit tier is done. A test here that asks for the session's Ray or Serve is
# refused at collection (pytest_collection_modifyitems), naming this list.
OWN_RAY_MODULES = (
    "tests/integration/cluster/test_job_submit.py",
    "tests/integration/serve/test_multi_model_routing.py",
    "tests/integration/test_local_cluster.py",
    "tests/integration/test_quickstart_notebook.py",
)
_SESSION_RAY_FIXTURES = {"ray_session", "serve_instance", "endpoint"}


def scope_of(nodeid: str) -> str:
    """The scope a test runs in under ``make test``: its tier (``tests/<tier>/…``), or
    ``own-ray`` for the modules of ``OWN_RAY_MODULES``."""
    if nodeid.split("::", 1)[0] in OWN_RAY_MODULES:
        return "own-ray"
    return nodeid.split("/", 2)[1]


def pytest_xdist_make_scheduler(config, log):
    """``make test`` runs two pytest processes (pytest-xdist): each scope (``scope_of``) goes
    whole to one of them, the largest first, so the integration tier's session Ray, Serve and
    servers start once and its module fixtures are never split, while the unit tier (no Ray)
    and then the own-Ray modules run beside it. A scope per tier (xdist's ``loadgroup`` marks
    would say the same, but xdist 3.8 writes the group into ``item._nodeid``, which pytest 9.2
    no longer reads: both processes got integration tests, each started a Ray, and their Serves
    shared one port)."""
    from xdist.scheduler import LoadScopeScheduling

    class ByTier(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

    return ByTier(config, log)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if scope_of(item.nodeid) == "own-ray":
            asked = _SESSION_RAY_FIXTURES & set(getattr(item, "fixturenames", ()))
            if asked:
                raise pytest.UsageError(
                    f"{item.nodeid} asks for the session's Ray ({', '.join(sorted(asked))}) "
                    "but its module is in tests/conftest.py's OWN_RAY_MODULES, which run in "
                    "another process: take it off that list, or start its own Ray"
                )
