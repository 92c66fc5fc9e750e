"""Prometheus text → readings per endpoint, model, version and variant: sums over replicas,
routes and codes; quantiles as PromQL's histogram_quantile; rates from two scrapes."""

from __future__ import annotations

import math

import pytest
from _endpoint_traffic import EndpointTraffic

from console.readers.endpoint_metrics import RateTracker, Reading, quantile, readings


def test_quantile_interpolates_within_a_bucket_and_stops_at_the_last_finite_bound():
    buckets = [(1.0, 10.0), (2.0, 20.0), (math.inf, 20.0)]
    assert quantile(0.5, buckets) == 1.0
    assert quantile(0.75, buckets) == 1.5
    assert quantile(0.99, [(1.0, 5.0), (math.inf, 10.0)]) == 1.0
    assert quantile(0.5, []) is None and quantile(0.5, [(math.inf, 0.0)]) is None


def test_readings_sum_replicas_and_codes_and_keep_variants_apart():
    traffic = EndpointTraffic()
    for replica in ("r1", "r2"):
        traffic.call("ab", "fair", "4", 3, variant="prod", replica=replica)
    traffic.call("ab", "fair", "4", 900, code=503, variant="prod", replica="r2")
    traffic.call("ab", "fair", "5", 7, variant="cand")
    traffic.call("other", "m", "1", 1)
    text = traffic.text().decode()
    prod, cand = _two(readings([text]))
    assert (prod.requests, prod.errors, prod.version) == (3, 1, "4")
    assert prod.error_rate == pytest.approx(1 / 3)
    assert 2 < prod.p50_ms <= 5 and 500 < prod.p99_ms <= 1000
    assert (cand.requests, cand.errors, cand.error_rate) == (1, 0, 0.0)
    # Two nodes' texts (the same replicas' names) add up.
    assert _two(readings([text, text]))[0].requests == 6


def _two(found: list[Reading]) -> tuple[Reading, Reading]:
    by_variant = {r.variant: r for r in found if r.endpoint == "ab"}
    return by_variant["prod"], by_variant["cand"]


def test_a_rate_needs_two_scrapes_and_a_counter_reset_has_none():
    now = [100.0]
    tracker = RateTracker(lambda: now[0])
    key = ("ep", "m", "1", "-")

    def at(requests: float) -> Reading:
        return Reading(*key, requests=requests, errors=0, p50_ms=None, p99_ms=None)

    assert tracker.add_rates([at(10)])[0].rate_per_s is None
    now[0] = 110.0
    assert tracker.add_rates([at(30)])[0].rate_per_s == 2.0
    now[0] = 120.0
    assert tracker.add_rates([at(5)])[0].rate_per_s is None  # a replica restarted


def test_text_that_is_not_prometheus_is_an_error():
    with pytest.raises(ValueError):
        readings(["<html>not metrics</html>\n"])


def test_replicas_are_the_healthy_ones_of_each_applications_endpoint_deployment():
    from console.readers.endpoint_metrics import replica_counts

    traffic = EndpointTraffic()
    traffic.replicas("ep", 2, unhealthy=1)
    traffic.replicas("ep--cand", 1)
    traffic.replicas("ep", 3, deployment="AsyncConsumer")  # not the one answering requests
    text = traffic.text().decode()
    assert replica_counts([text]) == {"ep": 2, "ep--cand": 1}
    # Serve without high-cardinality tags reports one series per deployment: the count.
    low = (
        "# TYPE ray_serve_deployment_replica_healthy gauge\n"
        'ray_serve_deployment_replica_healthy{application="ep",deployment="endpoint"} 4.0\n'
    )
    assert replica_counts([low]) == {"ep": 4}
