"""Alert delivery against a real local HTTP server: retried after a 500, never after a 404,
the token in the URL never logged; the Prometheus textfile."""

import logging
from datetime import UTC, datetime

import pytest
from _monitor_data import artifact_and_window, shifted, write
from _sockets import free_port
from _webhook import TOKEN, Hook

from ray_apps.monitoring import run_monitor
from ray_apps.monitoring.alerts import ExitCode
from ray_apps.monitoring.delivery import host_of, post_webhook
from ray_apps.monitoring.spec import WebhookSpec


@pytest.fixture()
def hook_500_then_200():
    hook = Hook([500])
    yield hook
    hook.close()


def test_a_500_is_retried_with_backoff(hook_500_then_200):
    waits = []
    spec = WebhookSpec(url=hook_500_then_200.url, attempts=3, backoff_s=0.25)
    done = post_webhook(hook_500_then_200.url, {"a": 1}, spec, sleep=waits.append)
    assert (done.delivered, done.attempts, done.last_status) == (True, 2, 200)
    assert waits == [0.25]
    assert [body for _, body in hook_500_then_200.received] == [{"a": 1}, {"a": 1}]


def test_a_404_is_not_retried_and_a_dead_host_is_tried_attempts_times():
    hook = Hook([404])
    try:
        spec = WebhookSpec(url=hook.url, attempts=3, backoff_s=0)
        done = post_webhook(hook.url, {}, spec)
        assert (done.delivered, done.attempts, done.last_status) == (False, 1, 404)
    finally:
        hook.close()
    dead = f"http://127.0.0.1:{free_port()}/x"
    waits = []
    done = post_webhook(
        dead, {}, WebhookSpec(url=dead, attempts=3, backoff_s=1), sleep=waits.append
    )
    assert (done.delivered, done.attempts, done.last_status) == (False, 3, None)
    assert waits == [1, 2]  # exponential, and bounded by attempts


def test_host_of_keeps_no_path_query_or_credentials():
    assert host_of("https://user:pw@hooks.example.com:8443/t/abc?key=1") == (
        "https://hooks.example.com:8443"
    )


def test_a_violation_posts_the_alert_and_logs_only_the_host(
    tmp_path, hook_500_then_200, monkeypatch, caplog
):
    art, held_out, std = artifact_and_window(tmp_path)
    monkeypatch.setenv("TEST_HOOK_URL", hook_500_then_200.url)
    spec = {
        "model": "cancer:1",
        "artifact": str(art),
        "current": {"dataset": write(shifted(held_out, std, 1.0), tmp_path / "d.parquet")},
        "alerts": {"webhook": {"url_env": "TEST_HOOK_URL", "backoff_s": 0}},
        "output": str(tmp_path / "out"),
        "html": False,
    }
    with caplog.at_level(logging.INFO, logger="raymaker.monitor"):
        result = run_monitor(spec, now=datetime(2026, 11, 24, 12, tzinfo=UTC))
    assert result.exit_code == ExitCode.VIOLATION and result.delivery.attempts == 2
    (path, body), _ = hook_500_then_200.received
    assert path == f"/hooks/{TOKEN}" and body["status"] == "violation"
    assert {v["column"] for v in body["violations"]} >= {"mean_radius", "worst_smoothness"}
    assert body["model"] == "cancer" and body["report"] == result.report_dir
    assert "webhook http://127.0.0.1" in caplog.text and TOKEN not in caplog.text
    stored = (tmp_path / "out").rglob("summary.json")
    assert all(TOKEN not in f.read_text() for f in stored)

    hook_500_then_200.close()  # now nobody answers: the violation stands, undelivered
    spec["alerts"]["webhook"]["attempts"] = 2
    result = run_monitor(spec, now=datetime(2026, 11, 24, 12, tzinfo=UTC))
    assert result.exit_code == ExitCode.VIOLATION_UNDELIVERED == 5
