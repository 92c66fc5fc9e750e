"""The traffic table of an endpoint: its variants, their weights and the shadow.

One value, JSON both ways, held by the traffic store and carried in the ingress's
``user_config`` (what the last deploy said). ``deploy_id`` names the deploy it came from: a
replica takes the store's copy only while it belongs to the deploy the replica runs, so a new
deploy resets weights to its spec and a stale weight change cannot outlive it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ray_apps.errors import SpecError


@dataclass(frozen=True)
class VariantTarget:
    """One variant: which version answers it, and which Serve application hosts it."""

    name: str
    model: str
    version: int
    app: str  # the endpoint's own application for the first variant


@dataclass(frozen=True)
class TrafficTable:
    endpoint: str
    deploy_id: str
    variants: tuple[VariantTarget, ...]  # the first runs in the endpoint's own replicas
    weights: Mapping[str, float] = field(default_factory=dict)
    shadow: str | None = None  # the variant requests are mirrored to
    shadow_percent: float = 0.0
    generation: int = 0  # bumped by every change after the deploy

    @property
    def local(self) -> str:
        return self.variants[0].name

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.variants]

    def target(self, name: str) -> VariantTarget:
        for v in self.variants:
            if v.name == name:
                return v
        raise SpecError(f"no variant {name!r} on endpoint {self.endpoint}; variants: {self.names}")

    def shares(self) -> dict[str, float]:
        """Each variant's share of traffic, in percent (weight ÷ sum of weights)."""
        total = sum(self.weights.get(n, 0.0) for n in self.names)
        return {n: 100.0 * self.weights.get(n, 0.0) / total for n in self.names}

    def with_weights(self, weights: Mapping[str, float]) -> TrafficTable:
        """New weights for some or all variants (the rest keep theirs); checked here."""
        unknown = sorted(set(weights) - set(self.names))
        if unknown:
            raise SpecError(
                f"weights name {unknown}, not variants of endpoint {self.endpoint}; its "
                f"variants are {self.names}"
            )
        for name, w in weights.items():
            if not isinstance(w, int | float) or isinstance(w, bool) or not math.isfinite(w):
                raise SpecError(f"weight of {name!r} is {w!r}; give a finite number ≥ 0")
            if w < 0:
                raise SpecError(f"weight of {name!r} is {w:g}; weights are ≥ 0")
        new = {**self.weights, **{k: float(v) for k, v in weights.items()}}
        if self.shadow is not None and new.get(self.shadow, 0) > 0:
            raise SpecError(
                f"variant {self.shadow!r} is the shadow; a shadow never answers callers: keep "
                "its weight 0 (or stop shadowing it first)"
            )
        if sum(new.values()) <= 0:
            raise SpecError("the weights are all 0; give at least one variant a positive weight")
        return replace(self, weights=new, generation=self.generation + 1)

    def with_shadow(self, variant: str | None, percent: float = 100.0) -> TrafficTable:
        """Mirror ``percent`` of requests to ``variant`` (None: stop shadowing)."""
        if variant is None:
            return replace(self, shadow=None, shadow_percent=0.0, generation=self.generation + 1)
        self.target(variant)
        if variant == self.local:
            raise SpecError(f"{variant!r} answers callers; shadow a variant listed after it")
        if self.weights.get(variant, 0) > 0:
            raise SpecError(f"{variant!r} has weight {self.weights[variant]:g}; set it to 0 first")
        if not 0 < percent <= 100:
            raise SpecError(f"shadow percent {percent:g} must be in (0, 100]")
        return replace(
            self, shadow=variant, shadow_percent=float(percent), generation=self.generation + 1
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "deploy_id": self.deploy_id,
            "variants": [v.__dict__ for v in self.variants],
            "weights": dict(self.weights),
            "shadow": self.shadow,
            "shadow_percent": self.shadow_percent,
            "generation": self.generation,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrafficTable:
        return cls(
            endpoint=data["endpoint"],
            deploy_id=data["deploy_id"],
            variants=tuple(VariantTarget(**v) for v in data["variants"]),
            weights={k: float(v) for k, v in data["weights"].items()},
            shadow=data.get("shadow"),
            shadow_percent=float(data.get("shadow_percent") or 0.0),
            generation=int(data.get("generation") or 0),
        )


def parse_weights(items: list[str]) -> dict[str, float]:
    """``["prod=90", "cand=10"]`` (the CLI's form) → ``{"prod": 90.0, "cand": 10.0}``."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if name.strip() in out:
            raise SpecError(f"{name.strip()!r} is given twice; give each variant one weight")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise SpecError(f"{item!r} is not VARIANT=WEIGHT; write e.g. prod=90 cand=10")
    return out
