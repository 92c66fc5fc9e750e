"""``raymaker registry …`` and ``raymaker deploy``: thin edges over the registry and serve.

raymaker registry register <artifact> --name cancer
raymaker registry list [cancer]
raymaker registry show cancer:3
raymaker registry approve cancer:3 --by alice --reason "beats v2 on AUC"
raymaker registry reject cancer:2 --by alice --reason "drift"
raymaker deploy cancer[:3] --api-key-env MY_KEYS --capture 10
raymaker deploy --config endpoint.yaml --serve-config serve.yaml   # write, do not deploy
"""

from __future__ import annotations

import getpass
import json
import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ray_apps.errors import SpecError

console = Console(highlight=False, soft_wrap=True)
registry_app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Model registry: versions and approval."
)
By = Annotated[str, typer.Option(help="who decides (default: your user name)")]
Reason = Annotated[str, typer.Option(help="why; kept in the version's history")]


def register_commands(app: typer.Typer) -> None:
    """Hook the serving commands into the main ``raymaker`` app."""
    app.add_typer(registry_app, name="registry")
    app.command("deploy")(deploy)


def _ref(ref: str) -> tuple[str, int]:
    from ray_apps.registry import parse_ref

    name, version = parse_ref(ref)
    if version is None:
        raise SpecError(f"{ref!r} names no version; write it as {name}:<version>")
    return name, version


@registry_app.command("register")
def register(
    artifact: Annotated[str, typer.Argument(help="artifact folder (or URI) a run wrote")],
    name: Annotated[str, typer.Option(help="model name (the group)")],
    description: str = "",
) -> None:
    """Register an artifact as the next version of a model (status Pending)."""
    from ray_apps import registry

    mv = registry.register(artifact, name, description=description)
    console.print(f"registered {mv.ref} ({mv.status}); sha256 {mv.manifest_sha256[:12]}…")


@registry_app.command("list")
def list_(name: Annotated[str | None, typer.Argument(help="a model: list its versions")] = None):
    """List models, or the versions of one model."""
    from ray_apps import registry

    if name is None:
        table = Table("model", "versions", "latest", "latest approved")
        for m in registry.list_models():
            table.add_row(
                m["name"], str(m["versions"]), str(m["latest"]), str(m["latest_approved"] or "-")
            )
    else:
        table = Table("version", "status", "by", "metrics", "artifact")
        for v in registry.list_versions(name):
            by = v.history[-1]["by"] if v.history else ""
            metrics = ", ".join(f"{k}={val:.4g}" for k, val in list(v.metrics.items())[:3])
            table.add_row(str(v.version), v.status, by, metrics, v.artifact_uri)
    console.print(table)


@registry_app.command("show")
def show(ref: Annotated[str, typer.Argument(help="name:version")]) -> None:
    """Everything recorded on one version, as JSON."""
    from ray_apps import registry

    name, version = _ref(ref)
    console.print_json(json.dumps(registry.get_version(name, version).to_dict(), default=str))


@registry_app.command("approve")
def approve(ref: str, by: By = "", reason: Reason = "") -> None:
    """Approve a version for deployment."""
    from ray_apps import registry

    name, version = _ref(ref)
    mv = registry.approve(name, version, by=by or getpass.getuser(), reason=reason)
    console.print(f"{mv.ref} is {mv.status} (by {mv.history[-1]['by']})")


@registry_app.command("reject")
def reject(ref: str, by: By = "", reason: Reason = "") -> None:
    """Reject a version (or revoke its approval)."""
    from ray_apps import registry

    name, version = _ref(ref)
    mv = registry.reject(name, version, by=by or getpass.getuser(), reason=reason)
    console.print(f"{mv.ref} is {mv.status} (by {mv.history[-1]['by']})")


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
    from serve.deploy import undeploy, write_serve_config

    spec = _spec(models, config, name, api_key_env, capture, min_replicas, max_replicas, force)
    if serve_config is not None:
        write_serve_config(spec, serve_config, port=port)
        console.print(
            f"wrote {serve_config}; deploy it with: RAY_AUTH_MODE=token serve deploy {serve_config}"
        )
        return
    info = deploy_endpoint(endpoint_spec(spec), port=port)
    console.print(info.ingress)
    console.print(f"endpoint {info.name} serves {', '.join(info.models)} at {info.url}")
    if os.environ.get("RAY_ADDRESS"):
        return  # the cluster keeps it running
    console.print("local Ray: serving until Ctrl-C")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        undeploy(info.name)


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
    elif "name" not in spec:
        spec["name"] = spec["models"][0]["name"]
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
