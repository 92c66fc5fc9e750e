"""A real HTTP server on 127.0.0.1 serving Prometheus text in Ray's names for ``serve.metrics``
(the ``ray_`` prefix, Serve's ``application`` / ``deployment`` / ``replica`` tags, and Serve's
own replica health gauge), written by prometheus_client: what a Ray node's metrics port
answers, without Ray."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from serve import metrics as names

BOUNDARIES = [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000]  # serve.metrics' buckets
TAGS = ("model", "version", "route", "code", "variant", "application", "deployment", "replica")


class EndpointTraffic:
    """Counters as one endpoint's replicas keep them; ``call`` is one request answered."""

    def __init__(self):
        self.registry = CollectorRegistry()
        prefix = names.EXPORT_PREFIX
        self.requests = Counter(prefix + names.REQUESTS, "requests", TAGS, registry=self.registry)
        self.errors = Counter(prefix + names.ERRORS, "errors", TAGS, registry=self.registry)
        self.latency = Histogram(
            prefix + names.LATENCY,
            "latency",
            [t for t in TAGS if t != "code"],
            buckets=BOUNDARIES,
            registry=self.registry,
        )
        self.healthy = Gauge(
            prefix + names.REPLICA_HEALTHY,
            "healthy replicas",
            ("application", "deployment", "replica"),
            registry=self.registry,
        )

    def replicas(self, app: str, healthy: int, unhealthy: int = 0, deployment: str = "") -> None:
        """``app``'s replicas as Serve's controller reports them: 1 per healthy one, 0 else."""
        deployment = deployment or names.ENDPOINT_DEPLOYMENT
        for i in range(healthy + unhealthy):
            replica = f"{app}-{deployment}-{i}"
            self.healthy.labels(app, deployment, replica).set(1 if i < healthy else 0)

    def call(self, endpoint, model, version, ms, code=200, variant="-", replica="r1"):
        tags = {
            "model": model,
            "version": version,
            "route": "v1_predict",
            "variant": variant,
            "application": endpoint,
            "deployment": "Endpoint",
            "replica": replica,
        }
        self.requests.labels(code=str(code), **tags).inc()
        if code >= 400:
            self.errors.labels(code=str(code), **tags).inc()
        self.latency.labels(**tags).observe(ms)

    def text(self) -> bytes:
        return generate_latest(self.registry)


@contextmanager
def serving(traffic: EndpointTraffic):
    """``http://127.0.0.1:<port>/metrics`` answering ``traffic``'s current text."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = traffic.text()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/metrics"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
