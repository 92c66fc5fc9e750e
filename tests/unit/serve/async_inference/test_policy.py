"""The pure decisions of async inference, tested with numbers."""

import pytest

from serve.async_inference import policy


def test_lease_expiry_is_at_or_after_lease_until():
    assert not policy.lease_expired(None, 100.0)  # no lease: queued, not held
    assert not policy.lease_expired(100.5, 100.0)
    assert policy.lease_expired(100.0, 100.0) and policy.lease_expired(99.0, 100.0)


def test_backoff_doubles_from_base_and_is_capped():
    assert [policy.backoff_s(a, 1.0, 10.0) for a in range(0, 7)] == [0, 1, 2, 4, 8, 10, 10]
    assert policy.backoff_s(10_000, 0.5, 60.0) == 60.0  # no overflow on huge attempt numbers


def test_ttl_counts_from_when_the_request_finished():
    assert not policy.ttl_expired(None, 10, 1e9)  # still running: never expires
    assert not policy.ttl_expired(100.0, 10, 109.9)
    assert policy.ttl_expired(100.0, 10, 110.0)


def test_queued_ttl_counts_from_the_submit():
    assert not policy.queued_expired(100.0, 10, 109.9)
    assert policy.queued_expired(100.0, 10, 110.0) and policy.queued_expired(100.0, 10, 1e9)
    assert "expired" in policy.TERMINAL and "expired" in policy.STATUSES


def test_queue_full_at_the_limit():
    assert not policy.queue_full(1, 2) and policy.queue_full(2, 2) and policy.queue_full(3, 2)


@pytest.mark.parametrize(
    ("status", "attempts", "retry"),
    [(500, 1, True), (503, 2, True), (500, 3, False), (400, 1, False), (409, 1, False)],
)
def test_only_server_errors_are_retried_while_attempts_remain(status, attempts, retry):
    assert policy.retry_request(status, attempts, max_attempts=3) is retry


@pytest.mark.parametrize(
    ("status", "attempts", "retry"),
    [(None, 1, True), (500, 1, True), (429, 2, True), (408, 1, True), (500, 5, False),
     (404, 1, False), (401, 1, False)],
)  # fmt: skip
def test_callbacks_retry_transient_failures_only(status, attempts, retry):
    assert policy.retry_callback(status, attempts, max_attempts=5) is retry


def test_wake_calls_fill_the_consumers_capacity_up_to_the_backlog():
    assert policy.wake_calls(backlog=0, in_flight=0, max_in_flight=4) == 0
    assert policy.wake_calls(backlog=1, in_flight=0, max_in_flight=4) == 1
    assert policy.wake_calls(backlog=10, in_flight=1, max_in_flight=4) == 3
    assert policy.wake_calls(backlog=10, in_flight=4, max_in_flight=4) == 0
    assert policy.wake_calls(backlog=2, in_flight=3, max_in_flight=4) == 0


def test_a_lease_survives_two_missed_heartbeats():
    every = policy.heartbeat_every_s(30.0)
    assert every == 10.0 and 2 * every < 30.0 <= 3 * every


@pytest.mark.parametrize(
    "host, allowed, ok",
    [
        ("anything.example", [], True),
        ("hooks.example.com", ["hooks.example.com"], True),
        ("HOOKS.example.com.", ["hooks.example.com"], True),
        ("evil.hooks.example.com", ["hooks.example.com"], False),
        ("a.b.corp.example", ["*.corp.example"], True),
        ("corp.example", ["*.corp.example"], False),
        ("xcorp.example", ["*.corp.example"], False),
        ("127.0.0.1", ["hooks.example.com"], False),
        ("127.0.0.1", ["127.0.0.1"], True),
    ],
)
def test_callback_hosts_exact_or_subdomain_pattern(host, allowed, ok):
    assert policy.callback_host_allowed(host, allowed) is ok
