"""Who may use the console: admin credentials and read-only viewer keys, by role.

The admin keys are the endpoints' admin credentials: the same variable (RAYMAKER_ADMIN_KEYS by
default, comma-separated keys), read and digested by the same code (``serve.config.AuthSpec``:
sha256 of each stripped key). Viewer keys (RAYMAKER_VIEWER_KEYS) may read every page and change
nothing. Only digests are kept; a presented key is compared with every digest in constant time,
so the time taken says neither whether nor which one matched. No admin key: the console does not
start (admin pages are never open).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ray_apps.errors import SpecError
from serve.config import AuthSpec

Role = Literal["viewer", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "admin")  # each may do what the ones before it may


@dataclass(frozen=True)
class Credentials:
    admin: tuple[str, ...]  # sha256 hex digests
    viewer: tuple[str, ...] = ()

    @classmethod
    def from_env(
        cls, admin_env: str, viewer_env: str, environ: Mapping[str, str] | None = None
    ) -> Credentials:
        env = os.environ if environ is None else environ
        if not env.get(admin_env, "").strip():
            raise SpecError(
                f"no admin credential: {admin_env} is empty or unset; export "
                f"{admin_env}=<key>[,<key>…] (e.g. $(openssl rand -hex 24)) or name another "
                "variable with --admin-key-env; the console never runs open"
            )
        admin = AuthSpec(admin_key_envs=[admin_env]).admin_key_digests(env)
        viewer = (
            AuthSpec(api_key_envs=[viewer_env]).key_digests(env)
            if env.get(viewer_env, "").strip()
            else []
        )
        if set(admin) & set(viewer):
            raise SpecError(
                f"a key in {viewer_env} is also in {admin_env}; a viewer key must differ from "
                f"every admin key: generate a new one for {viewer_env}"
            )
        return cls(tuple(admin), tuple(viewer))

    def role_of(self, key: str) -> tuple[Role, str] | None:
        """The role of ``key`` and its key id (for the session), or None if not accepted."""
        presented = digest(key)
        hits = {role: _matches(presented, self._digests(role)) for role in ROLES}
        for role in reversed(ROLES):
            if hits[role]:
                return role, key_id(presented)
        return None

    def still_valid(self, role: Role, kid: str) -> bool:
        """Whether a session's key is still one of ``role``'s (keys change with a restart)."""
        return any(hmac.compare_digest(key_id(d), kid) for d in self._digests(role))

    def _digests(self, role: Role) -> tuple[str, ...]:
        return self.admin if role == "admin" else self.viewer


def allows(role: Role, needed: Role) -> bool:
    return ROLES.index(role) >= ROLES.index(needed)


def digest(key: str) -> str:
    return hashlib.sha256(key.strip().encode()).hexdigest()


def key_id(key_digest: str) -> str:
    """A short id of a key for the session cookie: not its digest, which the cookie would show."""
    return hashlib.sha256(f"raymaker-console-session:{key_digest}".encode()).hexdigest()[:16]


def _matches(presented: str, digests: tuple[str, ...]) -> bool:
    hits = [hmac.compare_digest(presented, d) for d in digests]  # no early exit
    return any(hits)
