"""The console as an ASGI app: ``create_app(settings)`` → Starlette, served by ``server``.

    from console import ConsoleSettings, create_app
    app = create_app(ConsoleSettings(tracking_uri="sqlite:///raymaker_data/mlflow.db"))

Requests pass, outermost first: the security headers (a Content-Security-Policy with no script
at all, no framing, no referrer, no caching), the session gate (``guard.SessionGate``), then the
routes (``console.routes``, one module per page). A raymaker error anywhere becomes an error page
with its ``http_status``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from console.auth import Credentials
from console.context import ConsoleContext, Places
from console.guard import SessionGate
from console.headers import HEADERS
from console.readers.endpoint_metrics import RateTracker
from console.readers.registry_reads import RegistryReads
from console.render import error_response
from console.routes import ROUTES
from console.session import Signer, signing_secret
from console.settings import ConsoleSettings
from ray_apps.errors import RaymakerError

STATIC = Path(__file__).with_name("static")


def create_app(
    settings: ConsoleSettings | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The console's app; keys and the session secret from ``environ`` (default: the process's).
    SpecError when no admin key is configured or a setting is wrong."""
    settings = settings or ConsoleSettings()
    credentials = Credentials.from_env(settings.admin_key_env, settings.viewer_key_env, environ)
    signer = Signer(
        signing_secret(settings.secret_env, environ), settings.session_hours * 3600, clock
    )
    app = Starlette(
        routes=[*ROUTES, Mount("/static", StaticFiles(directory=STATIC), name="static")],
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(SessionGate, signer=signer, credentials=credentials),
        ],
        exception_handlers={RaymakerError: _raymaker_error, HTTPException: _http_error},
    )
    places = Places.resolve(settings)
    app.state.console = ConsoleContext(
        settings,
        credentials,
        signer,
        places,
        RateTracker(clock),
        RegistryReads(places.tracking_uri),
        clock=clock,
    )
    return app


class SecurityHeaders:
    """Adds ``HEADERS`` to every response that does not set its own."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [
                    (k.encode(), v.encode())
                    for k, v in HEADERS.items()
                    if k.encode() not in present
                ]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


async def _raymaker_error(request: Request, err: RaymakerError):
    return error_response(request, err.http_status, str(err))


async def _http_error(request: Request, err: HTTPException):
    message = "no such page" if err.status_code == 404 else str(err.detail)
    return error_response(request, err.status_code, message)
