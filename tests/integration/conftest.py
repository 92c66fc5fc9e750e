"""One local Ray for the whole integration session (starting Ray costs seconds)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def ray_session(raymaker_home):
    import ray

    from ray_apps._ray_runtime import ensure_ray

    ensure_ray()
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()
