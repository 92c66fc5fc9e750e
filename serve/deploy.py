"""Deploy, update and remove endpoints; write the Serve config that ``serve deploy`` takes.

    from serve import deploy, EndpointSpec
    info = deploy({"models": [{"name": "cancer"}], "auth": {"api_key_envs": ["MY_KEYS"]}})
    info.url        # http://127.0.0.1:8000/

Deploying the same endpoint name again with other versions is a rollout: replicas load the
new versions and swap them in, serving throughout. Only Approved versions deploy unless a
model entry says ``force: true``. Deploy, rollout and undeploy record in the registry which
versions the endpoint serves (``served_by``). ``serve_foreground`` is ``raymaker deploy`` on a
local Ray: deploy, serve until SIGINT/SIGTERM, then drain, flush and stop.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ray_apps import registry, tracking
from ray_apps import settings as project_settings
from serve.config import EndpointSpec, ModelRef, endpoint_spec
from serve.metrics import ENDPOINT_DEPLOYMENT
from serve.replica_settings import ReplicaSettings
from serve.traffic.plan import APP_SEPARATOR, VariantPlan, plan_variants
from serve.traffic.table import TrafficTable

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# The ingress runs on the head only, in `deploy` as in the Serve config file: the head is where
# the endpoint's port is published. Serve's default starts a proxy on every node holding a
# replica, each on the same host:port; on a node other than the head that serves no one, and
# nodes sharing one machine (tests/_multinode.py) would clash on the port.
PROXY_LOCATION = "HeadOnly"


@dataclass(frozen=True)
class EndpointInfo:
    name: str
    url: str
    models: list[str]  # "name:version"
    ingress: str
    model_set: str | None = None  # a multi-model endpoint's set in words: "prefix 'store-'"


@dataclass(frozen=True)
class EndpointPlan:
    """What deploying a spec means: pinned versions, replica settings, Serve's options."""

    models: tuple[ModelRef, ...]  # every version pinned
    settings: ReplicaSettings
    deployment: dict[str, Any]  # Serve's deployment options, as Serve spells them
    traffic: TrafficTable | None = None  # endpoints with variants
    variants: tuple[VariantPlan, ...] = ()  # the variants with replicas of their own
    shared: dict[str, ModelRef] = field(default_factory=dict)  # loaded into the endpoint's

    def user_config(self) -> dict[str, Any]:
        """Serve's ``user_config`` (JSON for Serve): the versions, swapped in on a rollout,
        and with variants the traffic table this deploy starts from and the versions of the
        variants that share the endpoint's replicas."""
        config: dict[str, Any] = {"models": [m.model_dump() for m in self.models]}
        if self.traffic is not None:
            config["traffic"] = self.traffic.to_json()
            config["variant"] = self.traffic.local
        if self.shared:
            config["shared_variants"] = {n: m.model_dump() for n, m in self.shared.items()}
        return config

    def served(self) -> list[tuple[str, int]]:
        """Every (model, version) the endpoint serves, its variants' included."""
        out = [(m.name, m.version) for m in self.models]
        out += [(m.name, m.version) for m in self.shared.values()]
        out += [(v.model.name, v.model.version) for v in self.variants]
        return list(dict.fromkeys(out))  # two variants may serve one version

    def build_args(self) -> dict[str, Any]:
        config = self.user_config()
        return {
            "models": config["models"],
            "settings": self.settings,
            "deployment": {**self.deployment, "user_config": config},
        }


def plan(
    spec: EndpointSpec | dict | str | Path, *, registry_uri: str | None = None
) -> EndpointPlan:
    """Resolve versions (approved-only unless forced), key digests and paths, once.

    ``registry_uri`` is where this process reaches the registry when that differs from the
    spec's ``tracking_uri``, which the replicas use (a laptop through ``kubectl port-forward``
    writing a config for pods that reach the database by its in-cluster name).
    """
    spec = endpoint_spec(spec)
    uri = tracking.resolve_uri(spec.tracking_uri)
    lookup = registry_uri or uri

    def resolve(name: str, version: int | None, force: bool) -> ModelRef:
        full = name if version is None else f"{name}:{version}"
        mv = registry.resolve_for_deploy(full, force=force, tracking_uri=lookup)
        return ModelRef(name=mv.name, version=mv.version, force=force)

    # A model set pins nothing: its replicas resolve the servable versions while they run.
    refs = [] if spec.model_set is not None else spec.models
    models = [resolve(ref.name, ref.version, ref.force) for ref in refs]
    settings = ReplicaSettings.from_spec(
        spec,
        tracking_uri=uri,
        home=project_settings.home(),
        storage=project_settings.storage_path(),
    )
    deployment = {
        "autoscaling_config": spec.autoscaling.to_serve(),
        "max_ongoing_requests": spec.max_ongoing_requests,
        "ray_actor_options": spec.ray_actor_options(),
        **spec.placement(),
    }
    planned = plan_variants(spec, settings, deployment, resolve)
    if planned is None:
        return EndpointPlan(tuple(models), settings, deployment)
    return EndpointPlan(
        tuple(models), settings, deployment, planned.table, planned.own, planned.shared
    )


