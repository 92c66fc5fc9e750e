"""Signatures of completion callbacks: HMAC-SHA256 over ``<timestamp>.<body>``.

The endpoint sends ``X-Raymaker-Signature: t=<unix seconds>,v1=<hex digest>`` with every
callback, where the digest is ``HMAC-SHA256(secret, f"{t}.".encode() + body)`` and ``body`` the
exact bytes POSTed. A receiver recomputes it over the raw body it got, compares in constant
time, and refuses a timestamp older than a few minutes (a replayed callback):

    from serve.async_inference import verify_signature
    verify_signature(secret, request.headers["X-Raymaker-Signature"], raw_body)  # or raises

The timestamp is signed with the body, so an old callback cannot be replayed with a new one.
The secret is read from the variable named by ``async_inference.callback_secret_env`` and is
never logged. The scheme is the alerts' webhooks' (``ray_apps.webhook`` signs and checks the
digest); this module adds what a callback receiver needs: a reason for each refusal, and the
timestamp's age.
"""

from __future__ import annotations

import time

from ray_apps.webhook import SIGNATURE_HEADER as HEADER
from ray_apps.webhook import sign
from ray_apps.webhook import verify_signature as _signs

__all__ = ["HEADER", "TOLERANCE_S", "SignatureError", "sign", "verify_signature"]

TOLERANCE_S = 300.0


class SignatureError(ValueError):
    """A callback's signature is missing, malformed, stale or does not match."""


def verify_signature(
    secret: bytes | str,
    header: str | None,
    body: bytes,
    *,
    now: float | None = None,
    tolerance_s: float = TOLERANCE_S,
) -> int:
    """Check a callback; returns its timestamp or raises ``SignatureError`` saying why."""
    if isinstance(secret, str):
        secret = secret.encode()
    if not header:
        raise SignatureError(f"no {HEADER} header")
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    stamp, given = parts.get("t", ""), parts.get("v1", "")
    if not stamp.isdigit() or not given:
        raise SignatureError(f"{HEADER} must read 't=<unix seconds>,v1=<hex>', got {header!r}")
    timestamp = int(stamp)
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_s:
        raise SignatureError(
            f"the signature's timestamp {timestamp} is {abs(now - timestamp):.0f} s away from "
            f"now (tolerance {tolerance_s:.0f} s): a replay, or a clock off"
        )
    if not _signs(secret, header, body):
        raise SignatureError("the signature does not match the body and the shared secret")
    return timestamp
