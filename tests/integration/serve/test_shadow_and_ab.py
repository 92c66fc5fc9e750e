"""Shadow traffic and the A/B readout over real Serve HTTP: a slow or failing shadow never
changes the caller's answer, latency or success; both answers of a mirrored request are
captured under its id; posted labels give each variant's accuracy with an always-valid test."""

from __future__ import annotations

import statistics
import time

from _serve_helpers import KEY, PORT, wait_for
from sklearn.datasets import load_iris

from ray_apps.capture.reader import read_capture
from ray_apps.errors import NotFoundError
from serve import deploy
from serve.traffic.store import TrafficStore

AUTH = {"Authorization": f"Bearer {KEY}"}
X, Y = load_iris(return_X_y=True)


def _row(i: int) -> dict:
    return {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": list(X[i])}]}


def _spec(tmp_path, name: str, variants: list[dict], shadow: dict | None = None) -> dict:
    spec = {
        "name": name,
        "route_prefix": f"/{name}",
        "variants": variants,
        "auth": {"api_key_envs": ["RAYMAKER_TEST_KEYS"]},
        "capture": {"percent": 100, "path": str(tmp_path / "capture"), "flush_interval_s": 0.5},
        "traffic_store_url": f"sqlite:///{tmp_path / 'traffic.db'}",
    }
    return {**spec, "shadow": shadow} if shadow else spec


PROD = {"name": "prod", "model": "iris:1", "weight": 1}


def test_a_slow_then_failing_shadow_never_reaches_the_caller(endpoint, iris, tmp_path, client):
    slow = {"name": "cand", "model": "iris:2", "weight": 0, "fault": {"delay_ms": 400}}
    deploy(_spec(tmp_path, "sh", [PROD, slow], {"variant": "cand", "percent": 100}), port=PORT)
    infer = "/sh/v2/models/iris/infer"
    direct = [
        client.post(infer, json=_row(i), headers={**AUTH, "X-Raymaker-Target-Variant": "prod"})
        for i in range(0, 150, 5)
    ]
    times, ids = [], []
    for n, i in enumerate(range(0, 150, 5)):
        start = time.perf_counter()
        r = client.post(infer, json=_row(i), headers=AUTH)
        times.append(time.perf_counter() - start)
        assert r.status_code == 200 and r.headers["x-raymaker-variant"] == "prod"
        # The shadow never changes the caller's answer.
        assert r.json()["outputs"] == direct[n].json()["outputs"]
        ids.append(r.headers["x-request-id"])
    # The shadow waits 400 ms per request; the caller does not.
    assert statistics.median(times) < 0.2, times

    def pairs():
        try:
            shadow = read_capture(tmp_path / "capture", "iris", version=2)
        except NotFoundError:  # the replica has not flushed its first file yet
            return None
        shadow = shadow[shadow.shadow & shadow.request_id.isin(ids)]
        return [shadow] if len(shadow) == len(ids) else None

    (shadow,) = wait_for(pairs, 30, "every shadow answer captured")
    assert set(shadow.variant) == {"cand"}
    prod = read_capture(tmp_path / "capture", "iris", version=1)
    prod = prod[prod.request_id.isin(ids)]
    assert not prod.shadow.any() and set(prod.variant) == {"prod"} and len(prod) == len(ids)

    from ray_apps.experiments import shadow_report

    report = shadow_report(tmp_path / "capture", "iris", shadow="cand").to_dict()
    assert report["windows"][0]["pairs"] >= len(ids), report

    # A shadow that fails every request: the caller's success rate stays 100 %, and the
    # shadow's failures are counted for it in the traffic store.
    failing = {**slow, "fault": {"abort_percent": 100}}
    deploy(_spec(tmp_path, "sh", [PROD, failing], {"variant": "cand", "percent": 100}), port=PORT)
    since = time.time()
    replies = [client.post(infer, json=_row(i), headers=AUTH) for i in range(40)]
    assert [r.status_code for r in replies] == [200] * 40
    store = TrafficStore(f"sqlite:///{tmp_path / 'traffic.db'}")
    counted = wait_for(
        lambda: (
            (s := store.stats_since("sh", since)).get("cand") and s["cand"].requests >= 40 and s
        ),
        15,
        "shadow outcomes in the store",
    )
    assert counted["cand"].errors_5xx == counted["cand"].requests
    assert counted["prod"].requests >= 40 and counted["prod"].errors_5xx == 0


def _captured(root) -> int:
    """Rows captured for iris so far; 0 before the first file is flushed."""
    try:
        return len(read_capture(root, "iris"))
    except NotFoundError:
        return 0


def test_ab_readout_from_posted_labels(endpoint, iris, tmp_path, client, capsys):
    cand = {
        "name": "cand",
        "model": "iris:2",
        "weight": 1,
        "num_cpus": 0.25,
        "autoscaling": {"min_replicas": 1, "max_replicas": 1},
    }
    deploy(_spec(tmp_path, "abr", [PROD, cand]), port=PORT)
    labels, arms = [], {"prod": 0, "cand": 0}
    for i in range(len(X)):
        r = client.post(
            "/abr/v2/models/iris/infer",
            json=_row(i),
            headers={**AUTH, "X-Raymaker-Routing-Key": f"user-{i}"},
        )
        assert r.status_code == 200
        arms[r.headers["x-raymaker-variant"]] += 1
        labels.append({"request_id": r.headers["x-request-id"], "label": int(Y[i])})
    assert min(arms.values()) > 30, arms
    wait_for(lambda: _captured(tmp_path / "capture") >= len(X), 30, "capture")
    posted = client.post("/abr/v1/models/iris/labels", json={"labels": labels}, headers=AUTH)
    assert posted.status_code == 200 and posted.json()["accepted"] == len(X), posted.text

    from ray_apps.cli.app import main

    main(
        [
            "traffic",
            "ab-report",
            "abr",
            "--metric",
            "accuracy",
            "--store-url",
            f"sqlite:///{tmp_path / 'traffic.db'}",
        ]
    )
    out = capsys.readouterr().out
    assert "cand - prod (accuracy)" in out and "sample ratio" in out, out

    from ray_apps.experiments import ab_readout

    r = ab_readout(tmp_path / "capture", "iris", metric="accuracy", control="prod").to_dict()
    by_arm = {a["variant"]: a for a in r["arms"]}
    assert by_arm["prod"]["requests"] + by_arm["cand"]["requests"] == len(X), r
    assert by_arm["prod"]["coverage"] == by_arm["cand"]["coverage"] == 1.0, r