def deploy(
    spec: EndpointSpec | dict | str | Path,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
) -> EndpointInfo:
    """Deploy (or roll out a change to) an endpoint on Ray Serve; returns when it is ready.

    The registry then records the endpoint on the versions it serves (``served_by``).
    """
    from ray import serve

    from ray_apps._ray_runtime import ensure_ray
    from serve.app import build, code_version
    from serve.ingress import edits_folder, use_fast_ingress
    from serve.multi_model.routing import mark_model_set

    spec = endpoint_spec(spec)
    p = plan(spec)
    message = use_fast_ingress()
    ensure_ray()
    serve.start(proxy_location=PROXY_LOCATION, http_options={"host": host, "port": port})
    # Per-request access log lines cost the replica more than the model call; errors still log.
    logging = {"enable_access_log": False, "log_level": "WARNING"}
    for v in p.variants:  # before the endpoint that forwards to them
        args = v.build_args()
        args["deployment"] = {**args["deployment"], "version": code_version(v.settings)}
        serve.run(build(args), name=v.app, route_prefix=None, logging_config=logging)
    args = p.build_args()
    # A pinned code version: a change of user_config alone reconfigures the running replicas.
    args["deployment"] = {**args["deployment"], "version": code_version(p.settings)}
    app = build(args)
    # Before serve.run: the HAProxy reload that adds this app's backend routes by model.
    edits = edits_folder()
    if edits is not None:
        mark_model_set(edits, spec.name, model_set=spec.model_set is not None)
    serve.run(app, name=spec.name, route_prefix=spec.route_prefix, logging_config=logging)
    record_traffic(spec, p, host=host, port=port)
    # Variants the spec no longer has: every replica now routes by the new table. Their
    # replicas drain in the background (with the fast ingress Serve holds each for its 30 s
    # direct-ingress drain period, though these apps have no route).
    for app_name in _variant_apps(spec.name) - {v.app for v in p.variants}:
        serve.delete(app_name, _blocking=False)
    served = p.served()
    registry.record_endpoint(spec.name, served, tracking_uri=p.settings.tracking_uri)
    prefix = spec.route_prefix.rstrip("/")
    return EndpointInfo(
        name=spec.name,
        url=f"http://{host}:{port}{prefix}/",
        models=[f"{name}:{version}" for name, version in served],
        ingress=message,
        model_set=spec.model_set.selector if spec.model_set is not None else None,
    )


def record_traffic(spec: EndpointSpec, p: EndpointPlan, *, host: str, port: int) -> None:
    """Write to the traffic store the table this deploy starts from and the spec a rollout
    builds on (with the host and port Serve runs with, which a rollout's redeploys keep):
    what ``deploy`` records once Serve runs the applications (tests call it without Ray)."""
    from serve.traffic.store import TrafficStore

    recorded = {**_pinned(spec, p), "_http": {"host": host, "port": port}}
    TrafficStore(p.settings.traffic_store_url).put(spec.name, p.traffic, by="deploy", spec=recorded)


def _pinned(spec: EndpointSpec, p: EndpointPlan) -> dict[str, Any]:
    """The spec as deployed, every version pinned: a rollout's rollback redeploys exactly this
    (``fair`` would resolve to the newest Approved version, perhaps the candidate)."""
    data = spec.model_dump(mode="json")
    if spec.model_set is not None:
        return data  # a set is resolved by the replicas, not pinned
    data["models"] = [m.model_dump(mode="json") for m in p.models]
    if p.traffic is not None:
        data["variants"] = [
            {**v, "model": f"{t.model}:{t.version}"}
            for v, t in zip(data["variants"], p.traffic.variants, strict=True)
        ]
    return data


def undeploy(name: str, *, tracking_uri: str | None = None) -> None:
    """Remove an endpoint; replicas drain their requests and flush captured records.

    The registry then no longer records the endpoint on any version.
    """
    from ray import serve

    from serve.ingress import edits_folder
    from serve.multi_model.routing import mark_model_set

    variants = _variant_apps(name)
    for app_name in variants:  # drained beside the endpoint, not one after the other
        serve.delete(app_name, _blocking=False)
    serve.delete(name)
    _wait_gone(variants)
    edits = edits_folder()
    if edits is not None:
        mark_model_set(edits, name, model_set=False)
    registry.record_endpoint(name, [], tracking_uri=tracking.resolve_uri(tracking_uri))


