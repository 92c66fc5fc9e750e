"""Every page behind a session, every POST behind the session's CSRF token and a role.

``SessionGate`` (ASGI middleware) lets only ``/login``, ``/static/`` and ``/favicon.ico``
through without a valid session cookie: a GET goes to the login page (and back after it),
anything else gets 403. The handlers declare what they need with ``page(role)`` (a read) or
``action(role)`` (a form that changes state): ``action`` reads the form, refuses it without the
session's CSRF token (403), then checks the role (403 for a viewer), and only then calls the
handler. A test checks that every POST route but the login form is an ``action``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from console.auth import Credentials, Role, allows
from console.render import error_response
from console.session import COOKIE, Session, Signer, tokens_match
from ray_apps.errors import PayloadTooLargeError, PermissionDeniedError, SpecError

PUBLIC = ("/login", "/static/", "/favicon.ico")
FORM_LIMIT = 16 * 1024  # a reason, a token: forms here are small
FORM_TYPE = "application/x-www-form-urlencoded"
NO_CSRF = (
    "this form has no valid CSRF token for your session (a form from another page, an old tab, "
    "or a new login since); reload the page and submit it again"
)


class SessionGate:
    def __init__(self, app, signer: Signer, credentials: Credentials):
        self.app, self.signer, self.credentials = app, signer, credentials

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith(PUBLIC):
            return await self.app(scope, receive, send)
        request = Request(scope)
        session = self.signer.read(request.cookies.get(COOKIE))
        if session is not None and not self.credentials.still_valid(session.role, session.kid):
            session = None  # signed with a configured secret, but the key is gone
        if session is None:
            if scope["method"] in ("GET", "HEAD"):
                target = scope["path"] + (f"?{request.url.query}" if request.url.query else "")
                response = RedirectResponse(f"/login?{urlencode({'next': target})}", 303)
            else:
                response = error_response(request, 403, "log in first: this needs a session")
            return await response(scope, receive, send)
        scope.setdefault("state", {})["session"] = session
        await self.app(scope, receive, send)


def page(needed: Role = "viewer") -> Callable:
    """A GET handler ``handler(request) -> Response`` for ``needed`` and above (runs in a
    thread: the readers block on MLflow and storage)."""

    def wrap(handler):
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            _require(session_of(request), needed)
            return await run_in_threadpool(handler, request)

        endpoint.guard = ("page", needed)
        return endpoint

    return wrap


def action(needed: Role = "admin") -> Callable:
    """A POST handler ``handler(request, form) -> Response``: the CSRF token, then the role."""

    def wrap(handler):
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            session = session_of(request)
            form = await read_form(request)
            if not tokens_match(form.get("csrf"), session.csrf):
                raise PermissionDeniedError(NO_CSRF)
            _require(session, needed)
            return await run_in_threadpool(handler, request, form)

        endpoint.guard = ("action", needed)
        return endpoint

    return wrap


def session_of(request: Request) -> Session:
    return request.state.session


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form (first value of each field), at most ``FORM_LIMIT`` bytes."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != FORM_TYPE:
        raise SpecError(f"a form must be sent as {FORM_TYPE}; got {kind or 'no content type'!r}")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_LIMIT:
            raise PayloadTooLargeError(f"the form is over {FORM_LIMIT} bytes; shorten the reason")
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True, max_num_fields=32)
    except (UnicodeDecodeError, ValueError) as err:
        raise SpecError(f"the form could not be read ({err}); send it from the console") from None
    return {k: v[0] for k, v in fields.items()}


def _require(session: Session, needed: Role) -> None:
    if not allows(session.role, needed):
        raise PermissionDeniedError(
            f"this needs the {needed} role; you are logged in as {session.role}: log in with "
            "an admin key (one of RAYMAKER_ADMIN_KEYS by default)"
        )
