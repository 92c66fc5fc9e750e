"""One Ray Serve instance for the serve integration tests; applications removed per test."""

from __future__ import annotations

import socket

import httpx
import pytest
from _factories import xgboost_artifact

from ray_apps import registry

PORT = 8123


@pytest.fixture(scope="session")
def serve_instance(ray_session):
    from ray import serve

    serve.start(http_options={"host": "127.0.0.1", "port": PORT})
    yield f"http://127.0.0.1:{PORT}"
    serve.shutdown()


@pytest.fixture()
def endpoint(serve_instance):
    """The base URL; every application a test deployed is deleted afterwards."""
    from ray import serve

    yield serve_instance
    for name in list(serve.status().applications):
        serve.delete(name)


@pytest.fixture(scope="session")
def iris(tmp_path_factory, raymaker_home):
    """A registered iris model: version 1 Approved, version 2 Approved, version 3 Pending."""
    root = tmp_path_factory.mktemp("iris")
    for rounds in (3, 6, 9):
        mv = registry.register(xgboost_artifact(root / f"r{rounds}", rounds=rounds), "iris")
        if rounds != 9:
            registry.approve("iris", mv.version, by="tests", reason="fixture")
    return "iris"


@pytest.fixture()
def client(endpoint):
    with httpx.Client(base_url=endpoint, timeout=30) as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
