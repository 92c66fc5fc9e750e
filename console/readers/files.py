"""Files the jobs wrote (health, evaluation and monitor reports, the tuning plot), served as
they are. An HTML report is served under a sandboxing Content-Security-Policy: it runs as a page
of no origin (Evidently's reports carry scripts), so it cannot read the console's pages or
send requests with the console's session."""

from __future__ import annotations

import fsspec
from starlette.responses import Response

from ray_apps.errors import NotFoundError

SANDBOX = "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; " + (
    "style-src 'unsafe-inline'; img-src data:; font-src data:"
)


def read_bytes(path: str, what: str) -> bytes:
    fs, local = fsspec.core.url_to_fs(path)
    if not fs.exists(local):
        raise NotFoundError(f"no {what} at {path}")
    with fs.open(local, "rb") as f:
        return f.read()


def sandboxed_html(path: str, what: str = "report") -> Response:
    body = read_bytes(path, what)
    return Response(body, media_type="text/html", headers={"Content-Security-Policy": SANDBOX})


def png(path: str, what: str = "plot") -> Response:
    return Response(read_bytes(path, what), media_type="image/png")
