"""The serve integration tests' registered models (the Serve instance is tests/integration's)."""

from __future__ import annotations

import httpx
import pytest
from _factories import xgboost_artifact

from ray_apps import registry


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
