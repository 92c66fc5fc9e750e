"""``raymaker deploy``: serve registered models as an endpoint on Ray Serve.

raymaker deploy cancer[:3] --api-key-env MY_KEYS --capture 10
raymaker deploy --config endpoint.yaml --serve-config serve.yaml   # write, do not deploy
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ray_apps.cli.console import console
from ray_apps.errors import SpecError


def attach(app: typer.Typer) -> None:
    app.command("deploy")(deploy)


def deploy(
    models: Annotated[list[str] | None, typer.Argument(help="name[:version] …")] = None,
    config: Annotated[Path | None, typer.Option(help="endpoint YAML (serve/README.md)")] = None,
    name: Annotated[str | None, typer.Option(help="endpoint (Serve application) name")] = None,
    api_key_env: Annotated[
        list[str] | None, typer.Option(help="env var holding API keys (repeatable)")
    ] = None,
    capture: Annotated[float | None, typer.Option(help="percent of calls captured")] = None,
    min_replicas: Annotated[int | None, typer.Option(help="0 scales to zero")] = None,
    max_replicas: Annotated[int | None, typer.Option()] = None,
    force: Annotated[bool, typer.Option(help="deploy versions that are not Approved")] = False,
    port: int = 8000,
    serve_config: Annotated[
        Path | None, typer.Option(help="write a Ray Serve config here instead of deploying")
    ] = None,
) -> None:
    """Deploy registered models as an endpoint (V1 + V2 over HTTP on 127.0.0.1)."""
    from serve.config import endpoint_spec
    from serve.deploy import deploy as deploy_endpoint
    from serve.deploy import serve_foreground, write_serve_config

    spec = _spec(models, config, name, api_key_env, capture, min_replicas, max_replicas, force)
    if serve_config is not None:
        write_serve_config(spec, serve_config, port=port)
        console.print(
            f"wrote {serve_config}; deploy it with: RAY_AUTH_MODE=token serve deploy {serve_config}"
        )
        return
    from ray_apps._ray_runtime import joins_a_cluster

    if joins_a_cluster():
        _announce(deploy_endpoint(endpoint_spec(spec), port=port))
        if not os.environ.get("RAY_ADDRESS"):
            console.print(
                "the local cluster (raymaker up) keeps it running; raymaker down stops it"
            )
        return  # the cluster keeps it running
    # Local Ray: serve until Ctrl-C or SIGTERM (systemd, docker stop, Kubernetes), then drain,
    # flush the capture, stop Ray and exit 0.
    info = serve_foreground(endpoint_spec(spec), port=port, on_ready=_announce_local)
    console.print(f"endpoint {info.name} stopped; its replicas drained and flushed their capture")


def _announce(info) -> None:
    console.print(info.ingress)
    if info.model_set is not None:  # a multi-model endpoint: its models load on first call
        serves = f"every Approved model of {info.model_set}"
    else:
        serves = ", ".join(info.models)
    console.print(f"endpoint {info.name} serves {serves} at {info.url}")


def _announce_local(info) -> None:
    _announce(info)
    console.print("local Ray: serving until Ctrl-C or SIGTERM")


def _spec(models, config, name, keys, capture, min_r, max_r, force) -> dict:
    from ray_apps.spec import load_yaml

    spec = load_yaml(config) if config else {}
    if models:
        refs = []
        for ref in models:
            model, _, version = ref.partition(":")
            entry = {"name": model, "force": force}
            if version:
                entry["version"] = version
            refs.append(entry)
        spec["models"] = refs
    elif not spec.get("models"):
        raise SpecError(
            "name the models to deploy: raymaker deploy <model>[:<version>] …, "
            "or --config endpoint.yaml"
        )
    if name:
        spec["name"] = name
    elif "name" not in spec and isinstance(spec["models"], list):
        spec["name"] = spec["models"][0]["name"]  # a model set's endpoint keeps the default
    if keys:
        spec["auth"] = {"api_key_envs": keys}
    if capture is not None:
        spec["capture"] = {**spec.get("capture", {}), "percent": capture}
    scaling = {k: v for k, v in (("min_replicas", min_r), ("max_replicas", max_r)) if v is not None}
    if scaling:
        spec["autoscaling"] = {**spec.get("autoscaling", {}), **scaling}
        if min_r is not None and max_r is None:
            spec["autoscaling"].setdefault("max_replicas", max(min_r, 1))
    return spec
