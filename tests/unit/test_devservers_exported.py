"""The public names of ray_apps.devservers (the harness tests and users start servers with)."""

import ray_apps.devservers as devservers


def test_public_names():
    assert devservers.__all__ == ["ObjectStore", "Postgres", "start_object_store", "start_postgres"]
    for name in devservers.__all__:
        assert getattr(devservers, name)
