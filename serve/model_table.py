"""The replica's model table: the versions it serves, loaded from the registry (artifact
checksum verified), swapped in at once, resolved per request by name and version, and
re-checked against the registry's approval status.

The endpoint's replicas, its variants' replicas and the async consumer all hold one; which
*variant* answers a request is decided before, by ``serve.traffic.choice``. A multi-model
endpoint's replicas hold a ``serve.multi_model.table.ModelSetTable`` instead, which answers
the same methods (``resolve``, ``status``, ``predictor``, ``ready``, ``names``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

from ray_apps._natural import natural
from ray_apps.errors import ApprovalError, NotFoundError, RaymakerError, SpecError
from ray_apps.prediction import Prediction
from serve.config import ModelRef
from serve.served_model import ServedModel

Predictor = Callable[[np.ndarray], Awaitable[tuple[Prediction, int]]]


class VersionStatus(NamedTuple):
    """A served model's version and registry status, for the metadata routes."""

    name: str
    version: int
    status: str


class ModelTable:
    def __init__(self, tracking_uri: str | None = None):
        self.tracking_uri = tracking_uri
        self.models: dict[str, ServedModel] = {}
        self.predictors: dict[str, Predictor] = {}
        # The registry status of each served version as last read (load, then the replica's
        # periodic re-check): a version rejected while serving says so in its metadata.
        self.registry_status: dict[str, str] = {}

    def swap(
        self, models: Mapping[str, ServedModel], predictors: Mapping[str, Predictor] | None = None
    ) -> None:
        """Serve ``models`` from now on, in one assignment each: a request sees the old table or
        the new, never neither. ``predictors``: batching wrappers (default: a direct call)."""
        predictors = predictors or {}
        self.predictors = {n: predictors.get(n) or direct_predictor(m) for n, m in models.items()}
        self.registry_status = {n: m.status for n, m in models.items()}
        self.models = dict(models)

    @property
    def ready(self) -> bool:
        return bool(self.models)

    @property
    def names(self) -> list[str]:
        return sorted(self.models)

    def predictor(self, model: ServedModel) -> Predictor:
        return self.predictors[model.name]

    async def status(self, name: str, version: str | None) -> VersionStatus:
        model = await self.resolve(name, version)
        return VersionStatus(
            model.name, model.version, self.registry_status.get(model.name, model.status)
        )

    async def resolve(self, name: str, version: str | None) -> ServedModel:
        """The served version a request names; 404 / 403 with the reason otherwise."""
        model = self.models.get(name)
        if model is None:
            raise NotFoundError(
                f"model {name!r} is not served here; served models are {sorted(self.models)}"
            )
        if version is None or version == str(model.version):
            return model
        number = natural(version)
        if number is None:
            raise SpecError(f"version {version!r} must be a positive integer (digits 0-9)")
        status = await asyncio.to_thread(self._status, name, number)
        if status not in (None, "Approved"):
            raise ApprovalError(
                f"{name}:{version} is {status}; only Approved versions are served (this "
                f"endpoint serves {name}:{model.version}); approve it and roll it out"
            )
        raise NotFoundError(
            f"{name}:{version} is not served here; this endpoint serves {name}:{model.version}"
        )

    def _status(self, name: str, version: int) -> str | None:
        from ray_apps import registry

        try:
            return registry.get_version(name, version, tracking_uri=self.tracking_uri).status
        except RaymakerError:
            return None


def model_refs(config: Mapping[str, Any]) -> list[ModelRef]:
    """The pinned versions a replica's ``user_config`` names."""
    from ray_apps.spec import parse_spec

    return [parse_spec(ModelRef, r, source="user_config.models") for r in config["models"]]


def load_models(refs: list[ModelRef], tracking_uri: str | None) -> dict[str, ServedModel]:
    """Resolve each pinned version in the registry, verify its artifact, and load it."""
    from ray_apps import registry
    from ray_apps.artifact import load_model

    out = {}
    for ref in refs:
        mv = registry.get_version(ref.name, ref.version, tracking_uri=tracking_uri)
        if not registry.deployable(mv.status, force=ref.force):
            raise ApprovalError(f"{mv.ref} is {mv.status}; only Approved versions are served")
        # The learner's serving hint, e.g. one thread per booster: one request, one core.
        model = load_model(registry.fetch_artifact(mv)).prepare_for_serving()
        out[mv.name] = ServedModel(mv.name, mv.version, mv.status, model)
    return out


def load_shared_variants(
    refs: Mapping[str, Mapping[str, Any]], tracking_uri: str | None
) -> dict[str, dict[str, ServedModel]]:
    """{variant: its loaded models} for the variants that share the endpoint's replicas
    (``user_config["shared_variants"]``: {variant: ModelRef as JSON})."""
    return {v: load_models([ModelRef(**ref)], tracking_uri) for v, ref in refs.items()}


def registry_statuses(models: Mapping[str, ServedModel], tracking_uri: str | None) -> dict:
    from ray_apps import registry

    return {
        n: registry.get_version(n, m.version, tracking_uri=tracking_uri).status
        for n, m in models.items()
    }


def direct_predictor(model: ServedModel) -> Predictor:
    async def predict(x: np.ndarray) -> tuple[Prediction, int]:
        return model.predict(x), 0

    return predict
