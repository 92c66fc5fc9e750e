"""Asynchronous inference over real HTTP on the session's Ray Serve: submit, status, result
equal to the real-time answer; 429; a consumer killed while holding a request; signed
callbacks retried; TTL expiry; consumers scaling to zero and back."""

import json
import os

import httpx
import ray
from _http_receiver import Receiver
from _serve_helpers import CALLBACK_SECRET_ENV, KEY, PORT, consumer_replicas, wait_for

from ray_apps import read_capture
from serve import deploy
from serve.async_inference import verify_signature

AUTH = {"Authorization": f"Bearer {KEY}"}
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
V1 = {"instances": ROWS}
V2 = {"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP64", "data": ROWS}]}


def _deploy(name, async_inference, **kw):
    spec = {
        "name": name,
        "models": [{"name": "iris", "version": 1}],
        "auth": {"api_key_envs": ["RAYMAKER_TEST_KEYS"]},
        "async_inference": async_inference,
        **kw,
    }
    deploy(spec, port=PORT)


def _submit(client, path, body, **headers):
    r = client.post(path, json=body, headers={**AUTH, **headers})
    assert r.status_code == 202, r.text
    assert r.headers["location"] == r.json()["status_url"]
    return r.json()["id"]


def _status(client, rid):
    return client.get(f"/async/requests/{rid}", headers=AUTH)


def _finished(client, rid, timeout_s=60):
    def done():
        doc = _status(client, rid).json()
        return doc if doc["status"] in ("succeeded", "failed") else None

    return wait_for(done, timeout_s, f"async request {rid} to finish", interval_s=0.2)


def test_answers_equal_real_time_and_consumers_scale_to_zero_and_back(
    endpoint, iris, client, tmp_path
):
    capture = {"percent": 100, "path": str(tmp_path / "cap"), "flush_interval_s": 0.2}
    consumers = {"idle_s": 1, "look_back_period_s": 11}  # > Ray's 10 s metrics interval
    _deploy("async-app", {"consumers": consumers, "max_body_bytes": 8192}, capture=capture)
    assert consumer_replicas("async-app") == 0  # nothing queued: no consumer
    ids = {
        "/v1/models/iris:predict": _submit(client, "/v1/models/iris:predict-async", V1),
        "/v2/models/iris/versions/1/infer": _submit(
            client, "/v2/models/iris/versions/1/infer-async", V2
        ),
    }
    wait_for(lambda: consumer_replicas("async-app") == 1, 60, "a consumer woken by backlog")
    for path, rid in ids.items():
        doc = _finished(client, rid)
        assert doc["status"] == "succeeded" and doc["attempts"] == 1, doc
        assert doc["model"] == "iris" and doc["version"] == "1"
        result = client.get(doc["result_url"], headers=AUTH)
        real = client.post(path, json=V1 if "v1" in path else {**V2, "id": rid}, headers=AUTH)
        assert result.status_code == real.status_code == 200
        assert result.json() == real.json()
    wait_for(lambda: consumer_replicas("async-app") == 0, 60, "consumers scaled to zero")
    again = _submit(client, "/v1/models/iris:predict-async", V1)  # wakes one from zero
    assert _finished(client, again)["status"] == "succeeded"

    def captured():  # the consumer captures async requests as real-time ones, marked
        try:
            frame = read_capture(tmp_path / "cap", "iris", version=1)
        except Exception:
            return None
        rows = frame[frame.protocol == "v1_predict_async"]
        return set(rows.request_id) >= {again, ids["/v1/models/iris:predict"]} or None

    wait_for(captured, 30, "capture rows of the async requests")

    # Bad input: a clear 4xx at once, nothing queued.
    cases = [
        ("/v1/models/iris:predict-async", V1, {"X-Raymaker-Callback": "ftp://x/y"}, 400),
        ("/v1/models/nope:predict-async", V1, {}, 404),
        ("/v1/models/iris:predict-async", {"instances": [[1.0] * 4] * 1000}, {}, 413),
        ("/v1/models/iris:predict-async", {"instances": [[1, 2]]}, {}, 400),
    ]
    for path, body, headers, code in cases:
        r = client.post(path, json=body, headers={**AUTH, **headers})
        assert r.status_code == code and r.json()["error"], (path, r.text)
    assert client.post("/v1/models/iris:predict-async", json=V1).status_code == 401
    assert _status(client, "0" * 32).status_code == 404


