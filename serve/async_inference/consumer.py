"""The consumer deployment: Ray Serve replicas that work through the async queue.

It sits in the endpoint's application beside the ingress (``serve.app:build`` binds both) and
loads the same model versions (the same ``user_config``, so a rollout reaches it too). Its
autoscaling starts at zero replicas: the ingress's sweep calls ``drain`` when there is work, a
call on zero replicas makes Serve start one, and once no call has come for
``consumers.idle_s`` it scales back to zero. ``drain`` answers requests until the queue is
empty (``serve.async_inference.worker``). Model calls run in a thread, so the lease keeps being
renewed while a long prediction runs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from typing import Any

import numpy as np
from ray import serve

from ray_apps.prediction import Prediction
from serve.async_inference.store import AsyncStore
from serve.async_inference.worker import Worker
from serve.endpoint import EndpointCore, Predictor
from serve.replica_settings import ReplicaSettings
from serve.served_model import ServedModel

logger = logging.getLogger("ray.serve")
NAME = "async-consumer"


@serve.deployment(name=NAME, health_check_period_s=5, graceful_shutdown_timeout_s=5)
class AsyncConsumer:
    def __init__(self, settings: ReplicaSettings):
        from serve.capture import capture_writer
        from serve.metrics import EndpointMetrics

        a = settings.async_inference
        self._core = EndpointCore(
            max_body_bytes=a.max_body_bytes,
            tracking_uri=settings.tracking_uri,
            capture=capture_writer(settings),
            metrics=EndpointMetrics(),
        )
        self._settings = settings
        self._router_task: asyncio.Task | None = None
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._worker = Worker(AsyncStore(a, settings.endpoint), self._core, owner)

    async def reconfigure(self, config: dict[str, Any]) -> None:
        from serve.model_table import load_models, model_refs

        models = await asyncio.to_thread(load_models, model_refs(config), self._core.tracking_uri)
        self._core.set_models(models, {n: _in_thread(m) for n, m in models.items()})
        from serve.traffic.router import install_router

        # Queued requests are routed by the weights in force when they are answered.
        self._router_task = install_router(self._core, self._settings, config, self._router_task)

    async def drain(self) -> int:
        """Answer queued requests until none is left; returns how many."""
        return await self._worker.drain()

    async def check_health(self) -> None:
        if not self._core.models:
            raise RuntimeError("no model loaded yet")
        if self._core.capture is not None and not self._core.capture.alive():
            raise RuntimeError("the data capture writer thread died")

    def __del__(self) -> None:
        if self._core.capture is not None:
            self._core.capture.close()
        from ray_apps.registry import release_fetched

        release_fetched()  # Ray kills the replica next, running no atexit: remove copies now


def _in_thread(model: ServedModel) -> Predictor:
    async def predict(x: np.ndarray) -> tuple[Prediction, int]:
        return await asyncio.to_thread(model.predict, x), 0

    return predict


def deployment_options(settings: ReplicaSettings) -> dict[str, Any]:
    """Serve's options for the consumer deployment, from the endpoint's settings."""
    c = settings.async_inference.consumers
    return {
        "autoscaling_config": c.to_serve(),
        "max_ongoing_requests": c.concurrency,
        "ray_actor_options": {"num_cpus": c.num_cpus},
    }
