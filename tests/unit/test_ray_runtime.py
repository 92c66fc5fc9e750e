"""How raymaker starts its local Ray: every worker addresses that Ray, not another one."""

from __future__ import annotations

from ray._common.utils import load_class

from ray_apps import _ray_runtime
from ray_apps._ray_runtime import address_in_worker, address_own_ray


def test_a_worker_addresses_its_own_cluster_and_no_submission_target():
    environ = {"RAY_API_SERVER_ADDRESS": "http://elsewhere:8265", "PATH": "/bin"}
    address_in_worker(environ, "192.0.2.2:45101")
    assert environ == {"RAY_ADDRESS": "192.0.2.2:45101", "PATH": "/bin"}


def test_the_hook_ray_workers_run_is_found_by_its_name():
    # Ray's worker imports the hook by this dotted name (ray._private.runtime_env.setup_hook);
    # ensure_ray passes it to ray.init, which tests/integration/test_ray_runtime.py exercises.
    assert load_class(_ray_runtime._WORKER_SETUP_HOOK) is address_own_ray
