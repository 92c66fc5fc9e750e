"""The request handling of a replica, without Ray: status codes and error bodies."""

import asyncio
import hashlib
import json

import pytest
from _factories import xgboost_artifact

from ray_apps.artifact import load_model
from serve.endpoint import EndpointCore
from serve.served_model import ServedModel

KEY = "k"
AUTH = {"authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def core(tmp_path_factory):
    art = xgboost_artifact(tmp_path_factory.mktemp("m") / "a")
    c = EndpointCore(key_digests=(hashlib.sha256(KEY.encode()).hexdigest(),), max_body_bytes=300)
    c.set_models({"iris": ServedModel("iris", 2, "Approved", load_model(art))})
    return c


def call(core, method, path, body=b"", headers=None):
    read = []

    async def read_body():
        read.append(True)
        return body

    headers = {**(headers or {}), "content-length": str(len(body))}
    reply = asyncio.run(core.handle(method, path, headers, read_body, "rid"))
    json.dumps(reply.payload)
    return reply, bool(read)


def test_predict_and_health(core):
    body = json.dumps({"instances": [[5.1, 3.5, 1.4, 0.2]]}).encode()
    reply, _ = call(core, "POST", "/v1/models/iris:predict", body, AUTH)
    assert reply.status == 200 and reply.payload["model_version"] == "2"
    assert reply.headers["x-request-id"] == "rid"
    assert call(core, "GET", "/v2/health/ready")[0].status == 200  # open without a key


def test_auth_is_checked_before_the_body_is_read(core):
    reply, read = call(core, "POST", "/v1/models/iris:predict", b"x" * 10_000)
    assert reply.status == 401 and not read


def test_oversized_body_is_413_by_header(core):
    reply, read = call(core, "POST", "/v2/models/iris/infer", b"x" * 1000, AUTH)
    assert reply.status == 413 and "at most 300" in reply.payload["error"] and not read


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/v1/models/nope", 404), ("GET", "/nowhere", 404), ("PUT", "/v2/health/live", 405)],
)
def test_unknown_things(core, method, path, status):
    assert call(core, method, path, b"", AUTH)[0].status == status


def test_a_bug_is_a_500_not_a_crash(core, monkeypatch):
    def boom(*a, **k):
        raise ZeroDivisionError

    monkeypatch.setattr("serve.protocol_v1.parse_request", boom)
    reply, _ = call(core, "POST", "/v1/models/iris:predict", b"{}", AUTH)
    assert reply.status == 500 and "internal error" in reply.payload["error"]
