"""What an endpoint replica does with one HTTP request, independent of Ray Serve.

``EndpointCore.handle`` takes the method, path, headers and a body reader and returns a
``Reply`` (status, JSON payload, headers). Every error is a ``RaymakerError`` mapped to its
status with ``{"error": "..."}``; anything unexpected becomes a logged 500 and never takes the
replica down. The async routes validate here as the real-time ones do, then queue through
``serve.async_inference`` (``async_front``; None: async is off). ``serve.app`` wraps this in a
Ray Serve deployment; unit tests call it directly. A multi-model endpoint's core holds a
``ModelSetTable`` (``use_model_set``): the same routes, its models loaded on first call.
Inference keys may be scoped to models (``key_scopes``): 403 on a route naming another model.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ray_apps._natural import natural
from ray_apps.errors import (
    NotFoundError,
    PayloadTooLargeError,
    QueueFullError,
    RaymakerError,
    SpecError,
)
from ray_apps.prediction import Prediction
from serve import explanations, protocol_v1, protocol_v2, routes
from serve.async_inference.front import AsyncFront
from serve.async_inference.store import NewRequest
from serve.auth import authorize
from serve.capture import CaptureWriter
from serve.explanations import Explanations
from serve.labels_routes import CapturedIds, post_labels
from serve.model_table import ModelTable, Predictor
from serve.multi_model.errors import ModelTooLarge
from serve.multi_model.scopes import Scope, check_scope
from serve.multi_model.table import ModelSetTable
from serve.served_model import ServedModel
from serve.traffic.choice import VARIANT_HEADER
from serve.traffic.router import Forwarded, VariantRouter

logger = logging.getLogger("raymaker.serve")
# The async submit routes and the real-time routes that answer them.
_REAL_TIME = {"v1_predict_async": "v1_predict", "v2_infer_async": "v2_infer"}
# The routes a variant answers (the rest are the endpoint's own: health, metadata, admin).
_ROUTED = ("v1_predict", "v2_infer", "v1_explain", "v2_explain")
_MIRRORED = ("v1_predict", "v2_infer")  # a shadow compares predictions, not explanations


@dataclass
class Reply:
    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Call:
    """What one request resolved to, for metrics and capture."""

    model: str = "-"
    version: str = "-"
    features: list[str] = field(default_factory=list)
    inputs: np.ndarray | None = None  # the parsed feature matrix
    prediction: Prediction | None = None
    body: bytes | None = None  # the raw body, captured when it did not parse
    root: str = ""  # the application's route prefix, without the trailing slash
    variant: str | None = None  # the variant that answered (endpoints with variants)
    shadow_to: str | None = None  # the variant this request is mirrored to
    answered_elsewhere: bool = False  # forwarded to another variant's replicas
    sampled: bool | None = None  # captured or not, once decided


class EndpointCore:
    def __init__(
        self,
        *,
        key_digests: tuple[str, ...] = (),
        admin_key_digests: tuple[str, ...] = (),
        max_body_bytes: int = 1 << 20,
        tracking_uri: str | None = None,
        capture: CaptureWriter | None = None,
        metrics: Any = None,
        version: str = "0.1.0",
        batch_storage: str | None = None,
        home: str | None = None,
        max_explain_rows: int = 100,
        labels_root: str | None = None,
        endpoint: str = "raymaker",
        pipelines: Mapping[str, str] | None = None,
        key_scopes: Mapping[str, Scope] | None = None,
    ):
        self.key_digests = tuple(key_digests)
        # {sha256 of a scoped inference key: the model patterns it may call}
        self.key_scopes = {d: tuple(s) for d, s in (key_scopes or {}).items()}
        self.admin_key_digests = tuple(admin_key_digests)
        self.max_body_bytes = max_body_bytes
        self.tracking_uri = tracking_uri
        self.capture = capture
        self.metrics = metrics
        self.version = version
        self.batch_storage = batch_storage  # run storage of batch jobs started over HTTP
        self.home = home  # their relative paths are taken under it
        # the versions served (serve.model_table), or a model set's (serve.multi_model.table)
        self.table: ModelTable | ModelSetTable = ModelTable(tracking_uri)
        self.async_front: AsyncFront | None = None
        self.explanations = Explanations(max_explain_rows)
        self.labels_root = labels_root  # the capture root: posted labels are kept under it
        self._captured_ids = CapturedIds(labels_root) if labels_root else None
        self.router: VariantRouter | None = None  # endpoints with variants
        # The variants that share these replicas (not the first, which is ``table``).
        self.variant_tables: dict[str, ModelTable] = {}
        self.endpoint = endpoint  # its name: the default key of the pipelines it starts
        # {name: pipeline YAML}: what POST /admin/pipelines/{name}:run may start (an allow-list)
        self.pipelines = dict(pipelines or {})

    @property
    def max_read_bytes(self) -> int:
        """The most any route reads of a body (the async routes may take more)."""
        front = self.async_front
        return max(self.max_body_bytes, front.max_body_bytes if front else 0)

    @property
    def models(self) -> dict[str, ServedModel]:
        return self.table.models

    @property
    def predictors(self) -> dict[str, Predictor]:
        return self.table.predictors

    @property
    def registry_status(self) -> dict[str, str]:
        return self.table.registry_status

    @registry_status.setter
    def registry_status(self, value: dict[str, str]) -> None:
        self.table.registry_status = value

    def set_models(
        self, models: dict[str, ServedModel], predictors: dict[str, Predictor] | None = None
    ) -> None:
        """Swap the served versions in one assignment: requests see old or new, never neither."""
        self.table.swap(models, predictors)

    def use_model_set(self, table: ModelSetTable) -> None:
        """Serve a model set: its models load on first call (a multi-model endpoint)."""
        self.table = table

    def set_shared_variants(
        self, loaded: Mapping[str, tuple[dict[str, ServedModel], Mapping[str, Predictor | None]]]
    ) -> None:
        """{variant: (its models, their batching predictors)}: swapped in as one table each."""
        tables = {}
        for variant, (models, predictors) in loaded.items():
            table = ModelTable(self.tracking_uri)
            table.swap(models, {n: p for n, p in predictors.items() if p})
            tables[variant] = table
        self.variant_tables = tables

    def _table_of(self, call: _Call) -> ModelTable | ModelSetTable:
        """The versions that answer ``call``: its variant's when that one shares this replica."""
        if call.variant is None:
            return self.table
        return self.variant_tables.get(call.variant, self.table)

    async def handle(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        read_body: Callable[[], Awaitable[bytes]],
        request_id: str,
        *,
        root_path: str = "",
        via: str | None = None,
        forwarded: Forwarded | None = None,
    ) -> Reply:
        """Answer one request. ``root_path``: the application's route prefix (for URLs in
        answers); ``via="async"``: a consumer answering a queued request (named so in metrics
        and capture); ``forwarded``: a request another replica chose this variant for (it
        counts and mirrors it; this replica answers and captures it)."""
        start = time.perf_counter()
        route = routes.match(method, path)
        call = _Call(root=root_path.rstrip("/"))
        if forwarded is not None:
            call.variant, call.sampled = forwarded.variant, forwarded.capture
        try:
            reply = await self._dispatch(
                route, method, path, headers, read_body, request_id, call, forwarded
            )
        except QueueFullError as err:
            reply = Reply(err.http_status, {"error": str(err)})
            reply.headers["retry-after"] = str(err.retry_after_s)
        except ModelTooLarge as err:  # counted against the model it refused
            call.model, call.version = err.name, str(err.version)
            reply = Reply(err.http_status, {"error": str(err)})
        except RaymakerError as err:
            reply = Reply(err.http_status, {"error": str(err)})
        except Exception:  # a bug, not bad input: answer 500, keep the replica serving
            logger.exception("unexpected error on %s %s (request %s)", method, path, request_id)
            reply = Reply(500, {"error": f"internal error; see the replica log, {request_id}"})
        reply.headers["x-request-id"] = request_id
        if call.variant is not None:
            reply.headers[VARIANT_HEADER] = call.variant
        ms = (time.perf_counter() - start) * 1000
        name = route.name if route else "unknown"
        if via is not None:
            name = f"{name}_{via}"
        if forwarded is None:  # a forwarded request is counted where it arrived
            if self.metrics is not None:
                self.metrics.observe(call.model, call.version, name, reply.status, ms, call.variant)
            if self.router is not None and call.variant is not None:
                self.router.observe(call.variant, reply.status, ms)
        # A queued request (202) is captured once, with its answer, by the consumer; a request
        # answered by another variant's replicas is captured there.
        captured = call.body is not None and reply.status != 202 and not call.answered_elsewhere
        if call.sampled is None and self.capture is not None and (captured or call.shadow_to):
            call.sampled = self.capture.sampled()
        if call.shadow_to is not None and call.body is not None and self.router is not None:
            self.router.mirror(
                call.shadow_to,
                method,
                path,
                headers,
                call.body,
                request_id,
                root_path=root_path,
                capture=bool(call.sampled),
            )
        if captured and self.capture is not None and call.sampled:
            self.capture.add(
                request_id=request_id,
                model=call.model,
                version=call.version,
                protocol=name,
                status=reply.status,
                latency_ms=ms,
                features=call.features,
                inputs=call.inputs,
                prediction=call.prediction if reply.status == 200 else None,
                error=reply.payload.get("error") if reply.status != 200 else None,
                body=call.body,
                variant=call.variant,
                shadow=bool(forwarded and forwarded.shadow),
            )
        return reply

    async def _dispatch(
        self, route, method, path, headers, read_body, request_id, call, forwarded=None
    ) -> Reply:
        if route is None:
            raise NotFoundError(
                f"no route {method} {path}; this endpoint serves /v1/models/<name>[:predict|"
                ":explain|/labels], /v2/models/<name>[/versions/<v>][/infer|/explain|/ready] "
                "and /v2/health/{live,ready}; GET /openapi.json describes every route"
            )
        if route.name == "method_not_allowed":
            return Reply(405, {"error": f"{method} is not allowed on {path}"})
        key = authorize(
            route.role, headers.get("authorization"), self.key_digests, self.admin_key_digests
        )
        p = route.params
        if self.key_scopes and route.role == "inference" and "name" in p:
            check_scope(self.key_scopes, key, p["name"])  # before the body is read
        if route.name in _REAL_TIME:
            return await self._submit_async(route, headers, read_body, call)
        if route.name in _ROUTED and self.router is not None and forwarded is None:
            choice = self.router.choose(headers, p.get("version"))
            call.variant = choice.answer
            if route.name in _MIRRORED:
                call.shadow_to = choice.shadow
            if not self.router.is_local(choice.answer):
                return await self._forward(
                    choice.answer, method, path, headers, read_body, request_id, call
                )
        if route.name in ("async_status", "async_result"):
            front = self._front()
            if route.name == "async_status":
                return Reply(200, await front.status(p["id"]))
            return Reply(*await front.result(p["id"]))
        if route.name in ("v1_predict", "v2_infer"):
            table = self._table_of(call)
            model = await table.resolve(p["name"], p.get("version"))
            call.model, call.version = model.name, str(model.version)
            features = call.features = model.features
            body = call.body = await self._body(headers, read_body)
            if route.name == "v1_predict":
                x = call.inputs = protocol_v1.parse_request(body, features)
                pred, batch = await table.predictor(model)(x)
                call.prediction = pred
                return _with_batch(Reply(200, protocol_v1.build_response(model, pred)), batch)
            req = protocol_v2.parse_request(body, features, _header_length(headers))
            call.inputs = req.x
            pred, batch = await table.predictor(model)(req.x)
            call.prediction = pred
            payload = protocol_v2.build_response(model, pred, req, request_id)
            return _with_batch(Reply(200, payload), batch)
        if route.name in ("v1_explain", "v2_explain"):
            return await self._explain(route, headers, read_body, call, request_id)
        if route.name == "labels":
            return await self._labels(route, headers, read_body, call)
        if route.name in ("live", "ready"):
            ready = route.name == "live" or self.table.ready
            return Reply(200 if ready else 503, {route.name: ready})
        if route.name == "v2_server":
            return Reply(200, protocol_v2.server_metadata(self.version))
        if route.name == "openapi":
            from serve.openapi import document

            return Reply(200, document(self.version, call.root))
        if route.name == "v1_models":
            return Reply(200, {"models": self.table.names})
        if route.name in ("v1_model", "v2_model_ready"):  # a model set answers without loading
            s = await self.table.status(p["name"], p.get("version"))
            if route.name == "v1_model":
                return Reply(200, {**protocol_v1.model_status(s), "registry_status": s.status})
            return Reply(200, {"name": s.name, "version": str(s.version), "ready": True})
        if route.name == "v2_model":  # the features are the artifact's: a model set loads it
            model = await self._model(p["name"], p.get("version"))
            meta = protocol_v2.model_metadata(model)
            status = self.registry_status.get(model.name, model.status)
            meta["parameters"] = {**meta.get("parameters", {}), "registry_status": status}
            return Reply(200, meta)
        if route.name in ("traffic_show", "traffic_change"):
            from serve import traffic_routes

            if route.name == "traffic_show":
                return Reply(200, traffic_routes.show(self.router))
            body = await self._body(headers, read_body)
            return Reply(200, await traffic_routes.change(self.router, body))
        if route.name in ("batch_submit", "batch_status", "batch_list"):
            return await self._batch(route, method, path, headers, read_body, call)
        if route.name == "pipeline_run":
            return await self._pipeline(route, headers, read_body)
        if route.name == "model_cache":
            return Reply(200, self._model_cache())
        from serve import registry_routes

        if route.name == "registry_decide_moved":
            raise NotFoundError(
                f"approve/reject moved to the admin surface: POST /admin{path} with an admin "
                "credential (auth.admin_key_envs), or 'raymaker registry approve|reject'"
            )
        body = await self._body(headers, read_body) if method == "POST" else b""
        return Reply(200, await registry_routes.handle(route, body, self.tracking_uri))

    async def _forward(self, variant, method, path, headers, read_body, request_id, call) -> Reply:
        """Have ``variant``'s replicas answer; its model and version come back in the answer."""
        # The router that chose the variant answers for it: a reconfigure while this awaits (a
        # rollout's promotion ends the variants) replaces self.router, or sets it to None.
        router = self.router
        call.body = await self._body(headers, read_body)
        call.answered_elsewhere = True
        if call.sampled is None and self.capture is not None:
            call.sampled = self.capture.sampled()
        status, payload, reply_headers = await router.forward(
            variant,
            method,
            path,
            headers,
            call.body,
            request_id,
            root_path=call.root,
            capture=bool(call.sampled),
        )
        target = router.table.target(variant)
        call.model, call.version = target.model, str(target.version)
        return Reply(status, payload, dict(reply_headers))

    async def _submit_async(self, route, headers, read_body, call: _Call) -> Reply:
        """Validate as the real-time route would (400 now, not a failed job later), queue."""
        front = self._front()
        p = route.params
        callback = front.callback_url(headers)
        model = await self._model(p["name"], p.get("version"))
        call.model, call.version = model.name, str(model.version)
        features = call.features = model.features
        body = call.body = await self._body(headers, read_body, front.max_body_bytes)
        real = _REAL_TIME[route.name]
        header_length = None
        if real == "v1_predict":
            call.inputs = protocol_v1.parse_request(body, features)
            path = f"/v1/models/{model.name}:predict"
        else:
            header_length = _header_length(headers)
            call.inputs = protocol_v2.parse_request(body, features, header_length).x
            pinned = f"/versions/{p['version']}" if "version" in p else ""
            path = f"/v2/models/{model.name}{pinned}/infer"
        new = NewRequest(
            id=uuid.uuid4().hex,
            model=model.name,
            version=str(model.version),
            route=real,
            path=path,
            header_length=header_length,
            base=call.root,
            callback_url=callback,
        )
        accepted, url = await front.submit(new, body)
        return Reply(202, accepted, {"location": url})

    async def _explain(self, route, headers, read_body, call: _Call, request_id: str) -> Reply:
        """SHAP values of the rows, as V1 or V2; explain calls are not captured as traffic."""
        p = route.params
        model = await self._table_of(call).resolve(p["name"], p.get("version"))
        call.model, call.version = model.name, str(model.version)
        body = await self._body(headers, read_body)
        if route.name == "v1_explain":
            x = protocol_v1.parse_request(body, model.features)
            e = await self.explanations.explain(model, x)
            return Reply(200, explanations.v1_response(model, model.predict(x), e))
        outputs = explanations.V2_OUTPUTS
        req = protocol_v2.parse_request(body, model.features, _header_length(headers), outputs)
        e = await self.explanations.explain(model, req.x)
        rid = req.id if req.id is not None else request_id
        payload = explanations.v2_response(model, model.predict(req.x), e, req.outputs, rid)
        return Reply(200, payload)

    async def _labels(self, route, headers, read_body, call: _Call) -> Reply:
        if self.labels_root is None or self._captured_ids is None:
            raise NotFoundError("labels are not kept on this endpoint (it has no capture path)")
        model = await self._model(route.params["name"], None)
        call.model, call.version = model.name, str(model.version)
        body = await self._body(headers, read_body)
        return Reply(200, await post_labels(model, body, self.labels_root, self._captured_ids))

    def _front(self) -> AsyncFront:
        if self.async_front is None:
            raise NotFoundError(
                "asynchronous inference is off on this endpoint (async_inference.enabled: "
                "false in its spec); call the real-time routes, or enable it and redeploy"
            )
        return self.async_front

    async def _batch(self, route, method, path, headers, read_body, call) -> Reply:
        from serve import batch_routes

        if self.batch_storage is None or self.home is None:
            raise NotFoundError("batch jobs are not configured on this endpoint")
        if route.name in ("batch_status", "batch_list"):
            reply = batch_routes.status if route.name == "batch_status" else batch_routes.jobs
            return Reply(200, await reply(route, storage=self.batch_storage))
        body = await self._body(headers, read_body)
        payload = await batch_routes.submit(
            body,
            call.root + path,
            storage=self.batch_storage,
            home=self.home,
            tracking_uri=self.tracking_uri,
        )
        return Reply(202, payload, {"location": payload["status_url"]})

    async def _pipeline(self, route, headers, read_body) -> Reply:
        from serve import pipeline_routes

        name = route.params["pipeline"]
        pipeline_routes.pipeline_file(name, self.pipelines)  # 404 before reading the body
        body = await self._body(headers, read_body)
        payload = await pipeline_routes.run(
            name,
            body,
            pipelines=self.pipelines,
            endpoint=self.endpoint,
            storage=self.batch_storage,
            home=self.home,
            tracking_uri=self.tracking_uri,
        )
        return Reply(202, payload)

    def _model_cache(self) -> dict[str, Any]:
        """This replica's model cache: budget, what is loaded, counters per model version."""
        if not isinstance(self.table, ModelSetTable):
            raise NotFoundError(
                "this endpoint pins its models (models: [...]); only a model set (models: "
                "{prefix: …} or {tag: …}) loads them on demand into a model cache"
            )
        table = self.table
        return {
            "replica": f"{socket.gethostname()}:{os.getpid()}",
            "model_set": table.spec.selector,
            "servable": len(table.servable),
            **table.cache.snapshot(),
        }

    async def _model(self, name: str, version: str | None) -> ServedModel:
        return await self.table.resolve(name, version)

    async def _body(
        self,
        headers: Mapping[str, str],
        read_body: Callable[[], Awaitable[bytes]],
        limit: int | None = None,
    ) -> bytes:
        limit = self.max_body_bytes if limit is None else limit
        declared = natural(headers.get("content-length") or "")
        if declared is not None and declared > limit:
            raise PayloadTooLargeError(self._too_large(declared, limit))
        body = await read_body()
        if len(body) > limit:
            raise PayloadTooLargeError(self._too_large(len(body), limit))
        return body

    def _too_large(self, n: int, limit: int | None = None) -> str:
        if limit is not None and limit != self.max_body_bytes:
            return (
                f"the request body has {n} bytes; the async routes accept at most {limit} "
                "(async_inference.max_body_bytes): send fewer rows per request"
            )
        return (
            f"the request body has {n} bytes; this endpoint accepts at most "
            f"{self.max_body_bytes} (max_body_bytes): send fewer rows per request; the async "
            "routes (:predict-async, /infer-async) take larger bodies"
        )


def _with_batch(reply: Reply, batch: int) -> Reply:
    if batch:
        reply.headers["x-raymaker-batch-requests"] = str(batch)
    return reply


def _header_length(headers: Mapping[str, str]) -> int | None:
    value = headers.get("inference-header-content-length")
    if value is None:
        return None
    length = natural(value)
    if length is None:
        raise SpecError(
            f"Inference-Header-Content-Length {value[:40]!r} must be the length in bytes of "
            "the body's JSON part, an integer (digits 0-9)"
        )
    return length
