"""The Ray Serve application of an endpoint: one ingress deployment hosting its models.

Each replica loads every model of the endpoint from the registry (checksum verified against
the registered manifest digest) and answers V1, V2, health and registry routes itself, so a
request is one hop from the proxy (or HAProxy) to a replica: the measured way to stay near a
single FastAPI process (bench/serve_latency.py). Autoscaling, batching and health checks are
Ray Serve's. The served versions live in ``user_config``: changing them is a lightweight
reconfigure, so a rollout loads the new version beside the old and swaps it in one assignment,
without restarting the replica or failing a request.

``serve run`` / ``serve deploy`` build it with ``serve.app:build`` and the args that
``serve.deploy.serve_config`` writes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import numpy as np
from ray import serve

from ray_apps.prediction import Prediction
from serve._asgi import make_asgi
from serve.capture import CaptureWriter
from serve.endpoint import EndpointCore, Predictor
from serve.served_model import ServedModel

logger = logging.getLogger("ray.serve")


@serve.deployment(name="endpoint", health_check_period_s=5, graceful_shutdown_timeout_s=20)
@serve.ingress()
class Endpoint:
    """``settings``: key_digests, max_body_bytes, tracking_uri, capture, batching (plain dicts)."""

    def __init__(self, settings: dict[str, Any]):
        from serve.metrics import EndpointMetrics

        cap = settings.get("capture") or {}
        capture = None
        if cap.get("percent", 0) > 0:
            capture = CaptureWriter(
                cap["path"],
                cap["percent"],
                flush_interval_s=cap.get("flush_interval_s", 2.0),
                flush_rows=cap.get("flush_rows", 5000),
            )
        self._batching = settings.get("batching") or {"max_batch_size": 1}
        self._core = EndpointCore(
            key_digests=tuple(settings.get("key_digests", ())),
            max_body_bytes=settings.get("max_body_bytes", 1 << 20),
            tracking_uri=settings.get("tracking_uri"),
            capture=capture,
            metrics=EndpointMetrics(),
        )

    async def reconfigure(self, config: dict[str, Any]) -> None:
        """Load the versions ``config["models"]`` names, then swap them in at once."""
        models = await asyncio.to_thread(load_models, config["models"], self._core.tracking_uri)
        predictors = {n: self._batcher(m) for n, m in models.items()}
        self._core.set_models(models, {n: p for n, p in predictors.items() if p})
        logger.info("serving %s", ", ".join(f"{m.name}:{m.version}" for m in models.values()))

    def __serve_build_asgi_app__(self):
        return make_asgi(self._core, _request_id)

    def check_health(self) -> None:
        if not self._core.models:
            raise RuntimeError("no model loaded yet")
        if self._core.capture is not None and not self._core.capture.alive():
            raise RuntimeError("the data capture writer thread died")

    def __del__(self) -> None:
        if self._core.capture is not None:
            self._core.capture.close()

    def _batcher(self, model: ServedModel) -> Predictor | None:
        size = int(self._batching.get("max_batch_size", 1))
        if size <= 1:
            return None
        wait = float(self._batching.get("batch_wait_timeout_s", 0.002))

        @serve.batch(max_batch_size=size, batch_wait_timeout_s=wait)
        async def predict_batch(xs: list[np.ndarray]) -> list[tuple[Prediction, int]]:
            pred = model.predict(np.concatenate(xs))
            out, start = [], 0
            for x in xs:
                out.append((pred.rows(start, start + len(x)), len(xs)))
                start += len(x)
            return out

        return predict_batch


def load_models(refs: list[dict[str, Any]], tracking_uri: str | None) -> dict[str, ServedModel]:
    """Resolve each pinned version in the registry, verify its artifact, and load it."""
    from ray_apps import registry
    from ray_apps.artifact import load_model
    from ray_apps.errors import ApprovalError

    out = {}
    for ref in refs:
        mv = registry.get_version(ref["name"], ref["version"], tracking_uri=tracking_uri)
        if not registry.deployable(mv.status, force=ref.get("force", False)):
            raise ApprovalError(f"{mv.ref} is {mv.status}; only Approved versions are served")
        # The learner's serving hint, e.g. one thread per booster: one request, one core.
        model = load_model(registry.fetch_artifact(mv)).prepare_for_serving()
        out[mv.name] = ServedModel(mv.name, mv.version, mv.status, model)
    return out


def build(args: dict[str, Any]) -> serve.Application:
    """Application builder for ``serve run serve.app:build`` / a Serve config file."""
    opts = dict(args.get("deployment") or {})
    if "models" in args:
        opts["user_config"] = {"models": args["models"]}
    return Endpoint.options(**opts).bind(args["settings"])


def _request_id() -> str:
    """The id Serve gave this request (it echoes it as ``x-request-id``)."""
    try:
        return serve.context._get_serve_request_context().request_id
    except Exception:  # outside a Serve request (never in practice)
        return ""
