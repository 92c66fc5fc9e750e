"""``raymaker up`` / ``raymaker down``: a warm local Ray that stays up between commands.

    raymaker up                      # start it (or say it is up): later commands join it
    raymaker tune --config …         # joins it: no Ray start
    raymaker down                    # stop it (only its own processes)

See ``ray_apps.local_cluster``.
"""

from __future__ import annotations

import os
import time
from typing import Annotated

import typer

from ray_apps.cli.console import console


def attach(app: typer.Typer) -> None:
    app.command("up")(up)
    app.command("down")(down)


def up(
    cpus: Annotated[
        int | None, typer.Option(help="logical CPUs (default: the machine's, ≥ 4)")
    ] = None,
) -> None:
    """Start a local Ray that later raymaker commands and notebooks join, until raymaker down."""
    from ray_apps import local_cluster
    from ray_apps.ports import free_port
    from serve.ingress import haproxy_paths, use_fast_ingress

    if os.environ.get("RAY_ADDRESS"):
        console.print(
            f"note: RAY_ADDRESS={os.environ['RAY_ADDRESS']} is set: commands in this shell join "
            "that cluster, not this one, until it is unset"
        )
    chosen: list[str] = []

    def head_env(temp_dir: str) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("RAY_ADDRESS", None)  # the ingress is chosen for this head, not a joined one
        # HAProxy's files in the cluster's own folder (down finds its process by them), and
        # its stats and metrics ports free ones: another Serve on this machine holds 8404.
        env.update(haproxy_paths(root=temp_dir))
        for key in ("RAY_SERVE_HAPROXY_STATS_PORT", "RAY_SERVE_HAPROXY_METRICS_PORT"):
            env.setdefault(key, str(free_port()))
        chosen.append(use_fast_ingress(env))
        return env

    started = time.perf_counter()
    cluster, new = local_cluster.up(cpus, head_env)
    if not new:
        console.print(f"the local cluster is already up: {cluster.address}")
    else:
        console.print(
            f"local cluster up in {time.perf_counter() - started:.1f} s: {cluster.address}, "
            f"{cluster.cpus} CPUs"
        )
        console.print(chosen[0])
    console.print(f"dashboard {cluster.dashboard} (token in {local_cluster.record_path()})")
    console.print(
        "raymaker commands and notebooks with this RAYMAKER_HOME join it; raymaker down stops it"
    )


def down() -> None:
    """Stop the local Ray that raymaker up started (endpoints on it stop with it)."""
    from ray_apps import local_cluster

    cluster = local_cluster.down()
    if cluster is None:
        console.print("no local cluster is up")
        return
    console.print(f"local cluster {cluster.address} stopped")
