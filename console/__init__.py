"""The web console: models and their approval, runs, endpoints, monitors and pipelines in one
place, server-rendered (no script, no build step), on 127.0.0.1 behind admin or viewer keys.

    raymaker console [--host 127.0.0.1] [--port 8765] [--metrics-url http://…/metrics]

    from console import ConsoleSettings, create_app, serve_console
    app = create_app(ConsoleSettings())          # an ASGI app (tests, another server)

An edge above the layers (pyproject's import-linter contracts): it reads ``ray_apps``, ``serve``,
``tuning`` and ``pipelines`` through their public functions and files, and nothing imports it
but the CLI. See the README's "Console" section for the pages and the security model.
"""

from console.app import create_app
from console.server import serve_console
from console.settings import ConsoleSettings, remote_warning

__all__ = ["ConsoleSettings", "create_app", "remote_warning", "serve_console"]