def test_killed_consumer_request_is_answered_once_and_queue_full_is_429(
    endpoint, iris, client, raymaker_home
):
    slow = {"lease_s": 1, "max_queued": 1, "consumers": {"delay_s": 3, "idle_s": 30}}
    _deploy("async-kill", slow)
    rid = _submit(client, "/v1/models/iris:predict-async", V1)
    full = client.post("/v1/models/iris:predict-async", json=V1, headers=AUTH)
    assert full.status_code == 429 and full.headers["retry-after"] == "5", full.text
    early = client.get(f"/async/requests/{rid}/result", headers=AUTH)
    assert early.status_code == 404 and "its result exists once" in early.json()["error"]
    wait_for(lambda: _status(client, rid).json()["status"] == "running", 60, "a claim")
    (name,) = [
        a["name"]
        for a in ray.util.list_named_actors(all_namespaces=True)
        if a["name"].startswith("SERVE_REPLICA::async-kill#async-consumer#")
    ]
    ray.kill(ray.get_actor(name, namespace="serve"), no_restart=True)  # mid-request
    doc = _finished(client, rid, timeout_s=90)
    assert doc["status"] == "succeeded" and doc["attempts"] >= 2, doc  # re-delivered
    result = client.get(doc["result_url"], headers=AUTH).json()
    assert result == client.post("/v1/models/iris:predict", json=V1, headers=AUTH).json()
    folder = raymaker_home / "async" / "async-kill" / "files" / rid
    written = sorted(p.name for p in folder.iterdir() if p.name.startswith("result-"))
    assert written == [f"result-{doc['attempts']}.json"]  # one answer, the last attempt's


def test_callback_retried_signed_then_ttl_deletes_the_request(
    endpoint, iris, client, raymaker_home
):
    settings = {
        "callback_secret_env": CALLBACK_SECRET_ENV,
        "retry_base_s": 0.2,
        "sweep_interval_s": 0.2,
        "ttl_s": 4,
        "consumers": {"idle_s": 30},
    }
    _deploy("async-cb", settings)
    with Receiver([500]) as rx:
        rid = _submit(
            client, "/v1/models/iris:predict-async", V1, **{"X-Raymaker-Callback": rx.url}
        )
        doc = _finished(client, rid)
        assert client.get(doc["result_url"], headers=AUTH).status_code == 200
        wait_for(lambda: len(rx.got) >= 2, 30, "the callback retried after a 500")
    secret = os.environ[CALLBACK_SECRET_ENV]
    for headers, body in rx.got:
        verify_signature(secret, headers["X-Raymaker-Signature"], body)
        notice = json.loads(body)
        assert notice == {"id": rid, "status": "succeeded", "result_url": doc["result_url"]}
    assert len(rx.got) == 2  # delivered once the receiver said 200

    folder = raymaker_home / "async" / "async-cb" / "files" / rid

    def gone():  # the row goes first, then its files
        answer = client.get(f"/async/requests/{rid}/result", headers=AUTH)
        return answer.status_code == 404 and not folder.exists()

    wait_for(gone, 30, "the request and its files deleted after ttl_s")
    assert "ttl_s" in _status(client, rid).json()["error"]
    with httpx.Client(base_url=endpoint, timeout=30) as c:  # the endpoint keeps serving
        assert c.post("/v1/models/iris:predict", json=V1, headers=AUTH).status_code == 200
