"""Constants and polling helpers of the serve integration tests (importable by name)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from _sockets import free_ports

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


def haproxy_servers_up(stats_port: int) -> int:
    """Replica servers HAProxy has UP, read from its stats page (CSV)."""
    import httpx

    try:
        text = httpx.get(f"http://127.0.0.1:{stats_port}/stats;csv", timeout=2).text
    except httpx.HTTPError:
        return 0
    return sum(1 for line in text.splitlines() if "SERVE_REPLICA_" in line and ",UP," in line)


def consumer_replicas(app: str) -> int:
    """Running replicas of an application's async consumer deployment."""
    from ray import serve

    status = serve.status().applications.get(app)
    if status is None or "async-consumer" not in status.deployments:
        return 0
    return status.deployments["async-consumer"].replica_states.get("RUNNING", 0)


@dataclass
class DeployProcess:
    """A ``raymaker deploy`` running in a process of its own (its own Ray, its own HAProxy)."""

    proc: subprocess.Popen
    port: int  # the endpoint's HTTP port on 127.0.0.1
    stats_port: int  # HAProxy's stats page
    log: Path


@contextlib.contextmanager
def deploy_process(args: list[str], raymaker_home, log: Path, **env: str):
    """Run ``raymaker deploy ARGS`` until it serves behind HAProxy; SIGTERM it at the end, as a
    service manager stops it. Its Ray is its own, whatever the tests' session joined; ``env``
    adds variables (key variables a spec names)."""
    port, stats, metrics = free_ports(3)
    environ = {**os.environ, "RAYMAKER_HOME": str(raymaker_home), "COLUMNS": "200", **env}
    environ.pop("RAY_ADDRESS", None)
    environ["RAY_SERVE_HAPROXY_STATS_PORT"] = str(stats)
    environ["RAY_SERVE_HAPROXY_METRICS_PORT"] = str(metrics)
    cmd = [sys.executable, "-m", "ray_apps.cli", "deploy", *args, "--port", str(port)]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=environ)
    try:
        wait_for(lambda: "serving until" in log.read_text() or proc.poll() is not None, 180, "up")
        assert proc.poll() is None, log.read_text()
        assert "ingress: HAProxy" in log.read_text()
        yield DeployProcess(proc, port, stats, log)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
