"""What deploying an endpoint with variants means: each variant's pinned version, where it
runs, the Serve application and replica options of each variant with replicas of its own, and
the traffic table.

The first variant runs in the endpoint's own application (its ``models``). A variant that shares
the endpoint's replicas (``VariantSpec.shares_replicas``) is loaded into them too: the table
names the endpoint's application for it and requests for it are answered where they arrive.
Each other variant is an application of its own, ``<endpoint>--<variant>``, without an HTTP
route (reached only through the endpoint), with the endpoint's replica settings overridden by
the variant's (``autoscaling``, ``num_cpus``, ``resources``): a candidate on one small replica
beside production on eight does not double every replica's memory.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from serve.config import EndpointSpec, ModelRef, VariantSpec
from serve.replica_settings import ReplicaSettings
from serve.traffic.table import TrafficTable, VariantTarget

APP_SEPARATOR = "--"


def variant_app(endpoint: str, variant: str) -> str:
    return f"{endpoint}{APP_SEPARATOR}{variant}"


@dataclass(frozen=True)
class VariantPlan:
    """A variant with replicas of its own: one Serve application."""

    name: str
    app: str
    model: ModelRef  # version pinned
    settings: ReplicaSettings
    deployment: dict[str, Any]  # Serve's deployment options

    def user_config(self) -> dict[str, Any]:
        return {"models": [self.model.model_dump()]}

    def build_args(self) -> dict[str, Any]:
        return {
            "models": self.user_config()["models"],
            "settings": self.settings,
            "deployment": self.deployment,
        }


@dataclass(frozen=True)
class VariantsPlan:
    table: TrafficTable
    shared: dict[str, ModelRef]  # variants loaded into the endpoint's replicas (not the first)
    own: tuple[VariantPlan, ...]  # variants with replicas of their own


def plan_variants(
    spec: EndpointSpec,
    settings: ReplicaSettings,
    deployment: dict[str, Any],
    resolve,
) -> VariantsPlan | None:
    """``resolve(name, version, force) -> ModelRef`` pins a version (approved-only unless
    forced); ``deployment``: the endpoint's own Serve options, the variants' defaults."""
    if spec.variants is None:
        return None
    pinned = [resolve(v.model_name, v.version, v.force) for v in spec.variants]
    targets = [
        VariantTarget(
            v.name,
            ref.name,
            ref.version,
            spec.name if i == 0 or v.shares_replicas else variant_app(spec.name, v.name),
        )
        for i, (v, ref) in enumerate(zip(spec.variants, pinned, strict=True))
    ]
    table = TrafficTable(
        endpoint=spec.name,
        deploy_id=uuid.uuid4().hex,
        variants=tuple(targets),
        weights={v.name: v.weight for v in spec.variants},
        shadow=spec.shadow.variant if spec.shadow else None,
        shadow_percent=spec.shadow.percent if spec.shadow else 0.0,
    )
    # A variant's replicas answer what the endpoint forwards: no async queue of their own, no
    # traffic table (they never route further).
    own = settings.model_copy(
        update={
            "async_inference": settings.async_inference.model_copy(update={"enabled": False}),
            "traffic_store_url": None,
        }
    )
    rest = list(zip(spec.variants[1:], targets[1:], pinned[1:], strict=True))
    plans = tuple(
        VariantPlan(
            t.name,
            t.app,
            ref,
            own.model_copy(update={"fault": v.fault}),
            _options(v, spec, deployment),
        )
        for v, t, ref in rest
        if not v.shares_replicas
    )
    shared = {v.name: ref for v, _, ref in rest if v.shares_replicas}
    return VariantsPlan(table, shared, plans)


def _options(v: VariantSpec, spec: EndpointSpec, deployment: dict[str, Any]) -> dict[str, Any]:
    actor = dict(deployment["ray_actor_options"])
    if v.num_cpus is not None:
        actor["num_cpus"] = v.num_cpus
    if v.resources is not None:
        actor["resources"] = dict(v.resources)
    autoscaling = (v.autoscaling or spec.autoscaling).to_serve()
    return {**deployment, "autoscaling_config": autoscaling, "ray_actor_options": actor}
