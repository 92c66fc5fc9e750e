"""The Ray Serve application of an endpoint: one ingress deployment hosting its models.

Each replica loads every model of the endpoint from the registry (checksum verified against
the registered manifest digest) and answers V1, V2, health, registry and admin routes itself, so a
request is one hop from the proxy (or HAProxy) to a replica: the measured way to stay near a
single FastAPI process (bench/serve_latency.py). Autoscaling, batching and health checks are
Ray Serve's. The served versions live in ``user_config``: changing them is a lightweight
reconfigure, so a rollout loads the new version beside the old and swaps it in one assignment,
without restarting the replica or failing a request.

``serve run`` / ``serve deploy`` build it with ``serve.app:build`` and the args that
``serve.deploy.serve_config`` writes. Each replica also re-reads the registry status of what it
serves from the health check (``serve.approval_watch``).

A multi-model endpoint (``settings.model_set``) loads nothing at start but its ``prewarm``
list: each replica reads which models of its set are servable, loads a model on its first
request and evicts least-recently-used ones within the budget (``serve.multi_model.table``),
re-reads the registry on the same check interval, and publishes its cache's counters as
Prometheus metrics (``serve.multi_model.cache_metrics``) on each health check.

With ``async_inference.enabled`` the application also holds the async consumer deployment
(``serve.async_inference.consumer``, scaled to zero while the queue is empty); each ingress
replica takes async submissions and runs the periodic sweep that wakes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from typing import Any

import numpy as np
from ray import serve

from ray_apps.errors import SpecError
from ray_apps.prediction import Prediction
from serve._asgi import make_asgi
from serve.approval_watch import changes, check_due
from serve.async_inference.consumer import AsyncConsumer
from serve.async_inference.consumer import deployment_options as consumer_options
from serve.async_inference.front import AsyncFront
from serve.async_inference.store import AsyncStore
from serve.async_inference.sweep import Sweeper
from serve.capture import capture_writer
from serve.endpoint import EndpointCore, Predictor
from serve.metrics import ENDPOINT_DEPLOYMENT
from serve.model_table import load_models, load_shared_variants, model_refs, registry_statuses
from serve.multi_model.table import ModelSetTable
from serve.replica_settings import ReplicaSettings
from serve.served_model import ServedModel
from serve.traffic.router import Forwarded, install_router

logger = logging.getLogger("ray.serve")


@serve.deployment(name=ENDPOINT_DEPLOYMENT, health_check_period_s=5, graceful_shutdown_timeout_s=20)
@serve.ingress()
class Endpoint:
    """One replica: every model of the endpoint, configured by a ``ReplicaSettings``."""

    def __init__(self, settings: ReplicaSettings, consumer: Any = None):
        """``consumer``: a handle to the async consumer deployment (None: async is off)."""
        from serve._one_write import install as one_write_responses
        from serve.metrics import EndpointMetrics

        one_write_responses()  # a replica killed mid-answer sends all of it or nothing
        self._settings = settings
        self._metrics = EndpointMetrics()
        self._core = EndpointCore(
            key_digests=settings.key_digests,
            admin_key_digests=settings.admin_key_digests,
            max_body_bytes=settings.max_body_bytes,
            tracking_uri=settings.tracking_uri,
            capture=capture_writer(settings),
            metrics=self._metrics,
            batch_storage=settings.storage,
            home=settings.home,
            max_explain_rows=settings.max_explain_rows,
            labels_root=settings.capture.path,
            endpoint=settings.endpoint,
            pipelines=settings.pipelines,
            key_scopes={d: tuple(s) for d, s in settings.key_scopes.items()},
        )
        self._model_set: ModelSetTable | None = None
        self._cache_metrics = None
        if settings.model_set is not None:
            from serve.multi_model.cache_metrics import CacheMetrics

            batching = settings.batching.max_batch_size > 1
            self._model_set = ModelSetTable(
                settings.model_set,
                settings.tracking_uri,
                batcher=self._batcher if batching else None,
            )
            self._core.use_model_set(self._model_set)
            self._cache_metrics = CacheMetrics()
        self._last_registry_check: float | None = None
        self._registry_error: str | None = None
        self._sweeper: Sweeper | None = None
        self._sweep_task: asyncio.Task | None = None
        self._router_task: asyncio.Task | None = None
        if consumer is not None and settings.async_inference.enabled:
            self._sweeper = _async_front(self._core, settings, consumer)

    async def reconfigure(self, config: dict[str, Any]) -> None:
        """Load the versions ``config["models"]`` names, then swap them in at once; with
        ``config["traffic"]`` (endpoints with variants), route by that table. A model set
        reads the registry and loads its prewarm list, once: it pins no versions."""
        if self._model_set is not None:
            if not self._model_set.ready:
                await self._start_model_set(self._model_set)
            return
        models = await asyncio.to_thread(load_models, model_refs(config), self._core.tracking_uri)
        shared = await asyncio.to_thread(
            load_shared_variants, config.get("shared_variants") or {}, self._core.tracking_uri
        )
        predictors = {n: self._batcher(m) for n, m in models.items()}
        self._core.set_models(models, {n: p for n, p in predictors.items() if p})
        self._core.set_shared_variants(
            {v: (m, {n: self._batcher(x) for n, x in m.items()}) for v, m in shared.items()}
        )
        self._router_task = install_router(self._core, self._settings, config, self._router_task)
        for m in [*models.values(), *(x for loaded in shared.values() for x in loaded.values())]:
            self._metrics.approved(m.name, m.version, m.status == "Approved")
        if self._sweeper is not None and self._sweep_task is None:  # on the replica's loop
            self._sweep_task = asyncio.get_running_loop().create_task(self._sweeper.run())
        logger.info("serving %s", ", ".join(f"{m.name}:{m.version}" for m in models.values()))

    def __serve_build_asgi_app__(self):
        return make_asgi(self._core, _request_id)

    async def answer(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        request_id: str,
        root_path: str,
        forwarded: Forwarded,
    ) -> tuple[int, Any, dict[str, str]]:
        """A request the endpoint's ingress chose this variant for (``serve.traffic.router``)."""

        async def read_body() -> bytes:
            return body

        fault = self._settings.fault
        if fault is not None:
            from serve.traffic.fault import inject

            injected = await inject(fault, request_id)
            if injected is not None:
                return injected
        reply = await self._core.handle(
            method, path, headers, read_body, request_id, root_path=root_path, forwarded=forwarded
        )
        return reply.status, reply.payload, reply.headers

    async def answer_many(self, items: list[tuple]) -> list[int]:
        """Shadow copies sent together (``VariantRouter.mirror``): answered concurrently and
        captured here; only their statuses go back."""
        replies = await asyncio.gather(*(self.answer(*item) for item in items))
        return [status for status, _, _ in replies]

    async def check_health(self) -> None:
        if not self._core.table.ready:  # a model set: until its registry listing was read
            raise RuntimeError("no model loaded yet")
        if self._core.capture is not None and not self._core.capture.alive():
            raise RuntimeError("the data capture writer thread died")
        now = time.monotonic()
        if check_due(self._last_registry_check, now, self._settings.registry_check_interval_s):
            self._last_registry_check = now
            if self._model_set is not None:
                await self._reread_model_set(self._model_set)
            else:
                await self._recheck_registry()
        if self._cache_metrics is not None and self._model_set is not None:
            self._cache_metrics.publish(self._model_set.cache.snapshot())

    async def _start_model_set(self, table: ModelSetTable) -> None:
        failed = await asyncio.to_thread(table.start)  # a registry outage fails the start
        for name, err in failed.items():
            logger.warning("prewarm of %s failed (it loads on its first request): %s", name, err)
        loaded = table.cache.loaded()
        logger.info(
            "serving the model set %s: %d servable, %d prewarmed",
            table.spec.selector,
            len(table.servable),
            len(loaded),
        )

    async def _reread_model_set(self, table: ModelSetTable) -> None:
        """Which models of the set are servable now: new ones answer from here on, ones no
        longer servable are answered 404 and unloaded."""
        from serve.multi_model.resolve import read_listing

        try:
            listing = await asyncio.to_thread(read_listing, table.tracking_uri)
        except Exception as err:  # a registry outage must not fail the health check
            if str(err) != self._registry_error:
                logger.warning("cannot re-read the registry for the model set: %s", err)
            self._registry_error = str(err)
            return
        self._registry_error = None
        change = table.refresh(listing)
        if change.added or change.removed:
            logger.info(
                "model set %s: now servable %s; no longer servable %s (unloaded %s)",
                table.spec.selector,
                change.added,
                change.removed,
                change.unloaded,
            )

    async def _recheck_registry(self) -> None:
        """Re-read the served versions' approval status; warn once per change, set the gauge."""
        models = dict(self._core.models)
        try:
            read = await asyncio.to_thread(registry_statuses, models, self._core.tracking_uri)
        except Exception as err:  # a registry outage must not fail the health check
            if str(err) != self._registry_error:
                logger.warning("cannot re-check the registry status of served versions: %s", err)
            self._registry_error = str(err)
            return
        self._registry_error = None
        versions = {n: m.version for n, m in models.items()}
        for change in changes(versions, self._core.registry_status, read):
            log = logger.info if change.approved else logger.warning
            log("%s", change.message(self._settings.endpoint))
            self._metrics.approved(change.model, change.version, change.approved)
        self._core.registry_status = {**self._core.registry_status, **read}

    def __del__(self) -> None:
        for task in (self._sweep_task, self._router_task):
            if task is not None and not task.done():  # Serve calls this off the replica's loop
                with contextlib.suppress(RuntimeError):  # a closed loop took the task with it
                    task.get_loop().call_soon_threadsafe(task.cancel)
        if self._core.router is not None:
            self._core.router.close()  # the last second of variant statistics
        if self._core.capture is not None:
            self._core.capture.close()
        if self._model_set is not None:
            self._model_set.close()
        from ray_apps.registry import release_fetched

        release_fetched()  # Ray kills the replica next, running no atexit: remove copies now

    def _batcher(self, model: ServedModel) -> Predictor | None:
        size = self._settings.batching.max_batch_size
        if size <= 1:
            return None
        wait = self._settings.batching.batch_wait_timeout_s

        @serve.batch(max_batch_size=size, batch_wait_timeout_s=wait)
        async def predict_batch(xs: list[np.ndarray]) -> list[tuple[Prediction, int]]:
            pred = model.predict(np.concatenate(xs))
            out, start = [], 0
            for x in xs:
                out.append((pred.rows(start, start + len(x)), len(xs)))
                start += len(x)
            return out

        return predict_batch


