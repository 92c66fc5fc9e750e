"""Submit → consumer → result through EndpointCore, a real model, SQLite and files, no Ray.

The ingress core (with keys) queues; a ``Worker`` on a second core (no keys, as the consumer
deployment) answers; the ``Sweeper`` wakes it and sends callbacks to a local HTTP server.
"""

import asyncio
import hashlib
import json
import time

import pytest
from _factories import xgboost_artifact
from _http_receiver import Receiver

from ray_apps.artifact import load_model
from serve.async_inference import AsyncStore, verify_signature
from serve.async_inference.front import AsyncFront
from serve.async_inference.sweep import Sweeper
from serve.async_inference.worker import Worker
from serve.config import AsyncInferenceSpec
from serve.endpoint import EndpointCore
from serve.served_model import ServedModel

KEY = "k"
AUTH = {"authorization": f"Bearer {KEY}"}
SECRET = b"a-test-signing-key-of-32-bytes!!"
ROWS = {"instances": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    art = xgboost_artifact(tmp_path_factory.mktemp("m") / "a")
    return ServedModel("iris", 1, "Approved", load_model(art))


class Rig:
    def __init__(self, tmp_path, model, clock=time.time, **kw):
        self.settings = AsyncInferenceSpec(
            store_url=f"sqlite:///{tmp_path / 'q.db'}",
            storage_path=str(tmp_path / "files"),
            **kw,
        )
        self.store = AsyncStore(self.settings, "ep")
        self.ingress = EndpointCore(
            key_digests=(hashlib.sha256(KEY.encode()).hexdigest(),), max_body_bytes=300
        )
        self.ingress.set_models({"iris": model})
        self.consumer = EndpointCore(max_body_bytes=self.settings.max_body_bytes)
        self.consumer.set_models({"iris": model})
        self.worker = Worker(AsyncStore(self.settings, "ep"), self.consumer, "w1", clock=clock)
        self.woken = 0

        async def wake():
            self.woken += 1
            await self.worker.drain()

        self.sweeper = Sweeper(self.store, wake, "s1", secret=SECRET, clock=clock)
        self.ingress.async_front = AsyncFront(
            self.store, callbacks_on=True, nudge=lambda: None, clock=clock
        )

    def call(self, method, path, body=b"", headers=None, root=""):
        async def read_body():
            return body

        headers = {**(headers or {}), "content-length": str(len(body))}
        return asyncio.run(
            self.ingress.handle(method, path, headers, read_body, "rid", root_path=root)
        )

    def sweep(self):
        async def go():
            await self.sweeper.tick()
            await self.sweeper.idle()

        asyncio.run(go())


def test_v1_and_v2_answers_equal_the_real_time_ones(tmp_path, model):
    rig = Rig(tmp_path, model)
    v1 = json.dumps(ROWS).encode()
    v2 = json.dumps(
        {"id": "mine", "inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP64",
                                   "data": ROWS["instances"]}]}
    ).encode()  # fmt: skip
    subs = {}
    for path, body in (
        ("/v1/models/iris:predict", v1),
        ("/v2/models/iris/versions/1/infer", v2),
    ):
        async_path = path.replace(":predict", ":predict-async").replace("/infer", "/infer-async")
        r = rig.call("POST", async_path, body, AUTH, root="/app/")
        assert r.status == 202, r.payload
        assert r.payload["status"] == "queued"
        assert r.headers["location"] == r.payload["status_url"]
        assert r.payload["status_url"] == f"/app/async/requests/{r.payload['id']}"
        subs[path] = (r.payload["id"], body)
    rid = subs["/v1/models/iris:predict"][0]
    not_yet = rig.call("GET", f"/async/requests/{rid}/result", headers=AUTH)
    assert not_yet.status == 404 and "is queued" in not_yet.payload["error"]
    rig.sweep()
    assert rig.woken == 1  # one call drained both
    for path, (rid, body) in subs.items():
        status = rig.call("GET", f"/async/requests/{rid}", headers=AUTH).payload
        assert status["status"] == "succeeded" and status["attempts"] == 1
        assert status["model"] == "iris" and status["version"] == "1"
        assert status["result_url"] == f"/app/async/requests/{rid}/result"
        result = rig.call("GET", f"/async/requests/{rid}/result", headers=AUTH)
        real = rig.call("POST", path, body, AUTH)
        if "v2" in path:  # V2 echoes the request's id; without one, the request id
            assert result.payload["id"] == real.payload["id"] == "mine"
        assert (result.status, result.payload) == (real.status, real.payload)