def _wait_gone(apps: set[str], timeout_s: float = 120.0) -> None:
    import time

    from ray import serve

    deadline = time.monotonic() + timeout_s
    while apps & set(serve.status().applications) and time.monotonic() < deadline:
        time.sleep(0.2)


def _variant_apps(endpoint: str) -> set[str]:
    """The Serve applications of ``endpoint``'s variants that run now."""
    from ray import serve

    prefix = f"{endpoint}{APP_SEPARATOR}"
    return {a for a in serve.status().applications if a.startswith(prefix)}


def serve_foreground(
    spec: EndpointSpec | dict | str | Path,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    on_ready: Callable[[EndpointInfo], None] | None = None,
) -> EndpointInfo:
    """Deploy, serve until SIGINT or SIGTERM, then stop cleanly and return.

    Stopping undeploys the endpoint (replicas drain in-flight requests and flush captured
    records), then shuts down Serve and Ray if this call started them. SIGTERM is how systemd,
    ``docker stop`` and Kubernetes stop a process. Ray's core worker installs a crash handler
    (abseil's failure-signal handler, which also covers SIGTERM) when the driver connects: it
    printed a native stack dump and aborted (exit 134) instead of draining. So the handlers are
    installed here, after Ray is up, for SIGTERM and SIGINT only; real crashes (SIGSEGV,
    SIGABRT) keep Ray's dump. Call it from the main thread (Python delivers signals there).
    """

    import ray

    from ray_apps._ray_runtime import ensure_ray, joins_a_cluster
    from serve.ingress import use_fast_ingress

    own_ray = not ray.is_initialized() and not joins_a_cluster()
    spec = endpoint_spec(spec)
    use_fast_ingress()  # before Ray starts, as deploy() would
    ensure_ray()
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _STOP_SIGNALS}
    info = None
    try:
        info = deploy(spec, host=host, port=port)
        if on_ready is not None and not stop.is_set():
            on_ready(info)
        while not stop.wait(1.0):
            pass
    finally:
        try:
            if info is not None:
                undeploy(info.name, tracking_uri=spec.tracking_uri)
            if own_ray:  # a joined cluster keeps its Serve and its Ray
                from ray import serve

                serve.shutdown()
                ray.shutdown()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    return info


def serve_config(
    spec: EndpointSpec | dict | str | Path,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    registry_uri: str | None = None,
) -> dict[str, Any]:
    """A Ray Serve config (``serve deploy`` / ``serve run`` accept it) for the endpoint.

    The deployment's options (autoscaling, user_config with the pinned versions) sit in
    Serve's own ``deployments`` section, so the file reads and edits as any Serve config.
    ``registry_uri``: see ``plan``.
    """
    spec = endpoint_spec(spec)
    p = plan(spec, registry_uri=registry_uri)
    deployment = {"name": ENDPOINT_DEPLOYMENT, **p.deployment, "user_config": p.user_config()}
    deployments = [deployment]
    if p.settings.async_inference.enabled:
        from serve.async_inference.consumer import NAME as CONSUMER

        # the consumer serves the same versions
        deployments.append({"name": CONSUMER, "user_config": p.user_config()})
    variant_apps = [
        {
            "name": v.app,
            "route_prefix": None,  # reached through the endpoint only
            "import_path": "serve.app:build",
            "args": {"settings": v.settings.to_args()},
            "deployments": [
                {"name": ENDPOINT_DEPLOYMENT, **v.deployment, "user_config": v.user_config()}
            ],
        }
        for v in p.variants
    ]
    return {
        "proxy_location": PROXY_LOCATION,
        "http_options": {"host": host, "port": port},
        "applications": [
            *variant_apps,
            {
                "name": spec.name,
                "route_prefix": spec.route_prefix,
                "import_path": "serve.app:build",
                "args": {"settings": p.settings.to_args()},
                "deployments": deployments,
            },
        ],
    }


def write_serve_config(spec: EndpointSpec | dict | str | Path, path: str | Path, **kw) -> Path:
    """Write ``serve_config`` as YAML; then ``RAY_AUTH_MODE=token serve deploy <path>``."""
    path = Path(path)
    path.write_text(yaml.safe_dump(serve_config(spec, **kw), sort_keys=False))
    return path
