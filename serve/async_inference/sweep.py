"""The periodic sweep of an always-up ingress replica: expire, give up, wake consumers, call back.

Every ``sweep_interval_s``:

1. mark requests still queued ``queued_ttl_s`` after submit as expired, never to be answered
   (``AsyncStore.expire_queued``; ``claim`` skips them meanwhile);
2. delete finished requests past ``ttl_s`` with their files (``AsyncStore.expire``);
3. fail requests whose lease expired on their last allowed attempt (``give_up``);
4. count what a consumer could claim (queued and due, or an expired lease: a consumer died)
   and start consumer calls for it (``policy.wake_calls``): a call on a deployment scaled to
   zero makes Serve start a replica, so backlog wakes the consumers and a dead consumer's
   request is re-delivered;
5. POST due completion callbacks (a few at once), recording each attempt in the store, so a
   restarted replica goes on retrying.

``wake`` is the one Ray call (``consumer.drain.remote()``, awaited in a task); everything else
is the store and pure decisions, so the sweep runs in tests without Ray.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from serve.async_inference import callbacks, policy
from serve.async_inference._table import Record
from serve.async_inference.store import AsyncStore

logger = logging.getLogger("raymaker.serve")
_CALLBACKS_AT_ONCE = 4


class Sweeper:
    def __init__(
        self,
        store: AsyncStore,
        wake: Callable[[], Awaitable[Any]],
        owner: str,
        *,
        secret: bytes | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.settings = store.settings
        self.owner = owner
        self._wake = wake
        self._secret = secret
        self._clock = clock
        self._wakes: set[asyncio.Task] = set()
        self._sends: set[asyncio.Task] = set()
        self._client: httpx.AsyncClient | None = None
        self._last_error: str | None = None
        c = self.settings.consumers
        self.max_in_flight = c.max_replicas * c.concurrency

    def nudge(self) -> None:
        """A request was just queued: start a consumer call now if there is room."""
        if policy.wake_calls(1, len(self._wakes), self.max_in_flight):
            self._spawn(self._wakes, self._call_consumer())

    async def tick(self) -> int:
        """One sweep; returns the consumer calls started."""
        now = self._clock()
        backlog = await asyncio.to_thread(self._maintain, now)
        calls = policy.wake_calls(backlog, len(self._wakes), self.max_in_flight)
        for _ in range(calls):
            self._spawn(self._wakes, self._call_consumer())
        if self._secret is not None:
            await self._callbacks(now)
        return calls

    async def run(self) -> None:
        """Sweep until cancelled; an error is logged once per distinct message, never fatal."""
        while True:
            try:
                await self.tick()
                self._last_error = None
            except RuntimeError as err:
                if "after shutdown" in str(err):  # the replica is stopping: its threads are gone
                    return
                self._warn(err)
            except Exception as err:
                self._warn(err)
            await asyncio.sleep(self.settings.sweep_interval_s)

    def _warn(self, err: Exception) -> None:
        if str(err) != self._last_error:
            logger.warning("async sweep failed (retrying every sweep): %s", err)
        self._last_error = str(err)

    async def idle(self) -> None:
        """Wait for the consumer calls and callbacks started so far (tests, shutdown)."""
        await asyncio.gather(*self._wakes, *self._sends, return_exceptions=True)

    def _maintain(self, now: float) -> int:
        stale = self.store.expire_queued(now)
        if stale:  # consumers are not keeping up, or cannot start
            logger.warning(
                "async: %d requests expired unanswered, queued longer than "
                "async_inference.queued_ttl_s (%g s)",
                len(stale),
                self.settings.queued_ttl_s,
            )
        expired = self.store.expire(now)
        if expired:
            logger.info("async: deleted %d requests past their TTL", len(expired))
        self.store.give_up(now)
        return self.store.backlog(now)

    async def _call_consumer(self) -> None:
        try:
            await self._wake()
        except Exception as err:  # a consumer died mid-call: its lease will expire; re-woken
            logger.info("async consumer call ended with %s: %s", type(err).__name__, err)

    async def _callbacks(self, now: float) -> None:
        lease = self.settings.callback_timeout_s + self.settings.sweep_interval_s + 5
        while len(self._sends) < _CALLBACKS_AT_ONCE:
            job = await asyncio.to_thread(self.store.claim_callback, self.owner, lease, now)
            if job is None:
                return
            self._spawn(self._sends, self._send(job))

    async def _send(self, job: Record) -> None:
        assert self._secret is not None  # only started with a key
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False)
        status, error = await callbacks.post(
            self._client, job, self._secret, self._clock(), self.settings.callback_timeout_s
        )
        state = await asyncio.to_thread(self.store.callback_sent, job, self._clock(), status, error)
        if state != "delivered":
            log = logger.warning if state == "failed" else logger.info
            log(
                "async request %s: callback attempt %d got %s (%s)",
                job.id,
                job.callback_attempts,
                error,
                "giving up" if state == "failed" else "will retry",
            )

    @staticmethod
    def _spawn(tasks: set[asyncio.Task], coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)
