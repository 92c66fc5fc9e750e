"""The replica side of variants: the current table, forwarding, mirroring, live statistics.

The endpoint's own replicas host the first variant and answer its requests in-process (one
hop, as without variants). A request the choice gives to another variant is forwarded whole
(method, path, headers, body) to that variant's Serve application through a deployment handle
and answered by the same ``EndpointCore`` code there: the second hop is what a variant with
replicas of its own costs (bench/serve_latency.py measures it). A shadow copy is sent the same
way after the caller's answer is ready, in a task the request never awaits; its outcome is only
counted. Every answer, forwarded or not, is counted here per variant and flushed to the store,
where a rollout reads it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from serve.traffic.choice import Choice, choose
from serve.traffic.table import TrafficTable

logger = logging.getLogger("ray.serve")
MIRROR_WINDOW_S = 0.02  # shadow copies wait at most this long to be sent together
MIRROR_BATCH = 32  # ... or until this many wait
# Headers a forwarded request keeps: what the variant's replica reads.
_FORWARDED_HEADERS = (
    "authorization",
    "content-type",
    "content-length",
    "inference-header-content-length",
)


@dataclass(frozen=True)
class Forwarded:
    """How a forwarded request arrives at a variant's replica."""

    variant: str
    capture: bool  # the ingress's sampling decision: both answers of a shadowed request, or none
    shadow: bool = False


