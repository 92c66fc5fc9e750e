"""A webhook: where alerts are POSTed, how (retries, backoff), and their HMAC signature.

One delivery for every part that alerts (monitors, training health rules). The body is JSON,
retried on connection errors, timeouts, 429 and 5xx with exponential backoff (``backoff_s``,
2×, 4×, … for ``attempts`` tries in all), never on another 4xx (a wrong URL or token does not
heal). Its URL may carry a token: only the host appears in logs and errors.

With ``secret_env`` set, every POST carries ``X-Raymaker-Signature: t=<unix seconds>,v1=<hex>``,
the digest being ``HMAC-SHA256(secret, f"{t}.".encode() + body)`` over the exact bytes sent —
the scheme of the endpoints' completion callbacks. A receiver checks it with
:func:`verify_signature` (or the same three lines in any language).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ray_apps.errors import SpecError

log = logging.getLogger("raymaker.webhook")

SIGNATURE_HEADER = "X-Raymaker-Signature"
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class WebhookSpec(BaseModel):
    """Where alerts are POSTed as JSON. The URL may hold a token: only its host is logged."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = Field(None, pattern=r"^https?://")
    url_env: str | None = Field(None, pattern=_ENV_NAME)
    secret_env: str | None = Field(
        None, pattern=_ENV_NAME, description="variable holding the HMAC secret: signed POSTs"
    )
    attempts: int = Field(4, ge=1, le=10)
    backoff_s: float = Field(0.5, ge=0, le=30)
    timeout_s: float = Field(5.0, gt=0, le=60)

    @model_validator(mode="after")
    def _one_url(self) -> WebhookSpec:
        if (self.url is None) == (self.url_env is None):
            raise ValueError(
                "give exactly one of url (the address) or url_env (the name of "
                "an environment variable holding it: keeps a token out of the file)"
            )
        return self


@dataclass(frozen=True)
class Delivery:
    """How a webhook POST went."""

    host: str
    delivered: bool
    attempts: int
    last_status: int | None  # the last HTTP status, None when the last try got no answer
    error: str | None = None


def webhook_url(spec: WebhookSpec, field: str = "alerts.webhook") -> str:
    """The webhook address, from the spec or the environment variable it names."""
    if spec.url is not None:
        return spec.url
    url = os.environ.get(spec.url_env or "", "")
    if not url.startswith(("http://", "https://")):
        raise SpecError(
            f"{field}.url_env: environment variable {spec.url_env} "
            + ("is not set" if not url else "does not hold an http(s) URL")
            + "; set it to the webhook address"
        )
    return url


def webhook_secret(spec: WebhookSpec, field: str = "alerts.webhook") -> bytes | None:
    """The signing secret named by ``secret_env`` (None: POSTs go unsigned)."""
    if spec.secret_env is None:
        return None
    secret = os.environ.get(spec.secret_env, "")
    if not secret:
        raise SpecError(
            f"{field}.secret_env: environment variable {spec.secret_env} is not set; set it to "
            "the shared secret, or remove secret_env to send unsigned alerts"
        )
    return secret.encode()


def host_of(url: str) -> str:
    """What may be logged of a URL: scheme, host and port (no path, query or credentials)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    """The ``X-Raymaker-Signature`` header value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={_digest(secret, body, timestamp)}"


def verify_signature(secret: bytes, header: str | None, body: bytes) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` (the timestamp's age is the
    receiver's to judge)."""
    parts = dict(p.split("=", 1) for p in (header or "").split(",") if "=" in p)
    stamp, given = parts.get("t", ""), parts.get("v1", "")
    if not stamp.isdigit() or not given:
        return False
    return hmac.compare_digest(_digest(secret, body, int(stamp)), given)


def post_webhook(
    url: str,
    payload: dict[str, Any],
    spec: WebhookSpec,
    *,
    secret: bytes | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST ``payload`` as JSON (signed when ``secret`` is given), retrying transient
    failures; never raises for delivery."""
    import httpx

    body = json.dumps(payload, default=str).encode()
    host, status, error = host_of(url), None, None
    for attempt in range(1, spec.attempts + 1):
        headers = {"Content-Type": "application/json"}
        if secret is not None:  # signed per attempt: a retry carries a fresh timestamp
            headers[SIGNATURE_HEADER] = sign(secret, body, int(time.time()))
        try:
            answer = httpx.post(url, content=body, headers=headers, timeout=spec.timeout_s)
            status, error = answer.status_code, None
            if answer.is_success:
                return Delivery(host, True, attempt, status)
            if status != 429 and status < 500:
                error = f"HTTP {status}; not retried"
                break
            error = f"HTTP {status}"
        except httpx.HTTPError as err:  # connection refused, timeout, …: worth another try
            status, error = None, type(err).__name__
        if attempt < spec.attempts:
            log.warning("webhook %s: attempt %d failed (%s); retrying", host, attempt, error)
            sleep(spec.backoff_s * 2 ** (attempt - 1))
    return Delivery(host, False, attempt, status, error)


def _digest(secret: bytes, body: bytes, timestamp: int) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
