"""Change an endpoint's traffic from Python, as ``raymaker traffic`` and the admin routes do.

    from serve import set_weights, set_shadow, traffic_table
    set_weights("fair-ep", {"prod": 90, "cand": 10})   # replicas take it within a second
    set_shadow("fair-ep", "cand", percent=50)          # None: stop mirroring
    traffic_table("fair-ep").shares()                  # {"prod": 90.0, "cand": 10.0}
    capture_root(open_store().get("fair-ep").spec)     # where its answers are captured

``store_url``: the endpoint's ``traffic_store_url`` when its spec sets one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from serve.traffic.store import open_store
from serve.traffic.table import TrafficTable


def traffic_table(endpoint: str, *, store_url: str | None = None) -> TrafficTable:
    from ray_apps.errors import NotFoundError

    stored = open_store(store_url).get(endpoint)
    if stored is None or stored.table is None:
        raise NotFoundError(f"endpoint {endpoint!r} has no variants; deploy it with variants")
    return stored.table


def set_weights(
    endpoint: str, weights: Mapping[str, float], *, store_url: str | None = None, by: str = "api"
) -> TrafficTable:
    """New weights for some or all variants (share = weight ÷ sum of weights)."""
    return open_store(store_url).change(endpoint, lambda t: t.with_weights(weights), by=by)


def set_shadow(
    endpoint: str,
    variant: str | None,
    percent: float = 100.0,
    *,
    store_url: str | None = None,
    by: str = "api",
) -> TrafficTable:
    """Mirror ``percent`` of requests to ``variant`` (weight 0); None stops mirroring."""
    return open_store(store_url).change(endpoint, lambda t: t.with_shadow(variant, percent), by=by)


def capture_root(endpoint_spec: Mapping[str, Any] | None) -> str:
    """Where an endpoint captures (what its A/B readout and shadow report read): its recorded
    spec's ``capture.path``, else ``$RAYMAKER_HOME/capture`` as its replicas default to."""
    from ray_apps import settings

    given = ((endpoint_spec or {}).get("capture") or {}).get("path")
    return str(given) if given else str(settings.home() / "capture")
