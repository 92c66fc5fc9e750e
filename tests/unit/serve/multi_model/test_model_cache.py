"""ModelCache with real threads, a real event loop and models measured by their real footprint."""

import asyncio
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from _serve_helpers import wait_for

from ray_apps.errors import SpecError
from serve.multi_model import ModelCache, ModelTooLarge, parse_model_set


class Loader:
    """Loads "models" (float64 arrays of ``sizes[name]`` elements, 8 bytes each) and records
    every call; ``gate``, when given, holds each load until it is set."""

    def __init__(self, sizes=None, gate=None, delay_s=0.0, fail=()):
        self.sizes = sizes or {}
        self.gate = gate
        self.delay_s = delay_s
        self.fail = set(fail)  # names whose next load raises (once each)
        self.calls = []
        self._lock = threading.Lock()

    def __call__(self, name, version):
        with self._lock:
            self.calls.append((name, version))
        if self.gate is not None:
            assert self.gate.wait(10), "the test never opened the gate"
        if self.delay_s:
            time.sleep(self.delay_s)  # the load's own work (not a wait for something else)
        with self._lock:
            if name in self.fail:
                self.fail.discard(name)
                raise OSError(f"artifact of {name}:{version} unreadable")
        return np.full(self.sizes.get(name, 10), float(version))


def totals(cache):
    return cache.snapshot()["totals"]


def row(cache, name, version):
    (found,) = [
        r for r in cache.snapshot()["models"] if (r["model"], r["version"]) == (name, version)
    ]
    return found


async def until(condition, what, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.005)


def test_concurrent_first_requests_wait_on_one_load_asyncio():
    gate = threading.Event()
    loader = Loader(gate=gate)

    async def main(cache):
        tasks = [asyncio.create_task(cache.get("store-1", 3)) for _ in range(20)]
        await until(lambda: totals(cache)["misses"] == 20, "20 requests to miss")
        gate.set()
        return await asyncio.gather(*tasks)

    with ModelCache(loader, max_models=5) as cache:
        models = asyncio.run(main(cache))
        assert loader.calls == [("store-1", 3)]
        assert all(m is models[0] for m in models)
        assert (totals(cache)["misses"], totals(cache)["loads"]) == (20, 1)
        assert asyncio.run(cache.get("store-1", 3)) is models[0]
        assert totals(cache)["hits"] == 1


def test_concurrent_first_requests_wait_on_one_load_threads():
    gate = threading.Event()
    loader = Loader(gate=gate)
    with ModelCache(loader, max_models=5) as cache, ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(cache.get_blocking, "store-1", 1) for _ in range(8)]
        wait_for(lambda: totals(cache)["misses"] == 8, 10, "8 threads to miss")
        gate.set()
        models = [f.result(10) for f in futures]
        assert loader.calls == [("store-1", 1)] and all(m is models[0] for m in models)


def test_different_models_load_at_the_same_time():
    # Two loads of 0.5 s each: one after the other takes >= 1 s, together ~0.5 s.
    loader = Loader(delay_s=0.5)

    async def main(cache):
        start = time.perf_counter()
        await asyncio.gather(cache.get("a", 1), cache.get("b", 1))
        return time.perf_counter() - start

    with ModelCache(loader, max_models=5) as cache:
        assert asyncio.run(main(cache)) < 0.9
    with ModelCache(loader, max_models=5) as cache, ThreadPoolExecutor(2) as pool:
        start = time.perf_counter()
        list(pool.map(lambda n: cache.get_blocking(n, 1), ["c", "d"]))
        assert time.perf_counter() - start < 0.9


def test_least_recently_used_is_evicted_by_count():
    loader = Loader()
    with ModelCache(loader, max_models=2) as cache:
        for name in ("a", "b", "a", "c"):  # a used after b: b is the least recently used
            cache.get_blocking(name, 1)
        assert cache.loaded() == {"a": 1, "c": 1}
        assert row(cache, "b", 1)["evictions"] == 1 and totals(cache)["evictions"] == 1
        cache.get_blocking("b", 1)  # loads again, evicting a
        assert list(cache.loaded()) == ["c", "b"]
        assert row(cache, "b", 1)["loads"] == 2 and row(cache, "b", 1)["misses"] == 2


