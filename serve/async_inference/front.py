"""What the ingress answers on the async routes, once a request is validated.

``EndpointCore`` resolves the model and validates the body exactly as the real-time route
does, then hands the request here:

    POST …:predict-async / …/infer-async  → 202 {"id", "status", "status_url"}, Location
    GET  /async/requests/{id}             → 200 the request's status, 404 unknown or deleted
    GET  /async/requests/{id}/result      → the real-time route's answer (its status, its body),
                                            404 while queued or running, once expired (queued
                                            past queued_ttl_s), and after the TTL

Store calls run in a thread: the replica's event loop keeps serving real-time requests.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from ray_apps.errors import NotFoundError
from serve.async_inference import callbacks
from serve.async_inference._table import Record
from serve.async_inference.store import AsyncStore, NewRequest


class AsyncFront:
    def __init__(
        self,
        store: AsyncStore,
        *,
        callbacks_on: bool,
        nudge: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.max_body_bytes = store.settings.max_body_bytes
        self._callbacks_on = callbacks_on
        self._nudge = nudge
        self._clock = clock

    def callback_url(self, headers: Mapping[str, str]) -> str | None:
        return callbacks.callback_url(
            headers, self._callbacks_on, self.store.settings.callback_hosts
        )

    async def submit(self, new: NewRequest, body: bytes) -> tuple[dict[str, Any], str]:
        """Queue a validated request; returns the 202 body and its status URL."""
        job = await asyncio.to_thread(self.store.submit, new, body, self._clock())
        self._nudge()  # a consumer starts now, not at the next sweep
        url = callbacks.status_path(job.base, job.id)
        return {"id": job.id, "status": job.status, "status_url": url}, url

    async def status(self, request_id: str) -> dict[str, Any]:
        return describe(await self._get(request_id))

    async def result(self, request_id: str) -> tuple[int, Any]:
        """The stored answer: (HTTP status, JSON body) as the real-time route gave them."""
        job = await self._get(request_id)
        if job.result_file is None:
            if job.status == "failed":
                return 500, {"error": f"async request {job.id} failed: {job.error}"}
            if job.status == "expired":  # the error says why and which setting to raise
                raise NotFoundError(f"async request {job.id} has no result: {job.error}")
            raise NotFoundError(
                f"async request {job.id} is {job.status}; its result exists once the status "
                f"({callbacks.status_path(job.base, job.id)}) is succeeded or failed"
            )
        data = await asyncio.to_thread(self.store.result, job)
        return job.result_status or 200, json.loads(data)

    async def _get(self, request_id: str) -> Record:
        job = None
        if request_id.isalnum() and len(request_id) <= 64:
            job = await asyncio.to_thread(self.store.get, request_id)
        if job is None:
            raise NotFoundError(
                f"no async request {request_id!r} on this endpoint: the id is unknown, or the "
                f"request finished more than async_inference.ttl_s "
                f"({self.store.settings.ttl_s:g} s) ago and was deleted"
            )
        return job


def describe(job: Record) -> dict[str, Any]:
    """The status document of a request."""
    doc: dict[str, Any] = {
        "id": job.id,
        "status": job.status,
        "model": job.model,
        "version": job.version,
        "submitted_at": _iso(job.submitted_at),
        "updated_at": _iso(job.updated_at),
        "attempts": job.attempts,
    }
    if job.error is not None:
        doc["error"] = job.error
    if job.result_file is not None or job.status == "failed":
        doc["result_url"] = callbacks.result_path(job.base, job.id)
    if job.callback_url is not None:
        doc["callback"] = {
            "state": job.callback_state or "waiting",
            "attempts": job.callback_attempts,
            "last_status": job.callback_status,
            "error": job.callback_error,
        }
    return doc


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")
