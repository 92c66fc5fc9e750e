"""The embedded Ray: dashboard (and so the state and job APIs) on loopback only."""

import httpx
from _sockets import LOOPBACK, listening


def test_dashboard_is_up_on_loopback_only(ray_session):
    import ray._private.worker
    from ray.util.state import list_actors

    url = ray._private.worker.get_dashboard_url()
    host, port = url.removeprefix("http://").rsplit(":", 1)
    assert host == "127.0.0.1"
    assert listening(int(port)) == {LOOPBACK}
    assert httpx.get(f"http://{url.removeprefix('http://')}", timeout=10).status_code == 200
    # Ray Train's placement-group cleaner and `ray list` need the state API behind it.
    assert isinstance(list_actors(), list)
