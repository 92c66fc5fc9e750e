"""``raymaker deploy`` stopped the way service managers stop it (SIGTERM: systemd, docker stop,
Kubernetes) drains, flushes its capture and exits 0.

Before the fix, Ray's core worker's crash handler (abseil's failure-signal handler, which
covers SIGTERM) caught the signal: a native "*** SIGTERM received ***" stack dump and exit 134,
with the sampled records still in the replica's buffer. The command runs as a real subprocess
with its own local Ray, as an operator runs it.
"""

import os
import signal
import subprocess
import sys

import httpx
import pandas as pd
from _factories import xgboost_artifact
from _serve_helpers import wait_for
from _sockets import free_port

from ray_apps import registry


def test_sigterm_drains_flushes_capture_and_exits_0(raymaker_home, tmp_path):
    mv = registry.register(xgboost_artifact(tmp_path / "art"), "sigterm")
    registry.approve("sigterm", mv.version, by="tests")
    port = free_port()
    env = {**os.environ, "RAYMAKER_HOME": str(raymaker_home), "COLUMNS": "200"}
    env.pop("RAY_ADDRESS", None)
    # A second local Ray may run beside this session's: keep HAProxy's admin ports apart.
    env["RAY_SERVE_HAPROXY_STATS_PORT"] = str(free_port())
    env["RAY_SERVE_HAPROXY_METRICS_PORT"] = str(free_port())
    log = tmp_path / "deploy.log"
    cmd = [sys.executable, "-m", "ray_apps.cli", "deploy", "sigterm", "--capture", "100"]
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*cmd, "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    try:
        wait_for(
            lambda: "serving until" in log.read_text() or proc.poll() is not None, 180, "ready"
        )
        assert proc.poll() is None, log.read_text()
        assert registry.get_version("sigterm", mv.version).served_by == ["sigterm"]
        ids = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for i in range(7):
                body = {"instances": [[5.1, 3.5, 1.4, 0.2]] * (i + 1)}
                r = client.post("/v1/models/sigterm:predict", json=body)
                assert r.status_code == 200, r.text
                ids.append(r.headers["x-request-id"])
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert code == 0, text
    assert "SIGTERM received" not in text and "Traceback" not in text, text
    frame = pd.read_parquet(raymaker_home / "capture" / "model=sigterm")
    rows = frame.groupby("request_id").size().to_dict()  # one captured row per request row
    assert rows == {rid: i + 1 for i, rid in enumerate(ids)}  # every request, by shutdown
    assert registry.get_version("sigterm", mv.version).served_by == []
