"""API keys on the data plane: ``Authorization: Bearer <key>``.

Replicas hold only sha256 digests of the keys (``AuthSpec.key_digests``), compare in constant
time, and never log a presented key. No digests configured means auth is off.
"""

from __future__ import annotations

import hashlib
import hmac

from ray_apps.errors import AuthenticationError, PermissionDeniedError


def check_bearer(header: str | None, digests: tuple[str, ...]) -> None:
    """Pass, or raise 401 (no/malformed header) or 403 (a key that is not accepted)."""
    if not digests:
        return
    if not header:
        raise AuthenticationError(
            "this endpoint needs an API key: send the header 'Authorization: Bearer <key>'"
        )
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise AuthenticationError(
            "the Authorization header must read 'Bearer <key>' (got another scheme or no key)"
        )
    presented = hashlib.sha256(key.strip().encode()).hexdigest()
    if not any(hmac.compare_digest(presented, d) for d in digests):
        raise PermissionDeniedError("the API key is not accepted by this endpoint")
