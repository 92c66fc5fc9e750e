"""Per-variant live observations: request counts, error counts and a latency histogram.

A replica observes every answered request into a ``StatsAccumulator`` (on its event loop, one
thread: a bisect and a few increments, no lock), ``take()``s the counts since the last take
every few seconds and hands them to the traffic store; a rollout merges the rows of all
replicas (``merge_all``) and decides on the sums. Nothing here touches Ray or the clock.

Counting:

- ``requests``: every request a variant answered, whatever its status.
- ``errors_5xx`` (status >= 500): the variant's fault.
- ``errors_4xx`` (400..499): input the variant refused. Not a fault in itself (bad input is
  refused by every variant); a rollout compares the candidate's share with the stable's.
  Observe only requests that reached a variant: an auth failure or a shed request at the
  ingress says nothing about a variant.
- ``latency_counts``: one count per bucket of ``LATENCY_BOUNDS_MS`` (upper bounds, inclusive,
  as Prometheus' ``le``) plus an overflow bucket; every request counts once, errors included.

Latency lives in a fixed histogram rather than a sample so that rows from many replicas and
many intervals add up exactly, and a row's size does not grow with traffic. The buckets are
log-spaced by 2**(1/3) (26 % wide) from 0.25 ms to 65.5 s: sub-millisecond models and slow
ones share one layout, and a quantile read from it (interpolated inside the bucket) is off by
well under a bucket's width.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ray_apps.errors import SpecError

# 0.25 ms * 2**(i/3) for i = 0..54: 55 upper bounds, 0.25 ms … 65 536 ms, every third a power
# of two. The layout is part of the stored format: changing it makes old rows unreadable
# (``from_json`` refuses a row of another length rather than misplace its counts).
LATENCY_BOUNDS_MS: tuple[float, ...] = tuple(0.25 * 2 ** (i / 3) for i in range(55))
_BUCKETS = len(LATENCY_BOUNDS_MS) + 1  # + overflow (above the last bound)


def latency_bucket(latency_ms: float) -> int:
    """The histogram bucket of one latency: bisect over the upper bounds, overflow last."""
    # Negative (a clock step) and NaN latencies land in the first bucket rather than raise:
    # this runs on the request path, where a bad clock must not fail a request.
    if not latency_ms > 0:
        return 0
    return bisect_left(LATENCY_BOUNDS_MS, latency_ms)


@dataclass(frozen=True)
class VariantStats:
    """What one variant did over some interval; ``merged`` adds intervals or replicas."""

    requests: int = 0
    errors_5xx: int = 0  # the variant's fault
    errors_4xx: int = 0  # refused input
    latency_counts: tuple[int, ...] = ()  # one per bucket + overflow; () means all zero

    def __post_init__(self) -> None:
        counts = (self.requests, self.errors_5xx, self.errors_4xx, *self.latency_counts)
        if any(c < 0 for c in counts):
            raise SpecError(f"variant stats hold a negative count: {self}")
        if self.errors_5xx + self.errors_4xx > self.requests:
            raise SpecError(
                f"variant stats count {self.errors_5xx} 5xx and {self.errors_4xx} 4xx errors "
                f"but only {self.requests} requests; errors are a subset of requests"
            )
        if self.latency_counts and len(self.latency_counts) != _BUCKETS:
            raise SpecError(
                f"variant stats hold {len(self.latency_counts)} latency buckets, the layout "
                f"has {_BUCKETS} (LATENCY_BOUNDS_MS + overflow); rows of another layout "
                "cannot be merged"
            )
        if self.latency_counts and sum(self.latency_counts) != self.requests:
            raise SpecError(
                f"variant stats hold {sum(self.latency_counts)} latencies for "
                f"{self.requests} requests; every request has one latency"
            )

    def merged(self, other: VariantStats) -> VariantStats:
        """The sum of two intervals (or two replicas) of the same variant."""
        if not other.latency_counts:
            counts = self.latency_counts
        elif not self.latency_counts:
            counts = other.latency_counts
        else:
            counts = tuple(
                a + b for a, b in zip(self.latency_counts, other.latency_counts, strict=True)
            )
        return VariantStats(
            requests=self.requests + other.requests,
            errors_5xx=self.errors_5xx + other.errors_5xx,
            errors_4xx=self.errors_4xx + other.errors_4xx,
            latency_counts=counts,
        )

    def quantile_ms(self, q: float) -> float | None:
        """The ``q`` quantile of latency in ms, from the histogram; None without requests.

        As Prometheus' ``histogram_quantile``: find the bucket holding the request of rank
        ``q * requests`` and interpolate linearly between the bucket's lower and upper bound
        (the first bucket starts at 0). In the overflow bucket there is no upper bound to
        interpolate to, so the answer is the last bound, 65 536 ms: "at least this".
        """
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile q={q!r} must lie in [0, 1], e.g. 0.99 for p99")
        if self.requests == 0 or not self.latency_counts:
            return None
        rank = q * self.requests
        cumulative = 0
        for i, count in enumerate(self.latency_counts):
            if count and cumulative + count >= rank:
                if i == len(LATENCY_BOUNDS_MS):
                    return LATENCY_BOUNDS_MS[-1]
                lower = LATENCY_BOUNDS_MS[i - 1] if i else 0.0
                upper = LATENCY_BOUNDS_MS[i]
                return lower + (upper - lower) * (rank - cumulative) / count
            cumulative += count
        return LATENCY_BOUNDS_MS[-1]  # not reached: the counts sum to requests

    @property
    def error_rate(self) -> float | None:
        """The 5xx share of requests; None without requests."""
        return self.errors_5xx / self.requests if self.requests else None

    @property
    def client_error_rate(self) -> float | None:
        """The 4xx share of requests; None without requests."""
        return self.errors_4xx / self.requests if self.requests else None

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors_5xx": self.errors_5xx,
            "errors_4xx": self.errors_4xx,
            "latency_counts": list(self.latency_counts),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> VariantStats:
        unknown = sorted(set(d) - {"requests", "errors_5xx", "errors_4xx", "latency_counts"})
        if unknown:
            raise SpecError(f"variant stats have unknown keys {unknown}")
        try:
            return cls(
                requests=int(d.get("requests", 0)),
                errors_5xx=int(d.get("errors_5xx", 0)),
                errors_4xx=int(d.get("errors_4xx", 0)),
                latency_counts=tuple(int(c) for c in d.get("latency_counts", ())),
            )
        except (TypeError, ValueError) as err:
            if isinstance(err, SpecError):
                raise
            raise SpecError(f"variant stats {dict(d)!r} are not counts: {err}") from None


class StatsAccumulator:
    """Counts per variant on one replica since the last ``take``; single-threaded, cheap."""

    def __init__(self) -> None:
        # variant -> [requests, errors_5xx, errors_4xx, *latency_counts]: one flat list per
        # variant keeps ``observe`` to a dict lookup, a bisect and three increments.
        self._rows: dict[str, list[int]] = {}

    def observe(self, variant: str, status: int, latency_ms: float) -> None:
        row = self._rows.get(variant)
        if row is None:
            row = self._rows[variant] = [0] * (3 + _BUCKETS)
        row[0] += 1
        if status >= 500:
            row[1] += 1
        elif status >= 400:
            row[2] += 1
        row[3 + latency_bucket(latency_ms)] += 1

    def take(self) -> dict[str, VariantStats]:
        """Everything observed since the last take, per variant; the counts start again at 0."""
        rows, self._rows = self._rows, {}
        return {
            variant: VariantStats(
                requests=row[0], errors_5xx=row[1], errors_4xx=row[2], latency_counts=tuple(row[3:])
            )
            for variant, row in rows.items()
        }


def merge_all(rows: Iterable[Mapping[str, VariantStats]]) -> dict[str, VariantStats]:
    """Sum rows (replicas, intervals) per variant; a variant missing from a row adds nothing."""
    total: dict[str, VariantStats] = {}
    for row in rows:
        for variant, stats in row.items():
            total[variant] = total[variant].merged(stats) if variant in total else stats
    return total
