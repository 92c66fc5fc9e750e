"""Request counts, error rate, latency and request rate per endpoint, model and variant, and
the healthy replicas of each Serve application, from the Prometheus text Ray exports
(``serve.metrics`` names the metrics, ours and Ray Serve's replica gauge).

Ray exports them on every node's metrics port, each sample tagged with the Serve application
(the endpoint) and the replica; the console scrapes the URLs it was given (one per node), sums
the counters and histogram buckets over replicas, routes and codes, and estimates p50 / p99
from the summed buckets the way PromQL's ``histogram_quantile`` does. The counters count since
each replica started, so the request rate needs two scrapes: ``RateTracker`` keeps the previous
one (per console process; the clock passed in) and answers Δrequests / Δt. Parsing, summing and
the quantiles are pure functions of the text. Replicas: Ray Serve's own health gauge, summed
per application over the replicas of the deployment that answers requests (1 each while
healthy; with Serve's low-cardinality tags one series already holding the count).
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import httpx
from prometheus_client.parser import text_string_to_metric_families

from serve import metrics as names

Key = tuple[str, str, str, str]  # endpoint, model, version, variant
_P = names.EXPORT_PREFIX
_REQUESTS = {f"{_P}{names.REQUESTS}_total", f"{_P}{names.REQUESTS}"}
_ERRORS = {f"{_P}{names.ERRORS}_total", f"{_P}{names.ERRORS}"}
_BUCKETS = f"{_P}{names.LATENCY}_bucket"
_HEALTHY = f"{_P}{names.REPLICA_HEALTHY}"


@dataclass(frozen=True)
class Reading:
    endpoint: str
    model: str
    version: str
    variant: str
    requests: float
    errors: float
    p50_ms: float | None
    p99_ms: float | None
    rate_per_s: float | None = None  # since the previous scrape; None on the first

    @property
    def key(self) -> Key:
        return (self.endpoint, self.model, self.version, self.variant)

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None


@dataclass(frozen=True)
class Scrape:
    readings: list[Reading]
    errors: list[str]  # one line per URL that could not be read
    replicas: dict[str, int] = field(default_factory=dict)  # Serve application → healthy


def readings(texts: Iterable[str]) -> list[Reading]:
    """Readings summed over every sample of ``texts`` (one Prometheus text per node)."""
    return _parse(texts)[0]


def replica_counts(texts: Iterable[str]) -> dict[str, int]:
    """Healthy replicas of each Serve application's endpoint deployment in ``texts``."""
    return _parse(texts)[1]


def _parse(texts: Iterable[str]) -> tuple[list[Reading], dict[str, int]]:
    requests: dict[Key, float] = defaultdict(float)
    errors: dict[Key, float] = defaultdict(float)
    buckets: dict[Key, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    healthy: dict[str, float] = defaultdict(float)
    for text in texts:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == _HEALTHY:
                    if sample.labels.get("deployment") == names.ENDPOINT_DEPLOYMENT:
                        healthy[sample.labels.get("application", "-")] += sample.value
                    continue
                key = _key(sample.labels)
                if sample.name in _REQUESTS:
                    requests[key] += sample.value
                elif sample.name in _ERRORS:
                    errors[key] += sample.value
                elif sample.name == _BUCKETS and "le" in sample.labels:
                    buckets[key][float(sample.labels["le"])] += sample.value
    out = []
    for key in sorted(set(requests) | set(buckets)):
        edges = sorted(buckets.get(key, {}).items())
        out.append(
            Reading(
                *key,
                requests=requests.get(key, 0.0),
                errors=errors.get(key, 0.0),
                p50_ms=quantile(0.5, edges),
                p99_ms=quantile(0.99, edges),
            )
        )
    return out, {app: round(n) for app, n in healthy.items()}


def quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """The ``q`` quantile of a histogram given as (upper bound, cumulative count), sorted;
    linear within a bucket, the highest finite bound when it falls in the +Inf one."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower
            if count == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower


def scrape(urls: Iterable[str], timeout_s: float) -> tuple[list[str], list[str]]:
    """The texts of ``urls`` and one error line for each that failed."""
    texts, failed = [], []
    for url in urls:
        try:
            response = httpx.get(url, timeout=timeout_s)
            response.raise_for_status()
            texts.append(response.text)
        except httpx.HTTPError as err:
            failed.append(f"{url}: {err.__class__.__name__}: {err}")
    return texts, failed


class RateTracker:
    """The previous scrape's request counts, to turn counters into a rate."""

    def __init__(self, clock: Callable[[], float]):
        self._clock, self._lock = clock, threading.Lock()
        self._previous: tuple[float, dict[Key, float]] | None = None

    def add_rates(self, current: list[Reading]) -> list[Reading]:
        now = self._clock()
        with self._lock:
            previous, self._previous = self._previous, (now, {r.key: r.requests for r in current})
        if previous is None or now <= previous[0]:
            return current
        then, counts = previous
        return [replace(r, rate_per_s=_rate(r, counts, now - then)) for r in current]


def read_endpoints(urls: Iterable[str], timeout_s: float, tracker: RateTracker) -> Scrape:
    texts, failed = scrape(urls, timeout_s)
    try:
        found, replicas = _parse(texts)
    except ValueError as err:  # not Prometheus text (a wrong URL answering 200)
        return Scrape([], [*failed, f"not Prometheus text: {err}"])
    return Scrape(tracker.add_rates(found), failed, replicas)


def _rate(reading: Reading, counts: dict[Key, float], seconds: float) -> float | None:
    before = counts.get(reading.key, 0.0)
    if reading.requests < before:  # a replica restarted: its counter began again
        return None
    return (reading.requests - before) / seconds


def _key(labels: dict[str, str]) -> Key:
    return (
        labels.get("application", "-"),
        labels.get("model", "-"),
        labels.get("version", "-"),
        labels.get("variant", "-"),
    )
