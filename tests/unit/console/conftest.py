"""The console's fixtures: one world (``tests/_console.py``) for the session, a copy of its
registry per test, and ``console_client(role)``: a TestClient logged in with that role's key."""

from __future__ import annotations

import pytest
from _console import ADMIN_KEY, ENV, VIEWER_KEY, World, build_world, log_in
from starlette.testclient import TestClient

from console import create_app


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> World:
    return build_world(tmp_path_factory.mktemp("console_world"))


@pytest.fixture()
def registry_uri(world, tmp_path) -> str:
    """This test's own registry: cancer:1 Approved, cancer:2 Pending (gate passed)."""
    return world.registry_copy(tmp_path)


@pytest.fixture()
def console_app(world, registry_uri):
    return create_app(world.settings(tracking_uri=registry_uri), environ=ENV)


@pytest.fixture()
def console_client(console_app):
    """``console_client("admin" | "viewer" | None)``: a client logged in with that key."""

    def make(role: str | None = "admin") -> TestClient:
        client = TestClient(console_app, follow_redirects=False)
        if role is not None:
            key = ADMIN_KEY if role == "admin" else VIEWER_KEY
            response = log_in(client, key)
            assert response.status_code == 303, response.text
        return client

    return make
