"""Constants and polling helpers of the serve integration tests (importable by name)."""

from __future__ import annotations

PORT = 8123
KEY = "test-key-0123456789"
CALLBACK_SECRET_ENV = "RAYMAKER_TEST_CALLBACK_SECRET"
# An admin key for endpoints that Ray workers redeploy (a pipeline's rollout step): workers read
# the key variables a spec names from the environment Ray started with, so it is set before.
WORKER_ADMIN_ENV, WORKER_ADMIN_KEY = "RAYMAKER_TEST_WORKER_ADMIN_KEYS", "admin-key-worker-0123456"


def replicas(app: str) -> int:
    """Running replicas of an application's endpoint deployment."""
    from ray import serve

    status = serve.status().applications.get(app)
    if status is None:
        return 0
    dep = status.deployments["endpoint"]
    return dep.replica_states.get("RUNNING", 0)


def wait_for(condition, timeout_s: float, what: str, interval_s: float = 0.1):
    """Poll ``condition`` until it returns truthy; fail naming ``what`` after the timeout."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def consumer_replicas(app: str) -> int:
    """Running replicas of an application's async consumer deployment."""
    from ray import serve

    status = serve.status().applications.get(app)
    if status is None or "async-consumer" not in status.deployments:
        return 0
    return status.deployments["async-consumer"].replica_states.get("RUNNING", 0)
