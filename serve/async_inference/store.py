"""The durable queue of async requests: rows in a SQL database, payloads and results in files.

    store = AsyncStore(settings, endpoint="cancer")      # settings: a resolved AsyncInferenceSpec
    store.submit(NewRequest(...), body, now)             # QueueFullError at max_queued
    job = store.claim(owner, lease_s, now)               # oldest queued, or an expired lease
    store.heartbeat(job, lease_s, now)                   # False: the lease was lost
    store.complete(job, result_file, 200, version, now)  # False: fenced out, answer discarded
    store.expire_queued(now)                             # queued past queued_ttl_s: expired
    store.expire(now)                                    # rows and files past ttl_s

Every state change is one SQL statement guarded by the state it expects, so several processes
(ingress replicas, consumers) share the queue safely. ``claim`` is a single ``UPDATE … WHERE
id = (SELECT … LIMIT 1) RETURNING`` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite, which
has one writer, runs every transaction as ``BEGIN IMMEDIATE`` in WAL mode with a busy
timeout). A claim bumps ``attempts``, which with the owner is the fencing token: ``heartbeat``,
``complete`` and ``fail`` only act while the row is running under the same owner and attempt,
so a consumer presumed dead that wakes up later cannot answer a request twice. A lease that
expired but was not yet re-claimed still counts as held: its finished work is kept.

SQLite (a file under the raymaker home) is the embedded default; a ``postgresql://`` URL
serves a cluster with the same code. On PostgreSQL ``max_queued`` is checked and the row
inserted in one READ COMMITTED transaction, so concurrent submits may pass it by a few.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ray_apps.errors import NotFoundError, QueueFullError
from serve.async_inference import policy
from serve.async_inference._engine import store_engine
from serve.async_inference._table import Record, requests
from serve.async_inference.files import PAYLOAD, RequestFiles
from serve.config import AsyncInferenceSpec

_ACTIVE = ("queued", "running")
t = requests


@dataclass(frozen=True)
class NewRequest:
    """What the ingress accepted: the request, resolved and validated."""

    id: str
    model: str
    version: str
    route: str  # the real-time route that answers it: v1_predict | v2_infer
    path: str  # the real-time path
    header_length: int | None = None
    base: str = ""  # the route prefix the request came through ("" at /)
    callback_url: str | None = None


class AsyncStore:
    def __init__(self, settings: AsyncInferenceSpec, endpoint: str):
        if settings.store_url is None or settings.storage_path is None:
            raise ValueError("AsyncStore needs resolved settings (ReplicaSettings.from_spec)")
        self.settings = settings
        self.endpoint = endpoint
        self.files = RequestFiles(settings.storage_path)
        self.engine = store_engine(settings.store_url)

    # -- the request's life -------------------------------------------------------------
    def submit(self, new: NewRequest, body: bytes, now: float) -> Record:
        """Write the payload, then queue the row; refused (429) at ``max_queued`` active."""
        self.files.write_payload(new.id, body)
        try:
            with self.engine.begin() as c:
                active = c.execute(
                    sa.select(sa.func.count())
                    .select_from(t)
                    .where(t.c.endpoint == self.endpoint, t.c.status.in_(_ACTIVE))
                ).scalar_one()
                if policy.queue_full(active, self.settings.max_queued):
                    raise QueueFullError(
                        f"the async queue of this endpoint holds {active} requests, its limit "
                        f"(async_inference.max_queued {self.settings.max_queued}); retry after "
                        f"{self.settings.retry_after_s} s or raise max_queued",
                        retry_after_s=self.settings.retry_after_s,
                    )
                row = c.execute(
                    sa.insert(t)
                    .values(
                        **vars(new),
                        endpoint=self.endpoint,
                        status="queued",
                        attempts=0,
                        not_before=now,
                        submitted_at=now,
                        updated_at=now,
                        callback_attempts=0,
                    )
                    .returning(*t.c)
                ).one()
        except BaseException:
            self.files.remove(new.id)
            raise
        return Record.from_row(row)

    def get(self, request_id: str) -> Record | None:
        with self.engine.begin() as c:
            row = c.execute(sa.select(t).where(self._mine(), t.c.id == request_id)).first()
        return None if row is None else Record.from_row(row)

    def claim(self, owner: str, lease_s: float, now: float) -> Record | None:
        """Take the oldest queued request (past its retry wait, not past ``queued_ttl_s``), or a
        running one whose lease expired (re-delivery, if attempts are left); None when there is
        none."""
        claimable = sa.and_(
            self._mine(),
            sa.or_(
                self._waiting(now),
                sa.and_(
                    t.c.status == "running",
                    t.c.lease_until <= now,
                    t.c.attempts < self.settings.max_attempts,
                ),
            ),
        )
        pick = (
            sa.select(t.c.id)
            .where(claimable)
            .order_by(t.c.submitted_at)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        stmt = (
            sa.update(t)
            .where(t.c.id == pick, claimable)
            .values(
                status="running",
                owner=owner,
                lease_until=now + lease_s,
                attempts=t.c.attempts + 1,
                updated_at=now,
            )
            .returning(*t.c)
        )
        with self.engine.begin() as c:
            row = c.execute(stmt).first()
        return None if row is None else Record.from_row(row)

    def heartbeat(self, job: Record, lease_s: float, now: float) -> bool:
        """Extend the lease; False when ``job`` no longer holds it (stop working on it)."""
        return self._fenced(job, lease_until=now + lease_s)

    def complete(
        self, job: Record, result_file: str, result_status: int, version: str, now: float
    ) -> bool:
        """Record the answer (a file ``job``'s attempt wrote); False if fenced out."""
        return self._fenced(
            job,
            **self._finished("succeeded", now),
            result_file=result_file,
            result_status=result_status,
            version=version,
            error=None,
        )

    def fail(
        self,
        job: Record,
        reason: str,
        now: float,
        *,
        retry: bool = False,
        result_file: str | None = None,
        result_status: int | None = None,
    ) -> bool:
        """Queue ``job`` again after a backoff (``retry``), or mark it failed; False if fenced."""
        if retry:
            wait = policy.backoff_s(
                job.attempts, self.settings.retry_base_s, self.settings.retry_max_s
            )
            return self._fenced(
                job,
                status="queued",
                owner=None,
                lease_until=None,
                not_before=now + wait,
                updated_at=now,
                error=reason,
            )
        return self._fenced(
            job,
            **self._finished("failed", now),
            error=reason,
            result_file=result_file,
            result_status=result_status,
        )

    def give_up(self, now: float) -> int:
        """Fail running requests whose lease expired on their last allowed attempt."""
        stmt = (
            sa.update(t)
            .where(
                self._mine(),
                t.c.status == "running",
                t.c.lease_until <= now,
                t.c.attempts >= self.settings.max_attempts,
            )
            .values(
                **self._finished("failed", now),
                error=sa.func.coalesce(t.c.error + "; ", "")
                + "the consumer holding it stopped renewing its lease, on each of its "
                + sa.cast(t.c.attempts, sa.String)
                + " attempts (async_inference.max_attempts)",
            )
        )
        with self.engine.begin() as c:
            return c.execute(stmt).rowcount

    def expire_queued(self, now: float) -> list[str]:
        """Mark requests still queued ``queued_ttl_s`` after submit as expired, with the reason:
        never answered (``claim`` skips them even before), their callback owed, their payload
        deleted at once; ``expire`` deletes the rest ``ttl_s`` later. Returns their ids."""
        ttl_s = self.settings.queued_ttl_s
        stmt = (
            sa.update(t)
            .where(self._mine(), t.c.status == "queued", t.c.submitted_at <= now - ttl_s)
            .values(
                **self._finished("expired", now),
                error=sa.func.coalesce(t.c.error + "; ", "") + _waited_too_long(ttl_s),
            )
            .returning(t.c.id)
        )
        with self.engine.begin() as c:
            ids = list(c.execute(stmt).scalars())
        for request_id in ids:
            self.files.remove(request_id, PAYLOAD)
        return ids

    def expire(self, now: float) -> list[str]:
        """Delete finished requests older than ``ttl_s``, rows first, then their files."""
        stmt = (
            sa.delete(t)
            .where(
                self._mine(),
                t.c.status.in_(policy.TERMINAL),
                t.c.finished_at <= now - self.settings.ttl_s,
            )
            .returning(t.c.id)
        )
        with self.engine.begin() as c:
            ids = list(c.execute(stmt).scalars())
        for request_id in ids:
            self.files.remove(request_id)
        return ids

    def backlog(self, now: float) -> int:
        """Requests a consumer could claim now: queued and due, or held by an expired lease."""
        stmt = (
            sa.select(sa.func.count())
            .select_from(t)
            .where(
                self._mine(),
                sa.or_(
                    self._waiting(now),
                    sa.and_(t.c.status == "running", t.c.lease_until <= now),
                ),
            )
        )
        with self.engine.begin() as c:
            return c.execute(stmt).scalar_one()

    # -- files --------------------------------------------------------------------------
    def payload(self, job: Record) -> bytes:
        return self.files.read(job.id, "request.body")

    def result(self, job: Record) -> bytes:
        if job.result_file is None:
            raise NotFoundError(f"async request {job.id} has no result ({job.status})")
        return self.files.read(job.id, job.result_file)

    # -- completion callbacks -----------------------------------------------------------
    def claim_callback(self, owner: str, lease_s: float, now: float) -> Record | None:
        """Take one due callback; it is due again after ``lease_s`` unless reported back."""
        due = sa.and_(self._mine(), t.c.callback_state == "pending", t.c.callback_next_at <= now)
        pick = (
            sa.select(t.c.id)
            .where(due)
            .order_by(t.c.callback_next_at)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        stmt = (
            sa.update(t)
            .where(t.c.id == pick, due)
            .values(
                callback_owner=owner,
                callback_attempts=t.c.callback_attempts + 1,
                callback_next_at=now + lease_s,
            )
            .returning(*t.c)
        )
        with self.engine.begin() as c:
            row = c.execute(stmt).first()
        return None if row is None else Record.from_row(row)

    def callback_sent(
        self, job: Record, now: float, status: int | None, error: str | None = None
    ) -> str:
        """Record one delivery attempt; returns the callback's state after it."""
        s = self.settings
        if status is not None and policy.callback_ok(status):
            state, next_at = "delivered", None
        elif policy.retry_callback(status, job.callback_attempts, s.callback_max_attempts):
            state = "pending"
            next_at = now + policy.backoff_s(job.callback_attempts, s.retry_base_s, s.retry_max_s)
        else:
            state, next_at = "failed", None
        stmt = (
            sa.update(t)
            .where(
                self._mine(),
                t.c.id == job.id,
                t.c.callback_state == "pending",
                t.c.callback_owner == job.callback_owner,
                t.c.callback_attempts == job.callback_attempts,
            )
            .values(
                callback_state=state,
                callback_next_at=next_at,
                callback_status=status,
                callback_error=error,
            )
        )
        with self.engine.begin() as c:
            c.execute(stmt)
        return state

    # -- internals ----------------------------------------------------------------------
    def _mine(self):
        return t.c.endpoint == self.endpoint

    def _waiting(self, now: float):
        """Queued, past its retry wait and not past ``queued_ttl_s`` (``policy.queued_expired``)."""
        return sa.and_(
            t.c.status == "queued",
            t.c.not_before <= now,
            t.c.submitted_at > now - self.settings.queued_ttl_s,
        )

    def _finished(self, status: str, now: float) -> dict:
        return {
            "status": status,
            "owner": None,
            "lease_until": None,
            "finished_at": now,
            "updated_at": now,
            # A request that ends owes its callback (if it has one) from now on.
            "callback_state": sa.case((t.c.callback_url.is_not(None), "pending"), else_=None),
            "callback_next_at": sa.case((t.c.callback_url.is_not(None), now), else_=None),
        }

    def _fenced(self, job: Record, **values) -> bool:
        """Apply ``values`` only while ``job``'s claim (owner and attempt) holds the row."""
        stmt = (
            sa.update(t)
            .where(
                self._mine(),
                t.c.id == job.id,
                t.c.status == "running",
                t.c.owner == job.owner,
                t.c.attempts == job.attempts,
            )
            .values(**values)
        )
        with self.engine.begin() as c:
            return c.execute(stmt).rowcount == 1


def _waited_too_long(ttl_s: float) -> str:
    return (
        f"expired: it waited in the queue longer than async_inference.queued_ttl_s ({ttl_s:g} s) "
        "and will not be answered; submit it again, and raise queued_ttl_s in the endpoint "
        "spec to let requests wait longer (or add consumers, async_inference.consumers."
        "max_replicas, so the queue drains sooner)"
    )
