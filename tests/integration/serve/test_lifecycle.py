"""Autoscaling 1 → 2 → 1, scale-to-zero with a buffered first request, a rollout without a
failed request, and dynamic batching, all over real HTTP on 127.0.0.1."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from _serve_helpers import PORT, replicas, wait_for

from ray_apps.errors import ApprovalError
from serve import deploy

BODY = {"instances": [[5.1, 3.5, 1.4, 0.2]]}


class Load:
    """``clients`` threads posting until stopped (bounded by ``max_s``); records every answer."""

    def __init__(self, url: str, clients: int, max_s: float = 60.0, body=BODY):
        self.url, self.body, self.results = url, body, []
        self._stop = threading.Event()
        self._deadline = time.monotonic() + max_s
        self._threads = [threading.Thread(target=self._run) for _ in range(clients)]

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join()

    def _run(self):
        with httpx.Client(timeout=30) as c:
            while not self._stop.is_set() and time.monotonic() < self._deadline:
                try:
                    r = c.post(self.url, json=self.body)
                    self.results.append((r.status_code, r.json().get("model_version")))
                except httpx.HTTPError as err:
                    self.results.append((type(err).__name__, None))


def _spec(name, version, **kw):
    return {"name": name, "models": [{"name": "iris", "version": version}], **kw}


def test_scales_from_1_to_2_under_load_and_back(endpoint, iris):
    autoscaling = {
        "min_replicas": 1,
        "max_replicas": 2,
        "target_ongoing_requests": 0.2,
        "upscale_delay_s": 0,
        "downscale_delay_s": 2,
        "look_back_period_s": 11,  # just above Ray's 10 s metrics_interval_s
    }
    deploy(_spec("scaling", 1, autoscaling=autoscaling, num_cpus=0.1), port=PORT)
    assert replicas("scaling") == 1
    with Load(f"{endpoint}/v1/models/iris:predict", clients=8) as load:
        wait_for(lambda: replicas("scaling") == 2, 60, "2 replicas under load")
    assert load.results and all(s == 200 for s, _ in load.results)
    wait_for(lambda: replicas("scaling") == 1, 60, "back to 1 replica without load")


def test_scale_to_zero_buffers_the_first_request(endpoint, iris, client):
    autoscaling = {
        "min_replicas": 0,
        "max_replicas": 1,
        "downscale_to_zero_delay_s": 1,
        "look_back_period_s": 11,
        "upscale_delay_s": 0,
    }
    deploy(_spec("zero", 1, autoscaling=autoscaling), port=PORT)
    wait_for(lambda: replicas("zero") == 0, 30, "zero replicas")
    r = client.post("/v1/models/iris:predict", json=BODY)  # cold start: waits, not fails
    assert r.status_code == 200 and r.json()["model_version"] == "1"
    assert replicas("zero") == 1
    wait_for(lambda: replicas("zero") == 0, 60, "scaled back to zero")


def test_rollout_to_a_new_version_fails_no_request(endpoint, iris):
    deploy(_spec("roll", 1), port=PORT)
    with Load(f"{endpoint}/v1/models/iris:predict", clients=4) as load:
        wait_for(lambda: len(load.results) > 20, 30, "traffic on version 1")
        deploy(_spec("roll", 2), port=PORT)
        wait_for(lambda: load.results[-1][1] == "2", 30, "answers from version 2")
        seen = len(load.results)
        wait_for(lambda: len(load.results) > seen + 20, 30, "traffic on version 2")
    statuses = {s for s, _ in load.results}
    versions = [v for _, v in load.results]
    assert statuses == {200}, statuses
    assert versions[0] == "1" and versions[-1] == "2"
    assert "1" not in versions[versions.index("2") + 8 :]  # once swapped, stays swapped


def test_unapproved_version_does_not_deploy_unless_forced(endpoint, iris, client):
    with pytest.raises(ApprovalError, match="iris:3 is Pending"):
        deploy(_spec("pending", 3), port=PORT)
    deploy({"name": "forced", "models": [{"name": "iris", "version": 3, "force": True}]}, port=PORT)
    assert client.get("/v2/models/iris").json()["versions"] == ["3"]


def test_dynamic_batching_groups_concurrent_requests(endpoint, iris):
    batching = {"max_batch_size": 8, "batch_wait_timeout_s": 0.2}
    deploy(_spec("batched", 1, batching=batching, max_ongoing_requests=16), port=PORT)

    def call(i):
        with httpx.Client(timeout=30) as c:
            rows = {"instances": [[5.1, 3.5, 1.4, 0.2]] * (i + 1)}
            r = c.post(f"{endpoint}/v1/models/iris:predict", json=rows)
            return (
                r.status_code,
                len(r.json()["predictions"]),
                r.headers.get("x-raymaker-batch-requests"),
            )

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(call, range(8)))
    assert [(s, n) for s, n, _ in results] == [(200, i + 1) for i in range(8)]
    assert max(int(b) for _, _, b in results) > 1  # answers computed in one model call