def test_bad_input_is_refused_up_front_not_queued(tmp_path, model):
    rig = Rig(tmp_path, model, max_body_bytes=4096)
    body = json.dumps(ROWS).encode()
    cases = [
        ("/v1/models/iris:predict-async", b'{"instances": [[1, 2]]}', {}, 400, "shape"),
        ("/v1/models/iris:predict-async", b"{", {}, 400, "not valid JSON"),
        ("/v1/models/nope:predict-async", body, {}, 404, "not served here"),
        ("/v2/models/iris/versions/7/infer-async", body, {}, 404, "not served"),
        ("/v1/models/iris:predict-async", b"x" * 5000, {}, 413, "async_inference.max_body"),
        ("/v1/models/iris:predict-async", body, {"x-raymaker-callback": "ftp://h/x"}, 400,
         "not an http(s) URL"),
        ("/v1/models/iris:predict-async", body, {"x-raymaker-callback": "file:///etc"}, 400,
         "X-Raymaker-Callback"),
    ]  # fmt: skip
    for path, b, headers, status, match in cases:
        r = rig.call("POST", path, b, {**AUTH, **headers})
        assert r.status == status and match in r.payload["error"], (path, r.payload)
    assert rig.call("POST", "/v1/models/iris:predict-async", body).status == 401
    assert rig.store.backlog(1e12) == 0  # nothing was queued
    big = json.dumps({"instances": ROWS["instances"] * 20}).encode()  # over the real-time 300
    assert rig.call("POST", "/v1/models/iris:predict", big, AUTH).status == 413
    assert rig.call("POST", "/v1/models/iris:predict-async", big, AUTH).status == 202
    unknown = rig.call("GET", "/async/requests/" + "0" * 32, headers=AUTH)
    assert unknown.status == 404 and "unknown" in unknown.payload["error"]
    assert rig.call("GET", "/async/requests/../../etc", headers=AUTH).status == 404


def test_queue_full_is_429_with_retry_after(tmp_path, model):
    rig = Rig(tmp_path, model, max_queued=1, retry_after_s=7)
    body = json.dumps(ROWS).encode()
    assert rig.call("POST", "/v1/models/iris:predict-async", body, AUTH).status == 202
    full = rig.call("POST", "/v1/models/iris:predict-async", body, AUTH)
    assert full.status == 429 and full.headers["retry-after"] == "7"
    assert "max_queued 1" in full.payload["error"]


def test_callbacks_off_without_a_signing_key(tmp_path, model):
    rig = Rig(tmp_path, model)
    rig.ingress.async_front = AsyncFront(rig.store, callbacks_on=False)
    r = rig.call(
        "POST", "/v1/models/iris:predict-async", json.dumps(ROWS).encode(),
        {**AUTH, "x-raymaker-callback": "http://127.0.0.1:9/cb"},
    )  # fmt: skip
    assert r.status == 400 and "callback_secret_env" in r.payload["error"]


def test_callbacks_only_to_the_endpoints_allowed_hosts(tmp_path, model):
    rig = Rig(tmp_path, model, callback_hosts=["hooks.example.com", "*.corp.example"])
    body = json.dumps(ROWS).encode()
    for url in ("http://169.254.169.254/latest/meta-data", "https://hooks.example.com.evil.io/x"):
        r = rig.call("POST", "/v1/models/iris:predict-async", body,
                     {**AUTH, "x-raymaker-callback": url})  # fmt: skip
        assert r.status == 400 and "async_inference.callback_hosts" in r.payload["error"]
    for url in ("https://hooks.example.com/done", "https://ci.build.corp.example/cb"):
        r = rig.call("POST", "/v1/models/iris:predict-async", body,
                     {**AUTH, "x-raymaker-callback": url})  # fmt: skip
        assert r.status == 202
    assert rig.store.backlog(time.time()) == 2  # the refused ones were never queued


