"""One Ray Serve instance for the serve integration tests; applications removed per test."""

from __future__ import annotations

import os

import httpx
import pytest
from _factories import xgboost_artifact
from _serve_helpers import CALLBACK_SECRET_ENV, KEY, PORT

from ray_apps import registry

# Replicas report load every 10 s by default: too slow for scaling tests. Ray reads these when
# it starts, so they are set while pytest collects, before the session's Ray exists.
for _var in (
    "RAY_SERVE_REPLICA_AUTOSCALING_METRIC_PUSH_INTERVAL_S",
    "RAY_SERVE_HANDLE_AUTOSCALING_METRIC_PUSH_INTERVAL_S",
):
    os.environ.setdefault(_var, "0.5")
os.environ.setdefault("RAYMAKER_TEST_KEYS", KEY)
# Replicas read the callback signing key from their environment, inherited from this process.
os.environ.setdefault(CALLBACK_SECRET_ENV, "callback-secret-0123456789abcdef")


@pytest.fixture(scope="session")
def serve_instance(ray_session):
    from ray import serve

    serve.start(http_options={"host": "127.0.0.1", "port": PORT})
    yield f"http://127.0.0.1:{PORT}"
    serve.shutdown()


@pytest.fixture()
def endpoint(serve_instance):
    """The base URL; every application a test deployed is deleted afterwards."""
    from ray import serve

    yield serve_instance
    for name in list(serve.status().applications):
        serve.delete(name)


@pytest.fixture(scope="session")
def iris(tmp_path_factory, raymaker_home):
    """A registered iris model: version 1 Approved, version 2 Approved, version 3 Pending."""
    root = tmp_path_factory.mktemp("iris")
    for rounds in (3, 6, 9):
        mv = registry.register(xgboost_artifact(root / f"r{rounds}", rounds=rounds), "iris")
        if rounds != 9:
            registry.approve("iris", mv.version, by="tests", reason="fixture")
    return "iris"


@pytest.fixture()
def client(endpoint):
    with httpx.Client(base_url=endpoint, timeout=30) as c:
        yield c
