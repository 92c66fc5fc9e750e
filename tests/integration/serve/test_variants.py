"""Variants on one endpoint over real Serve HTTP: the weighted split, the target header, sticky
routing keys, weights changed under load with no request dropped, and the admin surface."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from _serve_helpers import KEY, PORT, wait_for
from scipy.stats import binom

from serve import deploy

ADMIN_KEY = "admin-key-variants-5551"
AUTH = {"Authorization": f"Bearer {KEY}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
ROW = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [5.1, 3.5, 1.4, 0.2]}]}
INFER = "/ab/v2/models/iris/infer"


@pytest.fixture()
def ab(endpoint, iris, monkeypatch, tmp_path):
    """iris:1 as prod (weight 90) in the endpoint's replicas, iris:2 as cand (10) on its own."""
    monkeypatch.setenv("RAYMAKER_TEST_ADMIN_KEYS", ADMIN_KEY)
    spec = {
        "name": "ab",
        "route_prefix": "/ab",
        "variants": [
            {"name": "prod", "model": "iris:1", "weight": 90},
            {
                "name": "cand",
                "model": "iris:2",
                "weight": 10,
                "num_cpus": 0.25,
                "autoscaling": {"min_replicas": 1, "max_replicas": 1},
            },
        ],
        "auth": {
            "api_key_envs": ["RAYMAKER_TEST_KEYS"],
            "admin_key_envs": ["RAYMAKER_TEST_ADMIN_KEYS"],
        },
        "traffic_store_url": f"sqlite:///{tmp_path / 'traffic.db'}",
    }
    info = deploy(spec, port=PORT)
    assert sorted(info.models) == ["iris:1", "iris:2"]
    return endpoint


def _send(client: httpx.Client, n: int, headers: dict | None = None) -> list[httpx.Response]:
    with ThreadPoolExecutor(8) as pool:
        return list(
            pool.map(
                lambda _: client.post(INFER, json=ROW, headers={**AUTH, **(headers or {})}),
                range(n),
            )
        )


def _variants(replies: list[httpx.Response]) -> Counter:
    assert [r.status_code for r in replies] == [200] * len(replies), replies[0].text
    seen = Counter()
    for r in replies:
        variant = r.headers["x-raymaker-variant"]
        # The answer comes from the version the variant serves.
        assert r.json()["model_version"] == {"prod": "1", "cand": "2"}[variant]
        seen[variant] += 1
    return seen


def test_split_pin_sticky_and_weights_changed_under_load(ab, client):
    n = 1000
    seen = _variants(_send(client, n))
    low, high = binom.interval(0.999, n, 0.10)
    assert low <= seen["cand"] <= high, seen

    # The target header pins any variant; an unknown one is a 400 naming the variants.
    assert _variants(_send(client, 20, {"X-Raymaker-Target-Variant": "cand"})) == {"cand": 20}
    r = client.post(INFER, json=ROW, headers={**AUTH, "X-Raymaker-Target-Variant": "nope"})
    assert r.status_code == 400 and "['prod', 'cand']" in r.json()["error"]

    # The same routing key lands on the same variant; different keys reach both.
    by_key = {}
    for key in (f"user-{i}" for i in range(80)):  # P(no key on cand) = 0.9**80 = 2e-4
        got = {
            client.post(INFER, json=ROW, headers={**AUTH, "X-Raymaker-Routing-Key": key}).headers[
                "x-raymaker-variant"
            ]
            for _ in range(3)
        }
        assert len(got) == 1, (key, got)
        by_key[key] = got.pop()
    assert set(by_key.values()) == {"prod", "cand"}

    # Weights are an admin action.
    body = {"weights": {"prod": 50, "cand": 50}}
    assert client.post("/ab/admin/traffic", json=body, headers=AUTH).status_code == 403
    assert client.get("/ab/admin/traffic", headers=ADMIN).json()["shares"]["cand"] == 10.0

    # Changed under load: no request fails, and the new split takes over.
    failures, sent, stop = [], [0], threading.Event()

    def load() -> None:
        with httpx.Client(base_url=ab, timeout=30) as c:
            while not stop.is_set():
                r = c.post(INFER, json=ROW, headers=AUTH)
                sent[0] += 1
                if r.status_code != 200:
                    failures.append((r.status_code, r.text))

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        changed = client.post("/ab/admin/traffic", json=body, headers=ADMIN)
        assert changed.status_code == 200, changed.text
        assert changed.json()["shares"] == {"prod": 50.0, "cand": 50.0}
        bad = client.post("/ab/admin/traffic", json={"weights": {"x": 1}}, headers=ADMIN)
        assert bad.status_code == 400 and "not variants" in bad.json()["error"]
        # Every replica takes the store's table within REFRESH_S; then the split is 50/50.
        _send(client, 50)
        after = _variants(_send(client, 400))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert failures == [] and sent[0] > 50, (failures[:3], sent)
    low, high = binom.interval(0.999, 400, 0.5)
    assert low <= after["cand"] <= high, after


