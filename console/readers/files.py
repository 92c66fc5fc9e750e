"""Files the jobs wrote (health, evaluation and monitor reports, the tuning plot), served as
they are. An HTML report is served under a sandboxing Content-Security-Policy: it runs as a page
of no origin (Evidently's reports carry scripts), so it cannot read the console's pages or
send requests with the console's session. ``framed`` lets the console's own pages show one in
an ``<iframe>`` (the monitor window's Evidently report), still sandboxed.

``contained`` builds a file's path from URL segments and keeps it inside its root: each
segment one name (``names.segment``), and on a local disk the resolved path (symlinks followed)
still under the resolved root."""

from __future__ import annotations

import os

import fsspec
from starlette.responses import Response

from console.readers.names import segment
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


def sandboxed_html(path: str, what: str = "report", *, framed: bool = False) -> Response:
    body = read_bytes(path, what)
    headers = {"Content-Security-Policy": SANDBOX}
    if framed:  # only by the console's own pages
        headers = {"Content-Security-Policy": f"{SANDBOX}; frame-ancestors 'self'"}
        headers["X-Frame-Options"] = "SAMEORIGIN"
    return Response(body, media_type="text/html", headers=headers)


def contained(root: str, parts: list[tuple[str, str]], file: str) -> str:
    """``root/<prefix><name>/…/file`` for each (prefix, name) of ``parts``, the names checked;
    NotFoundError if a name is a path or the file resolves outside ``root``."""
    names = [f"{prefix}{segment(name, prefix.rstrip('=') or 'name')}" for prefix, name in parts]
    path = "/".join([root.rstrip("/"), *names, file])
    if "://" not in root or root.startswith("file://"):
        base = os.path.realpath(root.removeprefix("file://"))
        where = os.path.realpath(path.removeprefix("file://"))
        if os.path.commonpath([base, where]) != base:
            raise NotFoundError(f"no {file} there: it lies outside {root}")
    return path


def png(path: str, what: str = "plot") -> Response:
    return Response(read_bytes(path, what), media_type="image/png")
