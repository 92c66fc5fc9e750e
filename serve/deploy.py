"""Deploy, update and remove endpoints; write the Serve config that ``serve deploy`` takes.

    from serve import deploy, EndpointSpec
    info = deploy({"models": [{"name": "cancer"}], "auth": {"api_key_envs": ["MY_KEYS"]}})
    info.url        # http://127.0.0.1:8000/

Deploying the same endpoint name again with other versions is a rollout: replicas load the
new versions and swap them in, serving throughout. Only Approved versions deploy unless a
model entry says ``force: true``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ray_apps import registry, settings, tracking
from serve.config import EndpointSpec, endpoint_spec

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


@dataclass(frozen=True)
class EndpointInfo:
    name: str
    url: str
    models: list[str]  # "name:version"
    ingress: str


def plan(spec: EndpointSpec | dict | str | Path) -> dict[str, Any]:
    """Resolve versions (approved-only unless forced), key digests and paths: the build args."""
    spec = endpoint_spec(spec)
    uri = tracking.resolve_uri(spec.tracking_uri)
    models = []
    for ref in spec.models:
        name = ref.name if ref.version is None else f"{ref.name}:{ref.version}"
        mv = registry.resolve_for_deploy(name, force=ref.force, tracking_uri=uri)
        models.append({"name": mv.name, "version": mv.version, "force": ref.force})
    capture = spec.capture.model_dump()
    capture["path"] = str(Path(spec.capture.path or settings.home() / "capture").resolve())
    return {
        "models": models,
        "settings": {
            "key_digests": spec.auth.key_digests(),
            "max_body_bytes": spec.max_body_bytes,
            "tracking_uri": uri,
            "capture": capture,
            "batching": spec.batching.model_dump(),
        },
        "deployment": {
            "autoscaling_config": spec.autoscaling.to_serve(),
            "max_ongoing_requests": spec.max_ongoing_requests,
            "ray_actor_options": {"num_cpus": spec.num_cpus},
        },
    }


def deploy(
    spec: EndpointSpec | dict | str | Path,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
) -> EndpointInfo:
    """Deploy (or roll out a change to) an endpoint on Ray Serve; returns when it is ready."""
    from ray import serve

    from ray_apps._ray_runtime import ensure_ray
    from serve.app import build
    from serve.ingress import use_fast_ingress

    spec = endpoint_spec(spec)
    args = plan(spec)
    message = use_fast_ingress()
    ensure_ray()
    serve.start(http_options={"host": host, "port": port})
    # Per-request access log lines cost the replica more than the model call; errors still log.
    logging = {"enable_access_log": False, "log_level": "WARNING"}
    serve.run(build(args), name=spec.name, route_prefix=spec.route_prefix, logging_config=logging)
    prefix = spec.route_prefix.rstrip("/")
    return EndpointInfo(
        name=spec.name,
        url=f"http://{host}:{port}{prefix}/",
        models=[f"{m['name']}:{m['version']}" for m in args["models"]],
        ingress=message,
    )


def undeploy(name: str) -> None:
    """Remove an endpoint; replicas drain their requests and flush captured records."""
    from ray import serve

    serve.delete(name)


def serve_config(
    spec: EndpointSpec | dict | str | Path, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
) -> dict[str, Any]:
    """A Ray Serve config (``serve deploy`` / ``serve run`` accept it) for the endpoint.

    The deployment's options (autoscaling, user_config with the pinned versions) sit in
    Serve's own ``deployments`` section, so the file reads and edits as any Serve config.
    """
    spec = endpoint_spec(spec)
    args = plan(spec)
    deployment = {
        "name": "endpoint",
        **args["deployment"],
        "user_config": {"models": args["models"]},
    }
    return {
        "proxy_location": "HeadOnly",
        "http_options": {"host": host, "port": port},
        "applications": [
            {
                "name": spec.name,
                "route_prefix": spec.route_prefix,
                "import_path": "serve.app:build",
                "args": {"settings": args["settings"]},
                "deployments": [deployment],
            }
        ],
    }


def write_serve_config(spec: EndpointSpec | dict | str | Path, path: str | Path, **kw) -> Path:
    """Write ``serve_config`` as YAML; then ``RAY_AUTH_MODE=token serve deploy <path>``."""
    path = Path(path)
    path.write_text(yaml.safe_dump(serve_config(spec, **kw), sort_keys=False))
    return path
