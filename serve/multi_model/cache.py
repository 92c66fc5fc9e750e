"""A replica's loaded models: loaded on first request, evicted least-recently-used in a budget.

    cache = ModelCache(load, max_model_bytes=2_000_000_000, max_models=20)
    model = await cache.get("store-12", 3)        # from a coroutine (the replica's request)
    model = cache.get_blocking("store-12", 3)     # or from any thread
    cache.retain(servable_versions(spec, read_listing(uri)))   # each registry check
    cache.snapshot()                              # counters per model and version

``load(name, version)`` returns the loaded model (``ServedModel`` in a replica); it runs in the
cache's thread pool, so different models load at the same time (Ray Serve's multiplexing
loads them one at a time per replica, ray#65346) while concurrent first requests for one model
wait on one load (single-flight). A failed load is not cached: its error reaches every request
that waited on it, and the next request loads again.

The budget counts what each loaded model measures (``footprint.model_bytes``), known only once
it is loaded: a new model is added, then the least recently used others are evicted until the
loaded models fit ``max_model_bytes`` and ``max_models``. So memory stays within the budget
plus the models loading at that moment (one, unless several load at once: at most
``load_threads``). A model that alone exceeds ``max_model_bytes`` is refused with
``ModelTooLarge`` and remembered, so asking again does not load it again. An evicted model
that a request still holds keeps answering that request; it is freed when the request ends.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Generic, TypeVar

from ray_apps.errors import SpecError
from serve.multi_model.errors import ModelTooLarge
from serve.multi_model.footprint import model_bytes
from serve.multi_model.spec import ModelSetSpec

M = TypeVar("M")
Key = tuple[str, int]


@dataclass
class _Counters:
    hits: int = 0  # requests that found the version loaded
    misses: int = 0  # requests that did not (they loaded it or waited on its load)
    loads: int = 0  # loads that succeeded
    load_errors: int = 0  # loads that raised (not cached; the next request retries)
    load_seconds: float = 0.0  # time spent in successful loads
    refused: int = 0  # requests refused: the model is larger than max_model_bytes
    evictions: int = 0  # removed to fit the budget
    unloads: int = 0  # removed because another version or none is servable now (retain)


@dataclass
class _Entry(Generic[M]):
    version: int
    model: M
    size: int


class ModelCache(Generic[M]):
    """Loaded models by name (one version each), least recently used first. Thread-safe."""

    def __init__(
        self,
        load: Callable[[str, int], M],
        *,
        max_model_bytes: int | None = None,
        max_models: int | None = None,
        load_threads: int = 4,
        footprint: Callable[[Any], int] = model_bytes,
        clock: Callable[[], float] = time.perf_counter,
    ):
        if max_model_bytes is None and max_models is None:
            raise SpecError(
                "a model cache needs a budget: pass max_model_bytes, max_models or both"
            )
        for setting, value in (
            ("max_model_bytes", max_model_bytes),
            ("max_models", max_models),
            ("load_threads", load_threads),
        ):
            if value is not None and value < 1:
                raise SpecError(f"{setting} is {value}; it must be at least 1")
        self.max_model_bytes = max_model_bytes
        self.max_models = max_models
        self._load = load
        self._footprint = footprint
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry[M]] = OrderedDict()  # LRU first
        self._bytes = 0  # sum of the loaded entries' sizes
        self._loading: dict[Key, Future[M]] = {}
        self._too_large: dict[Key, int] = {}
        self._counters: dict[Key, _Counters] = {}
        self._pool = ThreadPoolExecutor(load_threads, thread_name_prefix="model-load")

    @classmethod
    def from_spec(
        cls, spec: ModelSetSpec, load: Callable[[str, int], M], **options: Any
    ) -> ModelCache[M]:
        """A cache with the budget of an endpoint's ``models:`` set."""
        return cls(
            load, max_model_bytes=spec.max_model_bytes, max_models=spec.max_models, **options
        )

    async def get(self, name: str, version: int) -> M:
        """The loaded model, loading it in the pool on a miss. A cancelled caller does not
        cancel the load that other callers wait on."""
        model, loading = self._claim(name, version, request=True)
        if loading is None:
            return model
        return await asyncio.shield(asyncio.wrap_future(loading))

    def get_blocking(self, name: str, version: int) -> M:
        """``get`` for threads: waits for the load (never call it on an event loop)."""
        model, loading = self._claim(name, version, request=True)
        return model if loading is None else loading.result()

    def prewarm(self, versions: Mapping[str, int]) -> dict[str, BaseException]:
        """Load these models (at the same time, up to ``load_threads``) before any request;
        returns {name: error} for those that failed, which load again on their first request."""
        waiting: dict[str, Future[M]] = {}
        errors: dict[str, BaseException] = {}
        for name, version in versions.items():
            try:
                _, loading = self._claim(name, version, request=False)
            except ModelTooLarge as err:
                errors[name] = err
                continue
            if loading is not None:
                waiting[name] = loading
        for name, loading in waiting.items():
            error = loading.exception()
            if error is not None:
                errors[name] = error
        return errors

    def retain(self, servable: Mapping[str, int]) -> list[str]:
        """Unload every model whose loaded version is not the one ``servable`` names (a model
        rejected, or a newer version approved); returns their names. A load already running
        completes; the next ``retain`` unloads it if it is still not servable."""
        with self._lock:
            gone = [n for n, e in self._entries.items() if servable.get(n) != e.version]
            for name in gone:
                self._count(name, self._remove(name).version).unloads += 1
        return gone

    def loaded(self) -> dict[str, int]:
        """{name: version} of the loaded models, least recently used first."""
        with self._lock:
            return {n: e.version for n, e in self._entries.items()}

    def snapshot(self) -> dict[str, Any]:
        """Plain numbers for metrics: the budget, what is loaded, and counters per model and
        version (``models``: one row each) and in total."""
        with self._lock:
            rows = []
            for (name, version), counters in sorted(self._counters.items()):
                entry = self._entries.get(name)
                loaded = entry is not None and entry.version == version
                rows.append(
                    {
                        "model": name,
                        "version": version,
                        "loaded": loaded,
                        "bytes": entry.size if loaded else 0,
                        **asdict(counters),
                    }
                )
            totals = {k: sum(r[k] for r in rows) for k in _Counters.__dataclass_fields__}
            return {
                "max_model_bytes": self.max_model_bytes,
                "max_models": self.max_models,
                "loaded_models": len(self._entries),
                "loaded_bytes": self._bytes,
                "loading": len(self._loading),
                "totals": totals,
                "models": rows,
            }

    def close(self) -> None:
        """Stop the load threads; loads not yet started are cancelled."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> ModelCache[M]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _claim(self, name: str, version: int, *, request: bool) -> tuple[Any, Future[M] | None]:
        # (model, None) on a hit; else (None, the load to wait on), started if none runs.
        key = (name, version)
        with self._lock:
            counters = self._count(name, version)
            entry = self._entries.get(name)
            if entry is not None and entry.version == version:
                self._entries.move_to_end(name)
                if request:
                    counters.hits += 1
                return entry.model, None
            if key in self._too_large:
                if request:
                    counters.refused += 1
                raise self._refusal(key, self._too_large[key])
            if request:
                counters.misses += 1
            loading = self._loading.get(key)
            if loading is None:
                loading = self._loading[key] = self._pool.submit(self._load_one, key)
            return None, loading

    def _load_one(self, key: Key) -> M:
        start = self._clock()
        try:
            model = self._load(*key)
            size = int(self._footprint(model))
        except BaseException:
            with self._lock:
                del self._loading[key]
                self._count(*key).load_errors += 1
            raise
        seconds = self._clock() - start
        with self._lock:
            del self._loading[key]
            counters = self._count(*key)
            if self.max_model_bytes is not None and size > self.max_model_bytes:
                self._too_large[key] = size
                counters.refused += 1
                raise self._refusal(key, size)
            counters.loads += 1
            counters.load_seconds += seconds
            self._insert(key, _Entry(key[1], model, size))
        return model

    def _insert(self, key: Key, entry: _Entry[M]) -> None:
        name = key[0]
        if name in self._entries:  # another version of it was loaded: this one replaces it
            self._count(name, self._remove(name).version).unloads += 1
        self._entries[name] = entry
        self._bytes += entry.size
        while self._over_budget():
            victim = next(iter(self._entries))
            if victim == name:  # the newest is never its own victim; it fits alone
                break
            self._count(victim, self._remove(victim).version).evictions += 1

    def _remove(self, name: str) -> _Entry[M]:
        entry = self._entries.pop(name)
        self._bytes -= entry.size
        return entry

    def _over_budget(self) -> bool:
        if self.max_models is not None and len(self._entries) > self.max_models:
            return True
        return self.max_model_bytes is not None and self._bytes > self.max_model_bytes

    def _count(self, name: str, version: int) -> _Counters:
        return self._counters.setdefault((name, version), _Counters())

    def _refusal(self, key: Key, size: int) -> ModelTooLarge:
        # Only a byte budget refuses a model, so max_model_bytes is set here.
        return ModelTooLarge(key[0], key[1], size, self.max_model_bytes or 0, "max_model_bytes")