def test_async_off_says_so(tmp_path, model):
    rig = Rig(tmp_path, model)
    rig.ingress.async_front = None
    r = rig.call("POST", "/v1/models/iris:predict-async", json.dumps(ROWS).encode(), AUTH)
    assert r.status == 404 and "async_inference.enabled" in r.payload["error"]


def test_a_request_the_model_path_refuses_fails_with_its_error_as_result(tmp_path, model):
    rig = Rig(tmp_path, model)
    r = rig.call("POST", "/v1/models/iris:predict-async", json.dumps(ROWS).encode(), AUTH)
    rig.consumer.set_models({})  # the consumer no longer serves it (a rollout, say)
    rig.sweep()
    rid = r.payload["id"]
    status = rig.call("GET", f"/async/requests/{rid}", headers=AUTH).payload
    assert status["status"] == "failed" and "not served here" in status["error"]
    result = rig.call("GET", f"/async/requests/{rid}/result", headers=AUTH)
    assert result.status == 404 and "not served here" in result.payload["error"]


def test_callback_retried_after_a_500_and_signed(tmp_path, model):
    rig = Rig(tmp_path, model, retry_base_s=0.01)
    with Receiver([500]) as rx:
        _callback_retried(rig, rx)


def _callback_retried(rig, rx):
    headers = {**AUTH, "x-raymaker-callback": rx.url}
    r = rig.call("POST", "/v1/models/iris:predict-async", json.dumps(ROWS).encode(), headers)
    rig.sweep()  # drains; the callback is due from the next sweep
    rig.sweep()  # first attempt: 500
    status = rig.call("GET", f"/async/requests/{r.payload['id']}", headers=AUTH).payload
    assert status["callback"]["state"] == "pending" and status["callback"]["last_status"] == 500
    deadline = time.monotonic() + 10
    while len(rx.got) < 2 and time.monotonic() < deadline:
        rig.sweep()  # retried once its 0.01 s backoff is over: 200
    assert len(rx.got) == 2
    for headers, body in rx.got:
        verify_signature(SECRET, headers["X-Raymaker-Signature"], body)
        assert json.loads(body) == {
            "id": r.payload["id"],
            "status": "succeeded",
            "result_url": f"/async/requests/{r.payload['id']}/result",
        }
    status = rig.call("GET", f"/async/requests/{r.payload['id']}", headers=AUTH).payload
    assert status["callback"] == {
        "state": "delivered", "attempts": 2, "last_status": 200, "error": None,
    }  # fmt: skip


def test_a_request_queued_past_queued_ttl_s_expires_and_its_callback_says_so(tmp_path, model):
    later = [time.time()]
    rig = Rig(tmp_path, model, clock=lambda: later[0], queued_ttl_s=60)
    with Receiver() as rx:
        headers = {**AUTH, "x-raymaker-callback": rx.url}
        r = rig.call("POST", "/v1/models/iris:predict-async", json.dumps(ROWS).encode(), headers)
        rid = r.payload["id"]
        later[0] += 60  # no consumer took it in time
        rig.sweep()
    assert rig.woken == 0  # an expired request wakes no consumer
    status = rig.call("GET", f"/async/requests/{rid}", headers=AUTH).payload
    assert status["status"] == "expired" and status["attempts"] == 0
    assert "longer than async_inference.queued_ttl_s (60 s)" in status["error"]
    assert "result_url" not in status
    result = rig.call("GET", f"/async/requests/{rid}/result", headers=AUTH)
    assert result.status == 404 and "queued_ttl_s" in result.payload["error"]
    ((cb_headers, body),) = rx.got
    verify_signature(SECRET, cb_headers["X-Raymaker-Signature"], body, now=later[0])
    assert json.loads(body) == {"id": rid, "status": "expired", "result_url": None}
