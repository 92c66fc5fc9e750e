"""Start or join Ray the same way for every entry point."""

from __future__ import annotations

import os
from collections.abc import MutableMapping

from ray_apps import local_cluster
from ray_apps._ray_output import filter_worker_output, quiet_ray
from ray_apps._ray_watchdog import note_session_dir, watch_local_ray

# Ray Data's read/split tasks and Train's controller need CPU slots beside the training
# workers; on a 2-core box two workers would otherwise starve them. Logical CPUs only
# schedule work, so a small floor costs nothing on bigger machines.
_MIN_LOCAL_CPUS = 4
# Run in every worker of the local Ray raymaker starts (a job-level runtime_env hook).
_WORKER_SETUP_HOOK = "ray_apps._ray_runtime.address_own_ray"


def ensure_ray() -> None:
    """Join ``RAY_ADDRESS`` if set, else the warm cluster of ``raymaker up`` if it is up, else
    start (or reuse) a local Ray on loopback."""
    import ray

    if ray.is_initialized():
        return
    # Per-shard progress bars from every worker drown the training progress lines (the demo
    # printed 2,000 of them). Ray Data reads the variable once, when it is first imported
    # (ray.train imports it), and Train hands the driver's DataContext to its workers.
    os.environ.setdefault("RAY_DATA_DISABLE_PROGRESS_BARS", "1")
    if os.environ["RAY_DATA_DISABLE_PROGRESS_BARS"] == "1":
        from ray.data import DataContext

        DataContext.get_current().enable_progress_bars = False
    # Ray Train patches print() in its workers to tee to stdout and the root logger whenever
    # stdout is wrapped (it is there): every progress line reached the console twice.
    os.environ.setdefault("RAY_TRAIN_ENABLE_PRINT_PATCH", "0")
    # Ray Train's controller collects each ray.train.report every health-check interval
    # (2 s by default) and a worker's next report blocks until then: with short epochs that
    # wait, not training or checkpointing, dominated epoch time. Local clusters inherit this;
    # on a cluster set it in the job's runtime_env.
    os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.2")
    quiet_ray()
    address = os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=True)
        filter_worker_output()
        return
    warm = local_cluster.running()
    if warm is not None:
        _use_token(warm.env())
        ray.init(
            address=warm.address,
            log_to_driver=True,
            runtime_env={"worker_process_setup_hook": _WORKER_SETUP_HOOK},
        )
        filter_worker_output()
        print(
            f"[raymaker] joined the local cluster of raymaker up ({warm.address}); dashboard "
            f"{warm.dashboard}",
            flush=True,
        )
        return
    watch_local_ray()  # this Ray goes with this process, also when it is SIGKILLed
    context = ray.init(
        # "local": always a Ray of our own. Without it ray.init joins the cluster a plain
        # `ray start` on this machine recorded (ray_current_cluster) and refuses num_cpus.
        address="local",
        num_cpus=max(os.cpu_count() or 1, _MIN_LOCAL_CPUS),
        dashboard_host="127.0.0.1",
        include_dashboard=True,
        log_to_driver=True,
        runtime_env={"worker_process_setup_hook": _WORKER_SETUP_HOOK},
    )
    note_session_dir(context.address_info["session_dir"])
    filter_worker_output()
    print(f"[raymaker] local Ray started; dashboard http://{context.dashboard_url}", flush=True)


def address_own_ray() -> None:
    """Point Ray's own address lookups in this worker at the cluster it belongs to.

    Seen: beside a notebook's Ray on the same machine, ``raymaker train`` printed a 30-line
    ``PlacementGroupCleaner`` traceback, ``ConnectionError: Found multiple active Ray
    instances``. Ray Train's cleaner actor calls the state API with no address; in a worker
    that resolves ``RAY_API_SERVER_ADDRESS``, then ``RAY_ADDRESS``, then the last ``ray start``
    (its file in Ray's temp dir), then any GCS process running on the machine, where it found
    two. The workers of the Ray that ``ensure_ray`` starts inherit the driver's environment,
    which cannot hold the GCS address before Ray picks it; this hook sets it in each worker
    when it starts. The driver's own environment is left alone: there ``RAY_ADDRESS`` means
    "join that cluster" (``ensure_ray``, ``serve.ingress``)."""
    import ray

    address_in_worker(os.environ, ray.get_runtime_context().gcs_address)


def address_in_worker(environ: MutableMapping[str, str], gcs_address: str) -> None:
    """``RAY_ADDRESS`` set to ``gcs_address``; ``RAY_API_SERVER_ADDRESS`` (a dashboard the
    user submits to, which Ray's state API prefers) dropped, so no other cluster is asked."""
    environ["RAY_ADDRESS"] = gcs_address
    environ.pop("RAY_API_SERVER_ADDRESS", None)


def _use_token(env: dict[str, str]) -> None:
    """Authenticate this process to a token-auth cluster from now on.

    Ray reads ``RAY_AUTH_MODE`` into its config when ``ray._raylet`` is first imported, and
    caches the token on first use: setting the variables later (a notebook imported raymaker,
    and so Ray, long before) left the driver unauthenticated ("Authentication token is missing
    or incorrect", retried for a minute). Ray 2.60 has no public call for this; its own test
    helpers (``ray._private.authentication_test_utils.reset_auth_token_state``) do the same
    two steps. Only before this process first connects (``ensure_ray`` checks).
    """
    os.environ.update(env)
    from ray._raylet import AuthenticationTokenLoader, Config

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


def joins_a_cluster() -> bool:
    """Whether ``ensure_ray`` joins a Ray that outlives this process (``RAY_ADDRESS``, or the
    cluster of ``raymaker up``): what runs there stays up when this process ends."""
    return bool(os.environ.get("RAY_ADDRESS")) or local_cluster.running() is not None