def _async_front(core: EndpointCore, settings: ReplicaSettings, consumer: Any) -> Sweeper:
    """Give ``core`` the async routes; returns the sweep that wakes ``consumer``."""
    a = settings.async_inference
    store = AsyncStore(a, settings.endpoint)

    async def wake() -> None:
        await consumer.drain.remote()

    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    secret = a.callback_secret()  # read here, where the replica runs; never logged
    sweeper = Sweeper(store, wake, owner, secret=secret)
    core.async_front = AsyncFront(store, callbacks_on=secret is not None, nudge=sweeper.nudge)
    return sweeper


def build(args: dict[str, Any]) -> serve.Application:
    """Application builder for ``serve run serve.app:build`` / a Serve config file.

    ``args``: ``settings`` (a ``ReplicaSettings`` or the mapping a Serve config file holds,
    parsed and checked here, once), and from ``serve.deploy`` also ``models`` and
    ``deployment`` (Serve's own options, as Serve spells them).
    """
    unknown = sorted(set(args) - {"settings", "models", "deployment"})
    if unknown:
        raise SpecError(
            f"serve.app:build got unknown args {unknown}; it takes settings, models, deployment"
        )
    if "settings" not in args:
        raise SpecError(
            "serve.app:build needs args.settings; write the Serve config with "
            "'raymaker deploy --serve-config serve.yaml'"
        )
    settings = ReplicaSettings.parse(args["settings"])
    opts = dict(args.get("deployment") or {})
    # ``serve.deploy`` pins a code version (``code_version``): Serve then applies a change of
    # user_config alone (other versions, a traffic table) as a reconfigure of running replicas
    # instead of replacing them, as it does for Serve config files. Without one, every
    # ``serve.run`` draws a random version and restarts every replica.
    version = opts.pop("version", None)
    pinned = {"version": version, "_internal": True} if version else {}
    consumer = None
    if settings.async_inference.enabled:
        consumer_opts = consumer_options(settings)
        if "models" in args:
            consumer_opts["user_config"] = {**opts.get("user_config", {}), "models": args["models"]}
        consumer = AsyncConsumer.options(**consumer_opts, **pinned).bind(settings)
    if "models" in args:
        opts["user_config"] = {**opts.get("user_config", {}), "models": args["models"]}
    return Endpoint.options(**opts, **pinned).bind(settings, consumer)


def code_version(settings: ReplicaSettings) -> str:
    """What a replica runs: its settings and the source of the packages it imports. Equal
    versions let Serve reconfigure replicas in place; any change of either restarts them."""
    import hashlib
    import json
    from pathlib import Path

    digest = hashlib.sha256(json.dumps(settings.to_args(), sort_keys=True).encode())
    here = Path(__file__).resolve().parent
    for package in (here, here.parent / "ray_apps"):
        for source in sorted(package.rglob("*.py")):
            digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def _request_id() -> str:
    """The id Serve gave this request (it echoes it as ``x-request-id``)."""
    try:
        return serve.context._get_serve_request_context().request_id
    except Exception:  # outside a Serve request (never in practice)
        return ""
