"""The decisions of asynchronous inference as plain functions: numbers in, a decision out.

The clock is always passed in (unix seconds), so each rule is tested with numbers and the
store, the consumer and the sweep only carry them out.
"""

from __future__ import annotations

STATUSES = ("queued", "running", "succeeded", "failed", "expired")
TERMINAL = frozenset({"succeeded", "failed", "expired"})


def lease_expired(lease_until: float | None, now: float) -> bool:
    """A running request whose holder has not renewed its lease by ``now`` may be re-delivered."""
    return lease_until is not None and lease_until <= now


def backoff_s(attempt: int, base_s: float, max_s: float) -> float:
    """Wait before retry number ``attempt`` (1 = the first retry): base, 2·base, 4·base, …,
    never above ``max_s``; no wait before the first try."""
    if attempt < 1:
        return 0.0
    return min(max_s, base_s * 2.0 ** min(attempt - 1, 60))


def ttl_expired(finished_at: float | None, ttl_s: float, now: float) -> bool:
    """A finished request (and its files) is deleted ``ttl_s`` after it finished."""
    return finished_at is not None and finished_at + ttl_s <= now


def queued_expired(submitted_at: float, queued_ttl_s: float, now: float) -> bool:
    """A request still queued ``queued_ttl_s`` after it was submitted expires unanswered: its
    caller has long stopped waiting, and the queue should not fill with stale work."""
    return submitted_at + queued_ttl_s <= now


def queue_full(active: int, max_queued: int) -> bool:
    """Queued plus running requests at the limit: a new one is refused (429)."""
    return active >= max_queued


def retry_request(status: int, attempts: int, max_attempts: int) -> bool:
    """Whether a request answered ``status`` by the model path goes back to the queue.

    A 4xx is the request's own fault and would fail again: never retried. A 5xx (the replica
    broke, not the request) is retried until the request has been tried ``max_attempts`` times.
    """
    return status >= 500 and attempts < max_attempts


def retry_callback(status: int | None, attempts: int, max_attempts: int) -> bool:
    """Whether a failed callback is tried again: no answer (``None``), 408, 429 and 5xx are
    worth retrying; another 4xx says the receiver refuses it. Bounded by ``max_attempts``."""
    transient = status is None or status in (408, 429) or status >= 500
    return transient and attempts < max_attempts


def callback_host_allowed(host: str, allowed: tuple[str, ...] | list[str]) -> bool:
    """Whether a callback may go to ``host``: any host when ``allowed`` is empty; otherwise an
    exact name (``hooks.example.com``) or a subdomain pattern (``*.example.com``), without
    regard to case. IP literals match only when listed exactly."""
    if not allowed:
        return True
    host = host.lower().rstrip(".")
    for pattern in (p.lower().rstrip(".") for p in allowed):
        if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
            return True
    return False


def callback_ok(status: int) -> bool:
    return 200 <= status < 300


def wake_calls(backlog: int, in_flight: int, max_in_flight: int) -> int:
    """Consumer calls to start now: one per waiting request, up to the consumers' capacity.

    Each call works until the queue is empty, so calls in flight already cover that much of the
    backlog; the autoscaler adds replicas as calls wait (one per ``concurrency`` calls).
    """
    return max(0, min(backlog, max_in_flight) - in_flight)


def heartbeat_every_s(lease_s: float) -> float:
    """Renew a lease three times per lease: two missed beats (a GC pause, a slow store) are
    survived, the third loses it."""
    return lease_s / 3.0
