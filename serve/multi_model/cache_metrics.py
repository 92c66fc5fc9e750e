"""Prometheus metrics of a replica's model cache, per model and version, from its snapshots.

Ray exports them as the endpoint's request metrics are (``serve.metrics``), with tags
``model`` and ``version`` (Serve adds ``application``, ``deployment`` and ``replica``):

    ray_raymaker_model_loaded             gauge    1 while the version is loaded here, else 0
    ray_raymaker_model_loaded_bytes       gauge    its measured footprint while loaded
    ray_raymaker_model_loads_total        counter  loads that succeeded
    ray_raymaker_model_load_errors_total  counter  loads that raised (the next request retries)
    ray_raymaker_model_load_seconds_total counter  seconds spent in successful loads
    ray_raymaker_model_cache_hits_total   counter  requests that found it loaded
    ray_raymaker_model_cache_misses_total counter  requests that loaded it or waited on its load
    ray_raymaker_model_evictions_total    counter  removed to fit the budget (LRU)
    ray_raymaker_model_unloads_total      counter  removed as no longer servable (or replaced)
    ray_raymaker_model_refused_total      counter  requests refused: larger than max_model_bytes

and, per replica (no model tags), ``ray_raymaker_model_cache_bytes`` / ``_models`` (what is
loaded) beside ``ray_raymaker_model_cache_budget_bytes`` / ``_budget_models`` (0: no such limit).
The cache counts cumulatively; ``increments`` turns two snapshots into what each counter
grows by (pure, tested with numbers), ``CacheMetrics.publish`` hands them to Ray.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

# snapshot row field -> metric name
COUNTERS = {
    "loads": "raymaker_model_loads",
    "load_errors": "raymaker_model_load_errors",
    "load_seconds": "raymaker_model_load_seconds",
    "hits": "raymaker_model_cache_hits",
    "misses": "raymaker_model_cache_misses",
    "evictions": "raymaker_model_evictions",
    "unloads": "raymaker_model_unloads",
    "refused": "raymaker_model_refused",
}
LOADED = "raymaker_model_loaded"
LOADED_BYTES = "raymaker_model_loaded_bytes"
# snapshot field -> replica-wide gauge
TOTALS = {
    "loaded_bytes": "raymaker_model_cache_bytes",
    "loaded_models": "raymaker_model_cache_models",
    "max_model_bytes": "raymaker_model_cache_budget_bytes",
    "max_models": "raymaker_model_cache_budget_models",
}
_TAGS = ("model", "version")
Row = Mapping[str, Any]


def rows_by_key(snapshot: Mapping[str, Any]) -> dict[tuple[str, int], Row]:
    return {(r["model"], r["version"]): r for r in snapshot["models"]}


def increments(
    before: Mapping[tuple[str, int], Row], after: Mapping[tuple[str, int], Row]
) -> list[tuple[str, dict[str, str], float]]:
    """(metric, tags, amount) for every counter that grew between two snapshots' rows."""
    out = []
    for (model, version), row in after.items():
        previous = before.get((model, version), {})
        tags = {"model": model, "version": str(version)}
        for field, metric in COUNTERS.items():
            grown = row[field] - previous.get(field, 0)
            if grown > 0:
                out.append((metric, tags, grown))
    return out


class CacheMetrics:
    """Ray's metrics of one replica's cache; ``publish`` a snapshot on each health check."""

    def __init__(self, metrics: ModuleType | Any = None):
        """``metrics``: a module with Ray's ``Counter`` and ``Gauge`` (default
        ``ray.serve.metrics``; tests pass a recorder)."""
        if metrics is None:
            from ray.serve import metrics
        self._counters = {
            name: metrics.Counter(name, description=f"Model cache: {field}.", tag_keys=_TAGS)
            for field, name in COUNTERS.items()
        }
        self._loaded = metrics.Gauge(LOADED, description="1 while loaded here.", tag_keys=_TAGS)
        self._bytes = metrics.Gauge(
            LOADED_BYTES, description="Measured bytes while loaded.", tag_keys=_TAGS
        )
        self._totals = {
            field: metrics.Gauge(name, description=f"Model cache: {field}.")
            for field, name in TOTALS.items()
        }
        self._last: dict[tuple[str, int], Row] = {}

    def publish(self, snapshot: Mapping[str, Any]) -> None:
        rows = rows_by_key(snapshot)
        for metric, tags, amount in increments(self._last, rows):
            self._counters[metric].inc(amount, tags=tags)
        for (model, version), row in rows.items():
            tags = {"model": model, "version": str(version)}
            self._loaded.set(1.0 if row["loaded"] else 0.0, tags=tags)
            self._bytes.set(float(row["bytes"]), tags=tags)
        for field, gauge in self._totals.items():
            gauge.set(float(snapshot[field] or 0))
        self._last = rows
