"""Multi-model endpoints: many registered models on shared replicas, loaded on first call and
evicted least-recently-used within a per-replica budget (issue 20).

    from serve.multi_model import ModelCache, parse_model_set, read_listing, servable_versions

    spec = parse_model_set({"prefix": "store-", "max_models": 20})
    servable = servable_versions(spec, read_listing(tracking_uri))   # {name: version}
    cache = ModelCache.from_spec(spec, load)                         # load(name, version)
    model = await cache.get(name, servable[name])

``spec`` (the endpoint's model set and budget), ``resolve`` (which versions are servable now,
pure; and the registry read), ``cache`` (loading, single-flight, LRU eviction, counters),
``footprint`` (a loaded model's bytes), ``errors`` (``ModelTooLarge``, 507), ``scopes`` (API
keys limited to some models, pure), ``lru_sim`` (the ideal LRU a benchmark compares with).
The replica's wiring, imported by path (it builds on ``serve.model_table``): ``table``
(``ModelSetTable``: the set's model table for ``EndpointCore``) and ``cache_metrics``
(``CacheMetrics``: the cache's Prometheus metrics per model and version).
"""

from serve.multi_model.cache import ModelCache
from serve.multi_model.errors import ModelTooLarge
from serve.multi_model.footprint import model_bytes
from serve.multi_model.lru_sim import LruResult, simulate_lru, zipf_trace
from serve.multi_model.resolve import RegistryEntry, read_listing, servable_versions
from serve.multi_model.scopes import Scope, check_scope, key_allows, parse_scope
from serve.multi_model.spec import ModelSetSpec, parse_model_set

__all__ = [
    "LruResult",
    "ModelCache",
    "ModelSetSpec",
    "ModelTooLarge",
    "RegistryEntry",
    "Scope",
    "check_scope",
    "key_allows",
    "model_bytes",
    "parse_model_set",
    "parse_scope",
    "read_listing",
    "servable_versions",
    "simulate_lru",
    "zipf_trace",
]
