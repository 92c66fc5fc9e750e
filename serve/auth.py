"""Credentials on the endpoint: ``Authorization: Bearer <key>``, checked against a route's role.

Replicas hold only sha256 digests of the keys (``AuthSpec.key_digests`` for inference keys,
``AuthSpec.admin_key_digests`` for admin credentials), compare in constant time, and never log
or echo a presented key. No inference digests: inference routes are open. No admin digests:
admin routes are off (403 naming the fix), never open. ``authorize`` returns the presented
key's digest, so a caller can then check the key's model scope (``serve.multi_model.scopes``).
"""

from __future__ import annotations

import hashlib
import hmac

from ray_apps.errors import AuthenticationError, PermissionDeniedError
from serve.routes import Role

_ADMIN_OFF = (
    "admin routes are off on this endpoint: no admin credential is configured; set "
    "auth.admin_key_envs: [<VAR>] in the endpoint spec (a variable holding admin keys, not "
    "inference keys), or use the CLI: 'raymaker registry approve|reject <name>:<v>', "
    "'raymaker batch --config <job.yaml>'"
)


def authorize(
    role: Role, header: str | None, key_digests: tuple[str, ...], admin_digests: tuple[str, ...]
) -> str | None:
    """The accepted key's sha256 (None where no key is needed), or raise 401 (no/malformed
    header) or 403 (a key that may not call this role)."""
    if role == "open":
        return None
    if role == "inference":
        if not key_digests:
            return None
        # an admin credential may also read and call what inference keys can
        presented = _presented(header)
        _check(presented, key_digests + admin_digests, "by this endpoint")
        return presented
    if not admin_digests:
        raise PermissionDeniedError(_ADMIN_OFF)
    presented = _presented(header, admin=True)
    if _matches(presented, key_digests):
        raise PermissionDeniedError(
            "this is an inference key; this route (registry decisions, batch jobs) needs an "
            "admin credential (a key from auth.admin_key_envs): send 'Authorization: Bearer "
            "<admin key>'"
        )
    _check(presented, admin_digests, "as an admin credential")
    return presented


def check_bearer(header: str | None, digests: tuple[str, ...]) -> None:
    """Inference-key check alone: pass, 401 or 403. No digests means auth is off."""
    authorize("inference", header, digests, ())


def _presented(header: str | None, *, admin: bool = False) -> str:
    what = "an admin credential" if admin else "an API key"
    if not header:
        raise AuthenticationError(
            f"this route needs {what}: send the header 'Authorization: Bearer <key>'"
        )
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise AuthenticationError(
            "the Authorization header must read 'Bearer <key>' (got another scheme or no key)"
        )
    return hashlib.sha256(key.strip().encode()).hexdigest()


def _matches(presented: str, digests: tuple[str, ...]) -> bool:
    # Compare with every digest, no early exit: the time taken says nothing about which matched.
    hits = [hmac.compare_digest(presented, d) for d in digests]
    return any(hits)


def _check(presented: str, digests: tuple[str, ...], accepted: str) -> None:
    if not _matches(presented, digests):
        raise PermissionDeniedError(f"the key is not accepted {accepted}")
