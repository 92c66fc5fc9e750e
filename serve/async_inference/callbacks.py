"""Completion callbacks: where a client asks to be told, and one signed POST to it.

A client names the URL in the ``X-Raymaker-Callback`` header of its submit request (http or
https only). When the request ends (succeeded, failed, or expired while queued) the endpoint
POSTs

    {"id": "<id>", "status": "succeeded", "result_url": "/async/requests/<id>/result"}

signed as ``serve.async_inference.signing`` describes. Delivery is at least once: a receiver
may see the same id twice (a sender that died after the POST but before recording it) and
should treat the id as idempotent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

import httpx

from ray_apps.errors import SpecError
from serve.async_inference import policy
from serve.async_inference._table import Record
from serve.async_inference.signing import HEADER, sign

CALLBACK_HEADER = "x-raymaker-callback"
_MAX_URL = 2048


def callback_url(
    headers: Mapping[str, str], callbacks_on: bool, allowed_hosts: Sequence[str] = ()
) -> str | None:
    """The callback URL a submit request asks for, checked; None when it asks for none."""
    url = headers.get(CALLBACK_HEADER, "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SpecError(
            f"X-Raymaker-Callback {url[:200]!r} is not an http(s) URL with a host; send "
            "http://host[:port]/path or https://…"
        )
    if len(url) > _MAX_URL:
        raise SpecError(f"X-Raymaker-Callback is {len(url)} characters; at most {_MAX_URL}")
    if not callbacks_on:
        raise SpecError(
            "completion callbacks are off on this endpoint: it has no signing key; set "
            "async_inference.callback_secret_env to a variable holding one, or poll the "
            "status URL instead of sending X-Raymaker-Callback"
        )
    # The endpoint POSTs wherever a caller points it: an allowlist keeps inference keys from
    # reaching hosts inside the network they could not reach themselves (SSRF).
    if not policy.callback_host_allowed(parts.hostname, list(allowed_hosts)):
        raise SpecError(
            f"X-Raymaker-Callback host {parts.hostname!r} is not among this endpoint's "
            f"async_inference.callback_hosts {list(allowed_hosts)}; use one of them, or ask "
            "the endpoint's owner to add it"
        )
    return url


def status_path(base: str, request_id: str) -> str:
    return f"{base.rstrip('/')}/async/requests/{request_id}"


def result_path(base: str, request_id: str) -> str:
    return status_path(base, request_id) + "/result"


def notice(job: Record) -> bytes:
    """The callback body: the request's id, its final status and where its result is."""
    doc: dict[str, str | None] = {"id": job.id, "status": job.status}
    doc["result_url"] = result_path(job.base, job.id) if job.result_file else None
    return json.dumps(doc, separators=(",", ":")).encode()


async def post(
    client: httpx.AsyncClient, job: Record, secret: bytes, now: float, timeout_s: float
) -> tuple[int | None, str | None]:
    """POST one signed notice; returns the receiver's status (None: no answer) and an error."""
    assert job.callback_url is not None  # only claimed callbacks get here
    body = notice(job)
    headers = {
        "content-type": "application/json",
        HEADER: sign(secret, body, int(now)),
        "x-raymaker-request-id": job.id,
        "user-agent": "raymaker-callback/1",
    }
    try:
        r = await client.post(job.callback_url, content=body, headers=headers, timeout=timeout_s)
    except httpx.HTTPError as err:
        return None, f"{type(err).__name__}: {err}"[:500]
    return r.status_code, None if 200 <= r.status_code < 300 else f"HTTP {r.status_code}"
