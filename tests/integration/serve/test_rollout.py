"""Guarded rollouts over real Serve HTTP: a candidate failing 20 % of its requests is rolled
back on its own, a healthy one is promoted, and a controller killed mid-rollout is resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import httpx
import pytest
from _serve_helpers import KEY, PORT, wait_for

from serve import deploy
from serve.rollout.controller import rollout_status, run_rollout, start_rollout
from serve.traffic.store import TrafficStore

AUTH = {"Authorization": f"Bearer {KEY}"}
ROW = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [6.7, 3.0, 5.2, 2.3]}]}
INFER = "/ro/v2/models/iris/infer"
# Few requests per step keep the test short. Latency on this shared 2-core box is noise
# (the latency guardrail is pinned with numbers in tests/unit/serve/rollout), so it is
# loosened here; the 5xx guardrail is what the failing candidate must trip.
GUARDS = {"min_requests": 15, "p99_slack_ms": 1000}


@pytest.fixture()
def ro(endpoint, iris, tmp_path):
    """iris:1 on endpoint ro as one version (no variants), and its traffic store."""
    url = f"sqlite:///{tmp_path / 'traffic.db'}"
    spec = {
        "name": "ro",
        "route_prefix": "/ro",
        "models": [{"name": "iris", "version": 1}],
        "auth": {"api_key_envs": ["RAYMAKER_TEST_KEYS"]},
        "traffic_store_url": url,
    }
    deploy(spec, port=PORT)
    return TrafficStore(url)


class Load:
    """Bounded load (3 threads, ~40 req/s): what answered, and every failure."""

    def __init__(self, base: str):
        self.base, self.seen, self.failures = base, [], []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(3)]

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as c:
            while not self._stop.wait(0.07):
                r = c.post(INFER, json=ROW, headers=AUTH)
                variant = r.headers.get("x-raymaker-variant", "-")
                self.seen.append(
                    (time.time(), r.status_code, variant, r.json().get("model_version"))
                )
                if r.status_code != 200:
                    self.failures.append((variant, r.status_code))


def test_a_failing_candidate_is_rolled_back_within_a_bake(ro, endpoint):
    spec = {
        "endpoint": "ro",
        "candidate": "iris:2",
        "steps": [50, 100],
        "bake_s": 20,
        "guardrails": GUARDS,
        "num_cpus": 0.25,
        "fault": {"abort_percent": 20, "abort_status": 503},
    }
    with Load(endpoint) as load:
        started = start_rollout(spec, store=ro)
        assert started["stable"] == "stable" and started["state"]["status"] == "running"
        record = run_rollout("ro", store=ro, tick_s=0.5)
        ended = time.time()
        wait_for(lambda: load.seen and load.seen[-1][0] > ended + 2, 30, "answers after rollback")
    assert record["state"]["status"] == "rolled_back", record["state"]
    assert "5xx" in record["state"]["reason"], record["state"]["reason"]
    rolled_back_at = record["history"][-1]["at"]
    assert rolled_back_at - record["started_at"] < spec["bake_s"], record["history"]
    # Failures came from the candidate only, and none once the stable had all traffic again.
    assert {v for v, _ in load.failures} <= {"candidate"}, load.failures
    after = [s for s in load.seen if s[0] > rolled_back_at + 1.5]
    # ... and the endpoint is what it was before: iris:1, one version, no variants.
    assert after and {(s[1], s[2], s[3]) for s in after} == {(200, "-", "1")}, after[:5]
    # The candidate's replicas are gone; the endpoint serves iris:1 alone.
    from ray import serve

    wait_for(lambda: "ro--candidate" not in serve.status().applications, 30, "candidate gone")
    print(
        "rollback after",
        round(rolled_back_at - record["started_at"], 1),
        "s;",
        Counter(v for v, _ in load.failures),
    )


def test_a_healthy_candidate_is_promoted_and_a_killed_controller_resumes(ro, endpoint, ray_session):
    spec = {
        "endpoint": "ro",
        "candidate": "iris:2",
        "steps": [50, 100],
        "bake_s": 6,
        "guardrails": GUARDS,
    }
    with Load(endpoint) as load:
        start_rollout(spec, store=ro)
        # The controller in its own process, joined to this Ray; killed while it bakes step 1.
        env = {**os.environ, "RAY_ADDRESS": ray_session}
        store_url = ro.url
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ray_apps.cli",
                "rollout",
                "resume",
                "ro",
                "--store-url",
                store_url,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            # Killed once the candidate has taken some traffic: mid-step, mid-bake.
            wait_for(
                lambda: sum(s[2] == "candidate" for s in load.seen) >= 10, 60, "candidate traffic"
            )
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            out = proc.communicate()[0].decode(errors="replace")
        mid = rollout_status("ro", store=ro)
        assert mid["state"]["status"] in ("running", "holding"), (mid["state"], out)
        # Resumed here: the same rollout (same start), from where it was, to promotion.
        record = run_rollout("ro", store=ro, tick_s=0.5)
        done = time.time()
        wait_for(lambda: load.seen and load.seen[-1][0] > done + 2, 30, "answers after promote")
    assert record["started_at"] == mid["started_at"]
    assert record["state"]["status"] == "promoted", record["state"]
    assert [h["action"] for h in record["history"]][-2:] == ["advance", "promote"], record[
        "history"
    ]
    assert load.failures == [], load.failures[:5]
    after = [s for s in load.seen if s[0] > done + 0.5]
    # The endpoint serves the candidate's version alone, in its own replicas.
    assert {(s[2], s[3]) for s in after} == {("-", "2")}, after[:5]
    from ray import serve

    wait_for(lambda: "ro--candidate" not in serve.status().applications, 30, "candidate gone")
