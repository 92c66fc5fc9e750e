"""The replica's model table of a multi-model endpoint: which models it may serve now (the
registry listing, re-read every ``registry_check_interval_s``) and which it holds loaded
(a ``ModelCache``, least recently used evicted within the set's budget).

    table = ModelSetTable(spec, tracking_uri)      # spec: the endpoint's ModelSetSpec
    table.start()                                  # replica start, in a thread: read, prewarm
    model = await table.resolve("store-12", None)  # 404 unless servable; loads on a miss
    table.refresh(read_listing(tracking_uri))      # each registry check: unload what left

It answers ``EndpointCore`` as ``serve.model_table.ModelTable`` does (``resolve``,
``predictor``, ``status``, ``ready``, ``names``), so routes, keys, metrics and capture work
the same for both. A model approved after the deploy is servable from the next registry
check on, without a redeploy; one rejected (or no longer in the set) is answered 404 from the
next check on, and unloaded then. Loading is ``serve.model_table.load_models``: the registry's
version, its artifact checked against the registered checksum, Approved only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ray_apps.errors import NotFoundError, SpecError
from serve.model_table import Predictor, VersionStatus, direct_predictor
from serve.multi_model.cache import ModelCache
from serve.multi_model.resolve import RegistryEntry, read_listing, servable_versions
from serve.multi_model.spec import ModelSetSpec
from serve.served_model import ServedModel


@dataclass(frozen=True)
class Refresh:
    """What one registry read changed: models now servable (new, or a newer version),
    models no longer servable, and loaded models unloaded because of either."""

    added: list[str]
    removed: list[str]
    unloaded: list[str]


def load_version(name: str, version: int, tracking_uri: str | None) -> ServedModel:
    """One version as a single-model endpoint loads it (checksum verified, Approved only)."""
    from serve.config import ModelRef
    from serve.model_table import load_models

    return load_models([ModelRef(name=name, version=version)], tracking_uri)[name]


class ModelSetTable:
    def __init__(
        self,
        spec: ModelSetSpec,
        tracking_uri: str | None,
        *,
        load: Callable[[str, int], ServedModel] | None = None,
        batcher: Callable[[ServedModel], Predictor | None] | None = None,
        **cache_options,
    ):
        """``load(name, version)``: default ``load_version`` from ``tracking_uri``;
        ``batcher``: a model's dynamic-batching predictor (None: direct calls)."""
        self.spec = spec
        self.tracking_uri = tracking_uri
        load = load or (lambda name, version: load_version(name, version, tracking_uri))
        self.cache: ModelCache[ServedModel] = ModelCache.from_spec(spec, load, **cache_options)
        self.servable: dict[str, int] = {}  # {name: version}, swapped whole on each read
        self.read_once = False
        self._batcher = batcher
        self._batched: dict[tuple[str, int], Predictor] = {}

    # -- what ModelTable answers too ----------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Ready once the registry was read: a set may serve before any model is loaded."""
        return self.read_once

    @property
    def names(self) -> list[str]:
        return sorted(self.servable)

    @property
    def models(self) -> dict[str, ServedModel]:
        """Pinned models: none (a set loads on demand; ``cache.loaded()`` says what is held)."""
        return {}

    @property
    def registry_status(self) -> dict[str, str]:
        return dict.fromkeys(self.servable, "Approved")

    async def resolve(self, name: str, version: str | None) -> ServedModel:
        """The servable version a request names, loaded; 404 naming why otherwise, 507
        (``ModelTooLarge``) for a model above the budget."""
        served = self._target(name, version)
        return await self.cache.get(name, served)

    async def status(self, name: str, version: str | None) -> VersionStatus:
        """A servable model's version and status, from the registry read: nothing is loaded."""
        return VersionStatus(name, self._target(name, version), "Approved")

    def predictor(self, model: ServedModel) -> Predictor:
        if self._batcher is None:
            return direct_predictor(model)
        key = (model.name, model.version)
        batched = self._batched.get(key)
        if batched is None:
            loaded = set(self.cache.loaded().items())
            # a batcher holds its model: keep only those of loaded models
            self._batched = {k: p for k, p in self._batched.items() if k in loaded}
            batched = self._batched[key] = self._batcher(model) or direct_predictor(model)
        return batched

    # -- the registry -------------------------------------------------------------------------
    def start(self, listing: Iterable[RegistryEntry] | None = None) -> dict[str, BaseException]:
        """Read the registry (or ``listing``), then load ``spec.prewarm``; blocks (call it in a
        thread). Returns {name: error} of prewarm models that did not load; they load on
        their first request instead."""
        self.refresh(read_listing(self.tracking_uri) if listing is None else listing)
        errors: dict[str, BaseException] = {}
        wanted = {}
        for name in self.spec.prewarm:
            if name in self.servable:
                wanted[name] = self.servable[name]
            else:
                errors[name] = NotFoundError(f"prewarm model {name!r} has no Approved version")
        return {**errors, **self.cache.prewarm(wanted)}

    def refresh(self, listing: Iterable[RegistryEntry]) -> Refresh:
        """Serve what ``listing`` makes servable from now on; unload what it no longer does."""
        servable = servable_versions(self.spec, listing)
        before = self.servable
        added = [n for n, v in servable.items() if before.get(n) != v]
        removed = sorted(set(before) - set(servable))
        self.servable = servable  # one assignment: a request sees the old set or the new
        self.read_once = True
        return Refresh(added, removed, sorted(self.cache.retain(servable)))

    def close(self) -> None:
        self.cache.close()

    def _target(self, name: str, version: str | None) -> int:
        served = self.servable.get(name)
        if served is None:
            raise NotFoundError(self._not_servable(name))
        if version is None or version == str(served):
            return served
        if not version.isdigit():
            raise SpecError(f"version {version!r} must be a positive integer")
        raise NotFoundError(
            f"{name}:{version} is not served here; this endpoint serves {name}:{served}, its "
            f"newest Approved version (drop /versions/{version} from the path to call it)"
        )

    def _not_servable(self, name: str) -> str:
        spec = self.spec
        if spec.prefix is not None and not name.startswith(spec.prefix):
            return (
                f"model {name!r} is not served here: this endpoint serves the models whose "
                f"names start with {spec.prefix!r}"
            )
        return (
            f"model {name!r} is not served here: it is not an Approved model of this "
            f"endpoint's set ({spec.selector}) as of the replica's last registry check; "
            f"approve a version (raymaker registry approve {name}:<version>) and it is "
            "served from the next check on (registry_check_interval_s), no redeploy needed"
        )
