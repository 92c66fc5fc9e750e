"""One local Ray for the whole integration session (starting Ray costs seconds), and one Ray
Serve on it for the tests that serve (applications removed per test)."""

from __future__ import annotations

import os

import pytest
from _serve_helpers import CALLBACK_SECRET_ENV, KEY, PORT, WORKER_ADMIN_ENV, WORKER_ADMIN_KEY

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
os.environ.setdefault(WORKER_ADMIN_ENV, WORKER_ADMIN_KEY)


@pytest.fixture(scope="session")
def ray_session(raymaker_home):
    import ray

    from ray_apps._ray_runtime import ensure_ray

    ensure_ray()
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


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