def test_a_variant_without_replica_settings_is_answered_in_the_endpoints_replicas(
    endpoint, iris, client, tmp_path
):
    """cand (iris:2) and a shadow (iris:2 again) loaded beside prod (iris:1): no app of their
    own, each request answered by the version of the variant it was sent to, the shadow's
    answers captured as such."""
    from ray import serve

    from ray_apps.capture.reader import read_capture
    from ray_apps.errors import NotFoundError

    spec = {
        "name": "shared",
        "route_prefix": "/shared",
        "variants": [
            {"name": "prod", "model": "iris:1", "weight": 50},
            {"name": "cand", "model": "iris:2", "weight": 50},
            {"name": "dark", "model": "iris:2", "weight": 0},
        ],
        "shadow": {"variant": "dark", "percent": 100},
        "auth": {"api_key_envs": ["RAYMAKER_TEST_KEYS"]},
        "capture": {"percent": 100, "path": str(tmp_path / "capture"), "flush_interval_s": 0.2},
        "traffic_store_url": f"sqlite:///{tmp_path / 'traffic.db'}",
    }
    info = deploy(spec, port=PORT)
    assert sorted(info.models) == ["iris:1", "iris:2"]
    assert not [a for a in serve.status().applications if a.startswith("shared--")]
    infer = "/shared/v2/models/iris/infer"
    replies = [client.post(infer, json=ROW, headers=AUTH) for _ in range(60)]
    seen = Counter()
    for r in replies:
        assert r.status_code == 200, r.text
        variant = r.headers["x-raymaker-variant"]
        assert r.json()["model_version"] == {"prod": "1", "cand": "2"}[variant]
        seen[variant] += 1
    assert set(seen) == {"prod", "cand"}, seen  # P(one side never drawn) = 2 * 0.5**60
    # Pinned by header or by the version in the path: answered here, by that version.
    pinned = client.post(infer, json=ROW, headers={**AUTH, "X-Raymaker-Target-Variant": "cand"})
    assert (pinned.headers["x-raymaker-variant"], pinned.json()["model_version"]) == ("cand", "2")
    by_path = client.post("/shared/v2/models/iris/versions/2/infer", json=ROW, headers=AUTH)
    assert by_path.status_code == 200 and by_path.json()["model_version"] == "2"
    assert by_path.headers["x-raymaker-variant"] in ("cand", "dark")

    ids = {r.headers["x-request-id"] for r in replies}

    def shadowed():
        try:
            frame = read_capture(tmp_path / "capture", "iris", version=2)
        except NotFoundError:  # nothing flushed yet
            return None
        frame = frame[frame.shadow & frame.request_id.isin(ids)]
        return [frame] if len(frame) == len(ids) else None

    (frame,) = wait_for(shadowed, 30, "a shadow answer for every request")
    assert set(frame.variant) == {"dark"}
