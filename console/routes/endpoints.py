"""Endpoints: each endpoint the registry records as deployed (``raymaker.served_by``), the
traffic store holds, or the metrics name, with its served versions, its variants and their
traffic shares and replicas, and per model and variant requests, request rate, error rate and
p50 / p99 latency from the Prometheus text its replicas export.

One endpoint's page adds what the serving code keeps in its traffic store — the statistics the
replicas report per variant, a rollout's state, its guardrails' readings and its decisions —
and the A/B readout and shadow report over its captured answers.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from console.context import ConsoleContext, context_of
from console.guard import page
from console.readers.endpoint_metrics import Scrape, read_endpoints
from console.readers.experiments import ab_readout_of, metric_for, shadow_report_of
from console.readers.names import segment
from console.readers.traffic import EndpointTraffic, endpoint_traffic
from console.render import render
from ray_apps.errors import NotFoundError
from ray_apps.experiments import METRICS


@page()
def endpoints_index(request: Request) -> Response:
    ctx = context_of(request)
    served = ctx.registry.served_endpoints()
    scraped = _scrape(ctx)
    store = ctx.stores.get(ctx.places.traffic_store_url)
    stored = store.endpoints() if store is not None else []
    names = sorted(set(served) | set(stored) | {r.endpoint for r in scraped.readings})
    now = ctx.clock()
    endpoints = [
        {
            "name": name,
            "served": served.get(name, []),
            "traffic": endpoint_traffic(store, name, now, live=False) if name in stored else None,
            "readings": [r for r in scraped.readings if r.endpoint == name],
        }
        for name in names
    ]
    return render(
        request,
        "endpoints.html",
        endpoints=endpoints,
        replicas=scraped.replicas,
        metrics_urls=ctx.settings.metrics_urls,
        scrape_errors=scraped.errors,
    )


@page()
def endpoint_detail(request: Request) -> Response:
    ctx = context_of(request)
    name = segment(request.path_params["name"], "endpoint")
    served = ctx.registry.served_endpoints().get(name, [])
    scraped = _scrape(ctx)
    readings = [r for r in scraped.readings if r.endpoint == name]
    store = ctx.stores.get(ctx.places.traffic_store_url)
    traffic = None
    if store is not None and name in store.endpoints():
        traffic = endpoint_traffic(store, name, ctx.clock())
    if not (served or readings or traffic):
        raise NotFoundError(
            f"no endpoint {name!r}: not in the registry, the traffic store or the metrics; "
            "the endpoints page lists those there are"
        )
    metric = metric_for(request.query_params.get("metric"), _metrics(ctx, traffic))
    return render(
        request,
        "endpoint.html",
        name=name,
        served=served,
        traffic=traffic,
        rows=variant_rows(traffic, readings, scraped.replicas),
        readings=readings,
        metric=metric,
        metrics=sorted(METRICS),
        ab=ab_readout_of(traffic, metric, ctx.readouts) if traffic else None,
        shadow=shadow_report_of(traffic, ctx.readouts) if traffic else None,
        metrics_urls=ctx.settings.metrics_urls,
        scrape_errors=scraped.errors,
    )


def variant_rows(
    traffic: EndpointTraffic | None, readings: list, replicas: dict[str, int]
) -> list[dict[str, Any]]:
    """One row per variant: its share and the store's statistics, with the metrics' reading
    of the same variant (and its application's healthy replicas) beside them."""
    if traffic is None:
        return []
    by_variant = {r.variant: r for r in readings}
    return [
        {"v": v, "reading": by_variant.get(v.name), "replicas": replicas.get(v.app)}
        for v in traffic.variants
    ]


def _scrape(ctx: ConsoleContext) -> Scrape:
    urls = ctx.settings.metrics_urls
    return (
        read_endpoints(urls, ctx.settings.scrape_timeout_s, ctx.rates) if urls else Scrape([], [])
    )


def _metrics(ctx: ConsoleContext, traffic: EndpointTraffic | None) -> dict[str, float]:
    """The test metrics of the version the first variant serves (to pick the readout's)."""
    if traffic is None or not traffic.variants:
        return {}
    return ctx.registry.metrics_of(traffic.variants[0].model, traffic.variants[0].version)


routes = [
    Route("/endpoints", endpoints_index),
    Route("/endpoints/{name}", endpoint_detail),
]
