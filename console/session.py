"""The console's session cookie and its CSRF token, signed with HMAC-SHA256.

A login sets one cookie: ``base64url(JSON) "." base64url(HMAC)`` holding the role, the key's id
(``auth.key_id``), a random CSRF token and the expiry. It is HttpOnly (no script reads it),
SameSite=Strict (no other site's page sends it) and Path=/; Secure when the console sits behind
TLS. The signing secret is random per start (every session ends with the process) unless
RAYMAKER_CONSOLE_SECRET holds one, at least 32 characters (sessions outlive a restart).

Every form carries the session's CSRF token in a hidden field and every POST is checked against
it (``guard.action``). The login form, before any session, gets the same protection from a
short-lived signed login cookie holding its own token (double submit).
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from console.auth import ROLES, Role
from ray_apps.errors import SpecError

COOKIE = "raymaker_console"
LOGIN_COOKIE = "raymaker_console_login"
LOGIN_TTL_S = 900.0
MIN_SECRET = 32


@dataclass(frozen=True)
class Session:
    role: Role
    kid: str  # which key logged in (auth.key_id)
    csrf: str
    expires: float


def new_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(presented: str | None, expected: str) -> bool:
    return bool(presented) and hmac.compare_digest(str(presented).encode(), expected.encode())


def signing_secret(env_name: str, environ: Mapping[str, str] | None = None) -> bytes:
    """The configured secret (``env_name``), or a random one for this process."""
    configured = (os.environ if environ is None else environ).get(env_name, "")
    if not configured:
        return secrets.token_bytes(32)
    if len(configured) < MIN_SECRET:
        raise SpecError(
            f"{env_name} holds {len(configured)} characters; a session secret needs at least "
            f"{MIN_SECRET}: export {env_name}=$(openssl rand -hex 32), or unset it for a "
            "random secret per start"
        )
    return configured.encode()


class Signer:
    """Signs and reads the console's cookies; ``clock`` is passed in for tests."""

    def __init__(self, secret: bytes, max_age_s: float, clock: Callable[[], float] = time.time):
        self._secret, self.max_age_s, self._clock = secret, max_age_s, clock

    def issue(self, role: Role, kid: str) -> tuple[Session, str]:
        session = Session(role, kid, new_token(), self._clock() + self.max_age_s)
        payload = {"r": role, "k": kid, "c": session.csrf, "e": session.expires}
        return session, self._sign(payload)

    def read(self, value: str | None) -> Session | None:
        """The session a cookie holds; None when absent, forged, malformed or expired."""
        data = self._unsign(value)
        try:
            session = Session(data["r"], str(data["k"]), str(data["c"]), float(data["e"]))
        except (TypeError, KeyError, ValueError):
            return None
        if session.role not in ROLES or session.expires <= self._clock():
            return None
        return session

    def login_token(self) -> tuple[str, str]:
        """A login form's CSRF token and the cookie that vouches for it."""
        token = new_token()
        return token, self._sign({"login": token, "e": self._clock() + LOGIN_TTL_S})

    def login_token_of(self, value: str | None) -> str | None:
        data = self._unsign(value)
        if not data or not isinstance(data.get("login"), str):
            return None
        return data["login"] if float(data.get("e", 0)) > self._clock() else None

    def _sign(self, payload: dict[str, Any]) -> str:
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{_b64(self._mac(body))}"

    def _unsign(self, value: str | None) -> dict[str, Any] | None:
        body, dot, mac = (value or "").partition(".")
        if not dot or not hmac.compare_digest(mac.encode(), _b64(self._mac(body)).encode()):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def _mac(self, body: str) -> bytes:
        return hmac.new(self._secret, body.encode(), sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
