"""The console binds to loopback unless a host is asked for explicitly (with a warning), and
``raymaker console`` passes that intent on; its public names are pinned."""

from __future__ import annotations

import pytest

import console
from console import ConsoleSettings, remote_warning
from ray_apps.cli import main
from ray_apps.errors import SpecError


def test_public_names():
    assert sorted(console.__all__) == [
        "ConsoleSettings",
        "create_app",
        "remote_warning",
        "serve_console",
    ]


def test_the_default_is_loopback_on_8765():
    settings = ConsoleSettings()
    assert (settings.host, settings.port, settings.allow_remote) == ("127.0.0.1", 8765, False)
    assert remote_warning(settings) is None
    for host in ("localhost", "::1", "127.0.0.2"):
        assert remote_warning(ConsoleSettings(host=host)) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "console.example.com", "::"])
def test_another_host_is_refused_unless_asked_for_and_then_warned_about(host):
    with pytest.raises(SpecError, match=rf"not a loopback address.*--host {host}"):
        ConsoleSettings(host=host)
    warning = remote_warning(ConsoleSettings(host=host, allow_remote=True))
    assert "plain HTTP" in warning and "TLS" in warning


def test_bad_settings_name_the_fix():
    with pytest.raises(SpecError, match="Prometheus text endpoint"):
        ConsoleSettings(metrics_urls=("127.0.0.1:8080/metrics",))
    for port in (0, 70000):
        with pytest.raises(SpecError, match="out of range"):
            ConsoleSettings(port=port)


@pytest.fixture()
def started(monkeypatch):
    """What ``raymaker console`` would serve, instead of serving it."""
    seen = []
    monkeypatch.setattr(console, "serve_console", lambda settings, say: seen.append(settings))
    return seen


def test_the_cli_binds_loopback_by_default_and_another_host_only_when_given(started):
    main(["console", "--port", "9000", "--metrics-url", "http://127.0.0.1:8080/metrics"])
    main(["console", "--host", "0.0.0.0", "--traffic-store-url", "postgresql://db/traffic"])
    default, remote = started
    assert (default.host, default.port, default.allow_remote) == ("127.0.0.1", 9000, False)
    assert default.metrics_urls == ("http://127.0.0.1:8080/metrics",)
    assert default.traffic_store_url is None  # RAYMAKER_HOME's traffic.db
    assert (remote.host, remote.allow_remote) == ("0.0.0.0", True)
    assert remote.traffic_store_url == "postgresql://db/traffic"


def test_the_cli_refuses_to_start_without_an_admin_key(monkeypatch, capsys):
    monkeypatch.delenv("RAYMAKER_ADMIN_KEYS", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(["console", "--port", "8766"])
    assert exited.value.code == 2
    assert "no admin credential: RAYMAKER_ADMIN_KEYS is empty or unset" in capsys.readouterr().err