def test_eviction_by_measured_bytes():
    # Each model is an array of n float64: 8n bytes, as footprint.model_bytes measures it.
    loader = Loader(sizes={"a": 500, "b": 500, "c": 500, "small": 10})
    with ModelCache(loader, max_model_bytes=10_000) as cache:
        cache.get_blocking("a", 1)
        cache.get_blocking("b", 1)
        assert cache.snapshot()["loaded_bytes"] == 8000
        cache.get_blocking("c", 1)  # 12,000 > 10,000: a goes
        assert cache.loaded() == {"b": 1, "c": 1}
        assert cache.snapshot()["loaded_bytes"] == 8000 and row(cache, "c", 1)["bytes"] == 4000
        cache.get_blocking("small", 1)  # 8,080 fits: nothing goes
        assert len(cache.loaded()) == 3 and totals(cache)["evictions"] == 1


def test_both_budgets_apply():
    loader = Loader(sizes={"a": 100, "b": 100, "c": 1050})
    with ModelCache(loader, max_model_bytes=9000, max_models=2) as cache:
        for name in ("a", "b", "c"):
            cache.get_blocking(name, 1)
        assert cache.loaded() == {"c": 1}  # count evicted a, bytes then b (800 + 8400 > 9000)


def test_a_model_larger_than_the_budget_is_refused_and_not_loaded_again():
    loader = Loader(sizes={"huge": 2000, "a": 10})
    with ModelCache(loader, max_model_bytes=10_000) as cache:
        cache.get_blocking("a", 1)
        with pytest.raises(ModelTooLarge) as err:
            asyncio.run(cache.get("huge", 4))
        e = err.value
        assert (e.name, e.version, e.size, e.budget, e.setting) == (
            "huge",
            4,
            16_000,
            10_000,
            "max_model_bytes",
        )
        assert e.http_status == 507 and "models.max_model_bytes" in str(e)
        with pytest.raises(ModelTooLarge):
            cache.get_blocking("huge", 4)
        assert loader.calls.count(("huge", 4)) == 1  # remembered, not loaded twice
        assert cache.loaded() == {"a": 1}  # nothing evicted for it
        assert row(cache, "huge", 4)["refused"] == 2 and row(cache, "huge", 4)["loads"] == 0


def test_a_failed_load_reaches_every_waiter_and_is_retried():
    gate = threading.Event()
    loader = Loader(gate=gate, fail={"a"})

    async def main(cache):
        tasks = [asyncio.create_task(cache.get("a", 1)) for _ in range(5)]
        await until(lambda: totals(cache)["misses"] == 5, "5 requests to miss")
        gate.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    with ModelCache(loader, max_models=5) as cache:
        errors = asyncio.run(main(cache))
        assert all(isinstance(e, OSError) and "a:1 unreadable" in str(e) for e in errors)
        assert cache.loaded() == {} and row(cache, "a", 1)["load_errors"] == 1
        assert cache.get_blocking("a", 1)[0] == 1.0  # the next request loads again
        assert loader.calls == [("a", 1), ("a", 1)] and row(cache, "a", 1)["loads"] == 1


def test_a_cancelled_request_does_not_cancel_the_load_others_wait_on():
    # One load thread, busy with "blocker": a's load waits in the queue, where a cancelled
    # future could still be cancelled for everyone.
    gate = threading.Event()
    loader = Loader(gate=gate)

    async def main(cache):
        blocker = asyncio.create_task(cache.get("blocker", 1))
        first = asyncio.create_task(cache.get("a", 1))
        second = asyncio.create_task(cache.get("a", 1))
        await until(lambda: totals(cache)["misses"] == 3, "three requests to miss")
        first.cancel()
        await asyncio.sleep(0)
        gate.set()
        return await second, first.cancelled(), await blocker

    with ModelCache(loader, max_models=5, load_threads=1) as cache:
        model, cancelled, _ = asyncio.run(main(cache))
        assert cancelled and model[0] == 1.0 and cache.loaded() == {"blocker": 1, "a": 1}