class VariantRouter:
    def __init__(
        self,
        deployed: TrafficTable,
        local: str,
        *,
        store_url: str | None,
        replica: str,
        rng: random.Random | None = None,
    ):
        """``deployed``: the table the running deploy carries; ``local``: the variant this
        replica hosts (the endpoint's own replicas: the first)."""
        from serve.traffic.stats import StatsAccumulator

        self.deployed = deployed
        self.table = deployed
        self.local = local
        self.replica = replica
        self._store_url = store_url
        self._store = None
        self._rng = rng or random.Random()
        self._handles: dict[str, Any] = {}
        self._stats = StatsAccumulator()
        self._tasks: set[asyncio.Task] = set()
        self._mirrors: dict[str, list] = {}  # shadow copies waiting to be sent, per variant
        self._mirror_timer: asyncio.TimerHandle | None = None
        self._last_error: str | None = None

    # -- choosing ------------------------------------------------------------------------------
    def choose(self, headers: Mapping[str, str], version: str | None) -> Choice:
        return choose(
            self.table,
            headers,
            draw=self._rng.random(),
            shadow_draw=self._rng.random(),
            version=version,
        )

    def is_local(self, variant: str) -> bool:
        """Whether this replica answers ``variant`` itself (the first, or one sharing it)."""
        return variant == self.local or (
            self.table.target(variant).app == self.table.target(self.local).app
        )

    def observe(self, variant: str, status: int, ms: float) -> None:
        self._stats.observe(variant, status, ms)

    # -- forwarding ----------------------------------------------------------------------------
    async def forward(
        self,
        variant: str,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        request_id: str,
        *,
        root_path: str,
        capture: bool,
    ) -> tuple[int, Any, dict[str, str]]:
        """Answer on ``variant``'s replicas; (status, payload, headers). A variant that cannot
        be reached is a 503 naming it (the caller may retry; a rollout counts it)."""
        kept = {k: v for k, v in headers.items() if k in _FORWARDED_HEADERS}
        how = Forwarded(variant, capture)
        try:
            handle = self._handle(variant)
            return await handle.answer.remote(method, path, kept, body, request_id, root_path, how)
        except Exception as err:  # noqa: BLE001 — a dead variant must not fail the replica
            logger.warning("variant %s did not answer request %s: %s", variant, request_id, err)
            return 503, {"error": f"variant {variant!r} is unavailable; retry"}, {}

    def mirror(
        self,
        variant: str,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        request_id: str,
        *,
        root_path: str,
        capture: bool,
    ) -> None:
        """Queue a copy for the shadow ``variant``; nothing is sent on the request's path.

        Copies go out together every ``MIRROR_WINDOW_S`` (or ``MIRROR_BATCH`` copies), one
        handle call per batch: a call per copy cost this replica ~0.8 ms of CPU each, on the
        cores its callers wait for (bench/serve_latency.py). Nobody waits for a shadow's
        answer, so the window costs nothing; its outcomes are counted as they come back."""
        kept = {k: v for k, v in headers.items() if k in _FORWARDED_HEADERS}
        item = (method, path, kept, body, request_id, root_path, Forwarded(variant, capture, True))
        self._mirrors.setdefault(variant, []).append((item, time.perf_counter()))
        if sum(len(v) for v in self._mirrors.values()) >= MIRROR_BATCH:
            self._send_mirrors()
        elif self._mirror_timer is None:
            loop = asyncio.get_running_loop()
            self._mirror_timer = loop.call_later(MIRROR_WINDOW_S, self._send_mirrors)

    def _send_mirrors(self) -> None:
        if self._mirror_timer is not None:
            self._mirror_timer.cancel()
            self._mirror_timer = None
        batches, self._mirrors = self._mirrors, {}
        for variant, batch in batches.items():
            task = asyncio.get_running_loop().create_task(self._mirror_batch(variant, batch))
            self._tasks.add(task)  # the loop keeps only weak references to tasks
            task.add_done_callback(self._tasks.discard)

    async def _mirror_batch(self, variant: str, batch: list) -> None:
        try:
            statuses = await self._handle(variant).answer_many.remote([item for item, _ in batch])
        except Exception as err:  # noqa: BLE001 — a dead shadow never fails the replica
            logger.warning("shadow %s did not answer %d copies: %s", variant, len(batch), err)
            statuses = [503] * len(batch)
        done = time.perf_counter()
        for (_, queued), status in zip(batch, statuses, strict=True):
            self.observe(variant, status, (done - queued) * 1000)

    def _handle(self, variant: str):
        target = self.table.target(variant)
        handle = self._handles.get(target.app)
        if handle is None:
            from ray import serve

            handle = serve.get_deployment_handle("endpoint", app_name=target.app)
            self._handles[target.app] = handle
        return handle

    # -- the store -----------------------------------------------------------------------------
    async def run(self) -> None:
        """Refresh the table and flush statistics until cancelled (on the replica's loop)."""
        from serve.traffic.store import REFRESH_S, STATS_FLUSH_S, STATS_PRUNE_S

        last_flush = time.monotonic()
        last_prune = float("-inf")  # once at start, then hourly: reports are kept a week
        while True:
            await asyncio.sleep(REFRESH_S)
            try:
                await asyncio.to_thread(self.refresh)
                if time.monotonic() - last_flush >= STATS_FLUSH_S:
                    last_flush = time.monotonic()
                    await asyncio.to_thread(self.flush)
                if time.monotonic() - last_prune >= STATS_PRUNE_S and self.store() is not None:
                    last_prune = time.monotonic()
                    await asyncio.to_thread(self.store().prune_stats, time.time())
                self._last_error = None
            except Exception as err:  # noqa: BLE001 — a store outage keeps the last table
                if str(err) != self._last_error:
                    logger.warning("traffic store %s: %s", self._store_url, err)
                self._last_error = str(err)

    def refresh(self) -> None:
        """Take the store's table while it belongs to the running deploy."""
        store = self.store()
        if store is None:
            return
        stored = store.get(self.deployed.endpoint)
        if (
            stored is not None
            and stored.table
            and stored.table.deploy_id == self.deployed.deploy_id
        ):
            self.table = stored.table
        else:
            self.table = self.deployed

    def flush(self) -> None:
        stats = self._stats.take()
        store = self.store()
        if stats and store is not None:
            store.add_stats(self.deployed.endpoint, self.replica, time.time(), stats)

    def store(self):
        """The traffic store (opened on first use; None without one)."""
        if self._store is None and self._store_url:
            from serve.traffic.store import TrafficStore

            self._store = TrafficStore(self._store_url)
        return self._store

    def close(self) -> None:
        try:
            self.flush()
        except Exception as err:  # noqa: BLE001 — shutting down: say it, lose only the counts
            logger.warning("could not flush variant statistics: %s", err)


def install_router(
    core: Any,
    settings: Any,
    config: Mapping[str, Any],
    task: asyncio.Task | None,
) -> asyncio.Task | None:
    """Give ``core`` (an ``EndpointCore``) the router ``config["traffic"]`` describes (None:
    no variants) and keep one refresh task on the replica's loop; returns that task.
    ``settings``: the replica's ``ReplicaSettings`` (its ``traffic_store_url``)."""
    import os
    import socket
    import uuid

    from serve.traffic.table import TrafficTable

    if task is not None:
        task.cancel()
    data = config.get("traffic")
    if data is None:
        core.router = None
        return None
    table = TrafficTable.from_json(data)
    replica = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    router = VariantRouter(
        table,
        config.get("variant") or table.local,
        store_url=settings.traffic_store_url,
        replica=replica,
    )
    if core.router is not None:
        # A reconfigure of the same deploy keeps the table the store gave; flush the counts.
        router.table = core.router.table if core.router.deployed == table else table
        core.router.close()
    core.router = router
    return asyncio.get_running_loop().create_task(router.run())
