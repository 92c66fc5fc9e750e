"""Pipelines: every run with its steps' states, and one run's DAG (``pipelines.svg``)."""

from __future__ import annotations

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from console.context import context_of
from console.guard import page
from console.readers.pipelines import list_pipeline_runs, pipeline_svg
from console.render import render


@page()
def pipelines_index(request: Request) -> Response:
    runs = list_pipeline_runs(context_of(request).places.storage)
    return render(request, "pipelines.html", runs=runs)


@page()
def pipeline_run(request: Request) -> Response:
    storage = context_of(request).places.storage
    run, svg = pipeline_svg(storage, request.path_params["run_id"])
    return render(request, "pipeline.html", run=run, svg=Markup(svg))


routes = [
    Route("/pipelines", pipelines_index),
    Route("/pipelines/{run_id}", pipeline_run),
]
