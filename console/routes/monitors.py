"""Monitors: every judged window (alert state, drifted columns, violations) and its report."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from console.context import context_of
from console.guard import page
from console.readers.files import sandboxed_html
from console.readers.monitors import list_windows, report_path
from console.render import render


@page()
def monitors_index(request: Request) -> Response:
    root = context_of(request).places.monitor_root
    return render(request, "monitors.html", windows=list_windows(root), root=root)


@page()
def monitor_report(request: Request) -> Response:
    p = request.path_params
    path = report_path(
        context_of(request).places.monitor_root, p["model"], p["version"], p["window"]
    )
    return sandboxed_html(path, "monitor report")


routes = [
    Route("/monitors", monitors_index),
    Route("/monitors/{model}/{version}/{window}/report", monitor_report),
]
