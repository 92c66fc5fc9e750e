"""Per model/version request count, latency and errors, through Ray's Prometheus metrics.

Ray exports them on each node's metrics port (``ray metrics launch-prometheus`` scrapes it) as
``ray_raymaker_requests_total``, ``ray_raymaker_request_errors_total`` and
``ray_raymaker_request_latency_ms`` with tags ``model``, ``version``, ``route``, ``code``,
``variant`` (the variant that answered, ``-`` without variants; shadow copies are counted in
the traffic store's per-variant statistics, not here), and
the gauge ``ray_raymaker_served_version_approved`` (1 while the registry says the served
version is Approved, 0 once it is not; tags ``model``, ``version``) for alerting on a version
rejected while it serves.
"""

from __future__ import annotations

_BOUNDARIES = [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000]
# The names, one place: Ray exports each with EXPORT_PREFIX (counters also with ``_total``,
# the histogram as ``_bucket`` / ``_sum`` / ``_count``); the web console reads them back.
REQUESTS = "raymaker_requests"
ERRORS = "raymaker_request_errors"
LATENCY = "raymaker_request_latency_ms"
APPROVED = "raymaker_served_version_approved"
EXPORT_PREFIX = "ray_"
# Ray Serve's own gauge of each replica's health (1 healthy, 0 not; tags ``application``,
# ``deployment``, ``replica``): the console counts an endpoint's and each variant's replicas
# from it, those of the deployment that answers requests, ``ENDPOINT_DEPLOYMENT``.
REPLICA_HEALTHY = "serve_deployment_replica_healthy"
ENDPOINT_DEPLOYMENT = "endpoint"


class EndpointMetrics:
    """Counters and a latency histogram; created inside a replica (needs Ray)."""

    def __init__(self) -> None:
        from ray.serve import metrics

        keys = ("model", "version", "route", "code", "variant")
        self._requests = metrics.Counter(
            REQUESTS, description="Inference and registry requests.", tag_keys=keys
        )
        self._errors = metrics.Counter(
            ERRORS, description="Requests answered 4xx/5xx.", tag_keys=keys
        )
        self._latency = metrics.Histogram(
            LATENCY,
            description="Time in the replica per request (ms).",
            boundaries=_BOUNDARIES,
            tag_keys=("model", "version", "route", "variant"),
        )
        self._approved = metrics.Gauge(
            APPROVED,
            description="1 if the registry says the served version is Approved, else 0.",
            tag_keys=("model", "version"),
        )

    def observe(
        self, model: str, version: str, route: str, code: int, ms: float, variant: str | None = None
    ) -> None:
        """``variant``: the variant that answered ("-" on an endpoint without variants)."""
        v = variant or "-"
        tags = {"model": model, "version": version, "route": route, "code": str(code), "variant": v}
        self._requests.inc(tags=tags)
        if code >= 400:
            self._errors.inc(tags=tags)
        latency_tags = {"model": model, "version": version, "route": route, "variant": v}
        self._latency.observe(ms, tags=latency_tags)

    def approved(self, model: str, version: int, approved: bool) -> None:
        self._approved.set(1.0 if approved else 0.0, tags={"model": model, "version": str(version)})
