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


ADMIN_KEY = "boss"


@pytest.fixture()
def guarded(tmp_path):
    """A core over a real registry: iris:1 Approved and served, iris:2 Pending."""
    from ray_apps import registry

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    art = xgboost_artifact(tmp_path / "a")
    for _ in range(2):
        registry.register(art, "iris", tracking_uri=uri)
    registry.approve("iris", 1, by="t", tracking_uri=uri)
    c = EndpointCore(
        key_digests=(hashlib.sha256(KEY.encode()).hexdigest(),),
        admin_key_digests=(hashlib.sha256(ADMIN_KEY.encode()).hexdigest(),),
        tracking_uri=uri,
    )
    c.set_models({"iris": ServedModel("iris", 1, "Approved", load_model(art))})
    return c, uri


def _decide(core, action, key, version=1, prefix="/admin"):
    body = json.dumps({"by": "alice", "reason": "test"}).encode()
    headers = {"authorization": f"Bearer {key}"} if key else {}
    path = f"{prefix}/registry/models/iris/versions/{version}:{action}"
    return call(core, "POST", path, body, headers)[0]


def test_an_inference_key_cannot_approve_or_reject_an_admin_credential_can(guarded):
    from ray_apps import registry

    core, uri = guarded
    for action in ("approve", "reject"):
        reply = _decide(core, action, KEY, version=2)
        assert reply.status == 403 and "needs an admin credential" in reply.payload["error"]
        assert _decide(core, action, None, version=2).status == 401
    assert registry.get_version("iris", 2, tracking_uri=uri).status == "Pending"
    moved = _decide(core, "reject", KEY, prefix="")  # the path the issue found open
    assert moved.status == 404 and "POST /admin/registry" in moved.payload["error"]
    assert registry.get_version("iris", 1, tracking_uri=uri).status == "Approved"

    reply = _decide(core, "approve", ADMIN_KEY, version=2)
    assert reply.status == 200 and reply.payload["status"] == "Approved"
    reply = _decide(core, "reject", ADMIN_KEY, version=1)
    assert reply.status == 200 and reply.payload["status"] == "Rejected"
    reads = call(core, "GET", "/registry/models/iris/versions/1", b"", AUTH)[0]
    assert reads.status == 200 and reads.payload["status"] == "Rejected"  # reads stay open


def test_without_admin_keys_the_admin_routes_are_off(guarded):
    core, _ = guarded
    core.admin_key_digests = ()
    reply = _decide(core, "reject", KEY)
    assert reply.status == 403 and "admin_key_envs" in reply.payload["error"]


def test_model_metadata_says_the_registry_status_of_the_served_version(guarded):
    core, _ = guarded
    v1 = call(core, "GET", "/v1/models/iris", b"", AUTH)[0].payload
    assert v1["registry_status"] == "Approved"
    core.registry_status = {"iris": "Rejected"}  # what the replica's re-check writes
    v1 = call(core, "GET", "/v1/models/iris", b"", AUTH)[0].payload
    v2 = call(core, "GET", "/v2/models/iris", b"", AUTH)[0].payload
    assert v1["registry_status"] == v2["parameters"]["registry_status"] == "Rejected"
    assert v2["parameters"]["features"]  # the protocol's own parameters are kept