def test_a_new_version_replaces_the_old_and_retain_unloads_what_is_not_servable():
    loader = Loader()
    with ModelCache(loader, max_models=5) as cache:
        cache.get_blocking("a", 1)
        cache.get_blocking("b", 1)
        assert cache.get_blocking("a", 2)[0] == 2.0
        assert cache.loaded() == {"b": 1, "a": 2} and row(cache, "a", 1)["unloads"] == 1
        # the registry check: b rejected, a's v3 approved
        assert cache.retain({"a": 3}) == ["b", "a"]
        assert cache.loaded() == {} and totals(cache)["unloads"] == 3
        assert totals(cache)["evictions"] == 0


def test_prewarm_loads_together_and_reports_failures():
    loader = Loader(delay_s=0.3, fail={"broken"}, sizes={"huge": 10_000})
    with ModelCache(loader, max_model_bytes=50_000, max_models=5) as cache:
        start = time.perf_counter()
        errors = cache.prewarm({"a": 1, "b": 2, "broken": 1, "huge": 1})
        assert time.perf_counter() - start < 0.9  # four 0.3 s loads in four threads
        assert sorted(errors) == ["broken", "huge"]
        assert isinstance(errors["huge"], ModelTooLarge) and isinstance(errors["broken"], OSError)
        assert cache.loaded() == {"a": 1, "b": 2}
        assert (totals(cache)["misses"], totals(cache)["loads"]) == (0, 2)  # not requests
        cache.get_blocking("a", 1)
        assert row(cache, "a", 1)["hits"] == 1
        assert cache.prewarm({"a": 1}) == {}  # already loaded: nothing to do


def test_load_seconds_per_model_from_the_clock():
    ticks = iter(range(100))  # each read of the clock advances one second
    with ModelCache(Loader(), max_models=5, clock=lambda: next(ticks)) as cache:
        cache.get_blocking("a", 1)
        cache.get_blocking("b", 1)
        cache.get_blocking("a", 1)
        snap = cache.snapshot()
        assert [(r["model"], r["load_seconds"], r["hits"]) for r in snap["models"]] == [
            ("a", 1.0, 1),
            ("b", 1.0, 0),
        ]
        assert snap["totals"]["load_seconds"] == 2.0
        assert (snap["max_models"], snap["max_model_bytes"], snap["loading"]) == (5, None, 0)


def test_budget_stays_within_its_limit_under_concurrent_traffic():
    rng = random.Random(0)
    sizes = {f"m{i}": rng.randint(50, 400) for i in range(30)}  # 400 to 3,200 bytes each
    budget = 10_000
    loader = Loader(sizes=sizes)
    seen = []

    def traffic(seed):
        r = random.Random(seed)
        for _ in range(200):
            name = f"m{min(int(r.paretovariate(1.1)) - 1, 29)}"
            cache.get_blocking(name, 1)
            snap = cache.snapshot()
            seen.append((snap["loaded_bytes"], snap["loaded_models"]))

    with ModelCache(loader, max_model_bytes=budget, max_models=6, load_threads=4) as cache:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(traffic, range(8)))
        assert max(b for b, _ in seen) <= budget and max(n for _, n in seen) <= 6
        t = totals(cache)
        assert t["hits"] + t["misses"] == 1600 and t["evictions"] > 0
        assert t["loads"] == len(loader.calls)  # no load was lost or doubled


def test_a_budget_is_required():
    with pytest.raises(SpecError, match="needs a budget"):
        ModelCache(Loader())
    with pytest.raises(SpecError, match="max_models is 0"):
        ModelCache(Loader(), max_models=0)
    spec = parse_model_set({"prefix": "store-", "max_models": 3, "max_model_bytes": 99})
    with ModelCache.from_spec(spec, Loader(), load_threads=2) as cache:
        assert (cache.max_models, cache.max_model_bytes) == (3, 99)
