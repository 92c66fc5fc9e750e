"""``serve_console``: the console on uvicorn until Ctrl-C (what ``raymaker console`` runs).

from console import ConsoleSettings, serve_console
serve_console(ConsoleSettings(port=8765))
"""

from __future__ import annotations

from collections.abc import Callable

from console.app import create_app
from console.settings import ConsoleSettings, remote_warning


def serve_console(
    settings: ConsoleSettings | None = None, *, say: Callable[[str], None] = print
) -> None:
    """Build the app (refusing a missing admin key or a bad setting before listening), say
    where it listens, and serve until interrupted."""
    import uvicorn

    settings = settings or ConsoleSettings()
    app = create_app(settings)
    warning = remote_warning(settings)
    if warning:
        say(warning)
    places = app.state.console.places
    say(f"raymaker console on http://{_host(settings.host)}:{settings.port}/ (Ctrl-C stops it)")
    say(f"registry {places.tracking_uri}; runs {places.storage}")
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
