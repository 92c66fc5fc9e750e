"""A consumer's work loop without Ray Serve: claim, answer, record, until the queue is empty.

Each request is answered by ``EndpointCore.handle`` on the real-time path it was submitted
for, so validation, the model call, metrics and data capture are the real-time ones (capture
and metrics name the route ``v1_predict_async`` / ``v2_infer_async``; the request id is the
async id). While it works, the worker renews its lease every third of ``lease_s``; its answer
is written to a file of its own attempt and only counts if ``complete`` still finds the claim
its own (a worker presumed dead that wakes up deletes its file and moves on).

Outcomes: a 2xx answer succeeds; a 4xx fails at once (the request is wrong, trying again
changes nothing) and keeps the error body as the result; a 5xx goes back to the queue after a
backoff until ``max_attempts`` deliveries, then fails.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ray_apps.errors import RaymakerError
from serve.async_inference import policy
from serve.async_inference._table import Record
from serve.async_inference.store import AsyncStore

if TYPE_CHECKING:
    from serve.endpoint import EndpointCore, Reply

logger = logging.getLogger("raymaker.serve")


class Worker:
    def __init__(
        self,
        store: AsyncStore,
        core: EndpointCore,
        owner: str,
        *,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.core = core
        self.owner = owner
        self.settings = store.settings
        self._clock = clock

    async def drain(self) -> int:
        """Answer requests until none can be claimed; returns how many were worked on."""
        worked = 0
        while True:
            job = await asyncio.to_thread(
                self.store.claim, self.owner, self.settings.lease_s, self._clock()
            )
            if job is None:
                return worked
            await self.process(job)
            worked += 1

    async def process(self, job: Record) -> str:
        """Answer one claimed request; returns succeeded, failed, retry or fenced."""
        beat = asyncio.create_task(self._heartbeat(job))
        try:
            reply = await self._answer(job)
        finally:
            beat.cancel()
        outcome = await asyncio.to_thread(self._record, job, reply)
        if outcome == "fenced":
            logger.warning(
                "async request %s: attempt %d lost its lease to another consumer; its answer "
                "was discarded (the request is answered once, by the other)",
                job.id,
                job.attempts,
            )
        return outcome

    async def _answer(self, job: Record) -> Reply:
        from serve.endpoint import Reply

        if self.settings.consumers.delay_s > 0:
            await asyncio.sleep(self.settings.consumers.delay_s)
        try:
            body = await asyncio.to_thread(self.store.payload, job)
        except RaymakerError as err:
            return Reply(err.http_status, {"error": str(err)})
        headers = {"content-length": str(len(body))}
        if job.header_length is not None:
            headers["inference-header-content-length"] = str(job.header_length)

        async def read_body() -> bytes:
            return body

        return await self.core.handle("POST", job.path, headers, read_body, job.id, via="async")

    def _record(self, job: Record, reply: Reply) -> str:
        now = self._clock()
        data = json.dumps(reply.payload, separators=(",", ":")).encode()
        if reply.status < 400:
            version = str(reply.payload.get("model_version", job.version))
            name = self.store.files.write_result(job.id, job.attempts, data)
            if self.store.complete(job, name, reply.status, version, now):
                return "succeeded"
            self.store.files.remove(job.id, name)
            return "fenced"
        error = str(reply.payload.get("error", f"HTTP {reply.status}"))
        if policy.retry_request(reply.status, job.attempts, self.settings.max_attempts):
            return "retry" if self.store.fail(job, error, now, retry=True) else "fenced"
        name = self.store.files.write_result(job.id, job.attempts, data)
        if self.store.fail(job, error, now, result_file=name, result_status=reply.status):
            return "failed"
        self.store.files.remove(job.id, name)
        return "fenced"

    async def _heartbeat(self, job: Record) -> None:
        every = policy.heartbeat_every_s(self.settings.lease_s)
        while True:
            await asyncio.sleep(every)
            try:
                held = await asyncio.to_thread(
                    self.store.heartbeat, job, self.settings.lease_s, self._clock()
                )
            except Exception as err:  # a store hiccup: the next beat may get through
                logger.warning("async request %s: lease renewal failed: %s", job.id, err)
                continue
            if not held:
                return
