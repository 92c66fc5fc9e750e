"""``raymaker console``: the web console (models and approvals, runs, endpoints, monitors,
pipelines) on 127.0.0.1 until Ctrl-C.

export RAYMAKER_ADMIN_KEYS=$(openssl rand -hex 24)      # may approve and reject
export RAYMAKER_VIEWER_KEYS=$(openssl rand -hex 24)     # optional: read only
raymaker console [--port 8765] [--metrics-url http://127.0.0.1:8080/metrics]
                 [--traffic-store-url postgresql://…]   # endpoints' spec traffic_store_url
raymaker console --host 0.0.0.0                        # other machines: explicit, with a warning

The console lives in the top-level ``console`` package, an edge above the layers; it is imported
here only when the command runs.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer


def attach(app: typer.Typer) -> None:
    app.command("console")(console)


def console(
    host: Annotated[
        str | None,
        typer.Option(help="interface to listen on (default 127.0.0.1; another one warns)"),
    ] = None,
    port: Annotated[int, typer.Option(help="port to listen on")] = 8765,
    metrics_url: Annotated[
        list[str] | None,
        typer.Option(help="Prometheus text of a Ray node: http://<node>:<port>/metrics (repeat)"),
    ] = None,
    admin_key_env: Annotated[
        str, typer.Option(help="variable holding admin keys (comma-separated)")
    ] = "RAYMAKER_ADMIN_KEYS",
    viewer_key_env: Annotated[
        str, typer.Option(help="variable holding read-only viewer keys")
    ] = "RAYMAKER_VIEWER_KEYS",
    storage: Annotated[str | None, typer.Option(help="run storage path or URI")] = None,
    traffic_store_url: Annotated[
        str | None,
        typer.Option(help="the endpoints' traffic store (default: RAYMAKER_HOME's traffic.db)"),
    ] = None,
    secure_cookie: Annotated[
        bool, typer.Option(help="mark the session cookie Secure (behind a TLS proxy)")
    ] = False,
) -> None:
    """Serve the web console: models and approvals, runs, endpoints, monitors, pipelines."""
    from console import ConsoleSettings, serve_console

    settings = ConsoleSettings(
        host=host or "127.0.0.1",
        port=port,
        allow_remote=host is not None,  # only a host given on purpose may leave loopback
        metrics_urls=tuple(metrics_url or ()),
        admin_key_env=admin_key_env,
        viewer_key_env=viewer_key_env,
        storage=storage,
        traffic_store_url=traffic_store_url,
        secure_cookie=secure_cookie,
    )
    serve_console(settings, say=lambda line: print(line, file=sys.stderr, flush=True))
