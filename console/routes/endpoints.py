"""Endpoints: each endpoint the registry records as deployed (``raymaker.served_by``) or that
the metrics name, with its served versions and, per model and variant, requests, request rate,
error rate and p50 / p99 latency from the Prometheus text its replicas export."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from console.context import context_of
from console.guard import page
from console.readers.endpoint_metrics import Scrape, read_endpoints
from console.render import render
from ray_apps import registry


@page()
def endpoints_index(request: Request) -> Response:
    ctx = context_of(request)
    served = registry.served_endpoints(tracking_uri=ctx.places.tracking_uri)
    urls = ctx.settings.metrics_urls
    scraped = (
        read_endpoints(urls, ctx.settings.scrape_timeout_s, ctx.rates) if urls else Scrape([], [])
    )
    names = sorted(set(served) | {r.endpoint for r in scraped.readings})
    endpoints = [
        {
            "name": name,
            "served": served.get(name, []),
            "readings": [r for r in scraped.readings if r.endpoint == name],
        }
        for name in names
    ]
    return render(
        request,
        "endpoints.html",
        endpoints=endpoints,
        metrics_urls=urls,
        scrape_errors=scraped.errors,
    )


routes = [Route("/endpoints", endpoints_index)]
