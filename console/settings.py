"""How the console runs: where it listens, whose keys it accepts, where it reads from.

    ConsoleSettings()                                   # 127.0.0.1:8765, RAYMAKER_ADMIN_KEYS
    ConsoleSettings(host="0.0.0.0", allow_remote=True)  # what `--host 0.0.0.0` asks for

The console listens on the loopback interface unless asked otherwise on purpose: it speaks plain
HTTP, so a key typed into its login form and the session cookie cross the network unencrypted
on any other interface. A non-loopback host without ``allow_remote`` is refused; with it,
``remote_warning`` says what that exposes (the CLI prints it).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ray_apps.errors import SpecError

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8765
ADMIN_KEY_ENV = "RAYMAKER_ADMIN_KEYS"  # the variable endpoint specs name in auth.admin_key_envs
VIEWER_KEY_ENV = "RAYMAKER_VIEWER_KEYS"
SECRET_ENV = "RAYMAKER_CONSOLE_SECRET"


@dataclass(frozen=True)
class ConsoleSettings:
    """``storage``, ``tracking_uri``, ``monitor_root``, ``evaluation_root`` and
    ``traffic_store_url``: None reads the embedded defaults (RAYMAKER_STORAGE,
    MLFLOW_TRACKING_URI, $RAYMAKER_HOME/monitor, $RAYMAKER_HOME/evaluation and the traffic
    store $RAYMAKER_HOME/traffic.db that endpoints with variants and rollouts use).
    ``metrics_urls``: Prometheus text endpoints to scrape for the endpoints page (a Ray
    node's ``http://<node>:<metrics-export-port>/metrics``)."""

    host: str = LOOPBACK
    port: int = DEFAULT_PORT
    allow_remote: bool = False
    admin_key_env: str = ADMIN_KEY_ENV
    viewer_key_env: str = VIEWER_KEY_ENV
    secret_env: str = SECRET_ENV
    metrics_urls: tuple[str, ...] = ()
    storage: str | None = None
    tracking_uri: str | None = None
    monitor_root: str | None = None
    evaluation_root: str | None = None
    traffic_store_url: str | None = None  # an endpoint spec's traffic_store_url, when it sets one
    secure_cookie: bool = False  # behind a TLS proxy: the cookie is sent over HTTPS only
    session_hours: float = 12.0
    scrape_timeout_s: float = 3.0

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise SpecError(f"port {self.port} is out of range; use 1-65535")
        if not is_loopback(self.host) and not self.allow_remote:
            raise SpecError(
                f"host {self.host!r} is not a loopback address; the console binds to "
                f"{LOOPBACK} unless you ask for another host explicitly (raymaker console "
                f"--host {self.host}, or ConsoleSettings(host=..., allow_remote=True))"
            )
        for url in self.metrics_urls:
            if not url.startswith(("http://", "https://")):
                raise SpecError(
                    f"metrics URL {url!r} is not http(s); pass a Prometheus text endpoint such "
                    "as http://127.0.0.1:8080/metrics (a Ray node's metrics export port)"
                )
        if self.session_hours <= 0:
            raise SpecError(f"session_hours {self.session_hours} must be above 0")


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address; any other name may resolve anywhere."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def remote_warning(settings: ConsoleSettings) -> str | None:
    """What a non-loopback bind exposes, or None on loopback."""
    if is_loopback(settings.host):
        return None
    secure = "" if settings.secure_cookie else " and the session cookie"
    return (
        f"warning: the console listens on {settings.host}:{settings.port}, reachable from "
        f"other machines; it speaks plain HTTP, so keys typed at login{secure} cross the "
        "network unencrypted: put it behind a TLS proxy (and pass --secure-cookie), or bind "
        f"to {LOOPBACK} and tunnel (ssh -L {settings.port}:{LOOPBACK}:{settings.port} <host>)"
    )
