"""``raymaker registry …``: model versions and their approval, over ``ray_apps.registry``.

raymaker registry register <artifact> --name cancer
raymaker registry list [cancer]
raymaker registry show cancer:3
raymaker registry approve cancer:3 --by alice --reason "beats v2 on AUC"
raymaker registry reject cancer:2 --by alice --reason "drift"
"""

from __future__ import annotations

import getpass
import json
from typing import Annotated

import typer
from rich.table import Table

from ray_apps.cli.console import console
from ray_apps.errors import SpecError

registry_app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Model registry: versions and approval."
)
By = Annotated[str, typer.Option(help="who decides (default: your user name)")]
Reason = Annotated[str, typer.Option(help="why; kept in the version's history")]


def attach(app: typer.Typer) -> None:
    app.add_typer(registry_app, name="registry")


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
        table = Table("version", "status", "by", "served by", "metrics", "artifact")
        for v in registry.list_versions(name):
            by = v.history[-1]["by"] if v.history else ""
            metrics = ", ".join(f"{k}={val:.4g}" for k, val in list(v.metrics.items())[:3])
            served = ", ".join(v.served_by) or "-"
            table.add_row(str(v.version), v.status, by, served, metrics, v.artifact_uri)
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
